//! treecast-sim: plays a whole broadcast per policy with the real machines and compares what
//! viewers experience. `treecast-sim --help` lists the options; `src/sim/README.md` the model.

use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use treecast::core::coordinator::Policy;
use treecast::sim::{output, parse_duration_ms, policy_name, Report, Sim, SimConfig};

const HELP: &str = "\
treecast-sim: a whole broadcast as a discrete-event simulation of the real coordinator and viewer machines

USAGE: treecast-sim [OPTIONS]

  --viewers N            steady concurrent audience (default 100000)
  --duration T           program length: 90s, 30m, 2h (default 2h)
  --policy LIST          treecast,seed (default both)
  --seed S               random seed (default 1)
  --json PATH            write the reports as JSON
  --svg DIR              write charts (stall CDF, depth histogram, latency CDF)
  --reload-at T          the broadcaster's page reloads at T (default: never)
  --phones SHARE         share of watch-only viewers (default 0.4)
  --graceful SHARE       share of departures that close cleanly (default 0.5)
  --session-median T     median session length (default 10m)
  --session-sigma S      log-normal shape of session lengths (default 1.5)
  --burst SHARE          extra arrivals in the first 3 min, share of --viewers (default 1)
  --coordinator-tick T   the coordinator's clock (default 250ms, as the broadcaster's page)
  --moves-per-tick N     depth-restoring moves per coordinator tick (default 2, as the page)
  --threads N            policies run in parallel (default 2)
  --no-progress          no progress bar (it is drawn only on a terminal anyway)
";

struct Options {
    base: SimConfig,
    policies: Vec<Policy>,
    json: Option<String>,
    svg: Option<String>,
    threads: usize,
    progress: bool,
}

fn parse(args: &[String]) -> Result<Options, String> {
    let mut base = SimConfig::new(Policy::Treecast, 100_000, 7_200_000, 1);
    let mut o = Options { base: base.clone(), policies: vec![Policy::Treecast, Policy::Seed], json: None, svg: None, threads: 2, progress: true };
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        if flag == "--help" || flag == "-h" {
            return Err(String::new());
        }
        if flag == "--no-progress" {
            o.progress = false;
            i += 1;
            continue;
        }
        let value = args.get(i + 1).ok_or(format!("{flag} needs a value"))?.clone();
        let number = |v: &str| v.parse::<f64>().map_err(|_| format!("{flag}: not a number: {v}"));
        let share = |v: &str| number(v).and_then(|x| if (0.0..=1.0).contains(&x) { Ok(x) } else { Err(format!("{flag}: not in 0..1")) });
        match flag {
            "--viewers" => base.viewers = value.parse().map_err(|_| format!("--viewers: not a count: {value}"))?,
            "--duration" => base.duration_ms = parse_duration_ms(&value)?,
            "--seed" => base.seed = value.parse().map_err(|_| format!("--seed: not an integer: {value}"))?,
            "--policy" => {
                o.policies = value
                    .split(',')
                    .map(|p| match p.trim() {
                        "treecast" => Ok(Policy::Treecast),
                        "seed" => Ok(Policy::Seed),
                        other => Err(format!("unknown policy {other:?} (treecast, seed)")),
                    })
                    .collect::<Result<_, _>>()?;
            }
            "--json" => o.json = Some(value),
            "--svg" => o.svg = Some(value),
            "--reload-at" => base.reload_at_ms = Some(parse_duration_ms(&value)?),
            "--phones" => base.phone_share = share(&value)?,
            "--graceful" => base.graceful_share = share(&value)?,
            "--session-median" => base.session_median_ms = parse_duration_ms(&value)? as f64,
            "--session-sigma" => base.session_sigma = number(&value)?,
            "--burst" => base.burst_share = number(&value)?.max(0.0),
            "--coordinator-tick" => base.coordinator_tick_ms = parse_duration_ms(&value)?.max(1),
            "--moves-per-tick" => base.moves_per_tick = value.parse().map_err(|_| format!("--moves-per-tick: not a count: {value}"))?,
            "--threads" => o.threads = value.parse::<usize>().map_err(|_| format!("--threads: {value}"))?.max(1),
            _ => return Err(format!("unknown option {flag}")),
        }
        i += 2;
    }
    if base.duration_ms == 0 {
        return Err("--duration must be positive".into());
    }
    o.base = base;
    Ok(o)
}

/// Draws one bar per policy on stderr until `done`.
fn draw_progress(names: &[&str], clocks: &[Arc<AtomicU64>], total_ms: u64, done: &AtomicBool) {
    let started = Instant::now();
    let mut err = std::io::stderr();
    loop {
        let finished = done.load(Ordering::Relaxed);
        let mut line = String::from("\r");
        for (name, clock) in names.iter().zip(clocks) {
            let share = clock.load(Ordering::Relaxed) as f64 / total_ms as f64;
            let filled = (share * 20.0).round() as usize;
            line.push_str(&format!("{name} [{}{}] {:3.0}%  ", "#".repeat(filled.min(20)), " ".repeat(20 - filled.min(20)), share * 100.0));
        }
        line.push_str(&format!("{:.0} s", started.elapsed().as_secs_f64()));
        let _ = write!(err, "{line}");
        let _ = err.flush();
        if finished {
            let _ = writeln!(err);
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let o = match parse(&args) {
        Ok(o) => o,
        Err(e) if e.is_empty() => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("treecast-sim: {e}\n\n{HELP}");
            return ExitCode::from(2);
        }
    };
    let started = Instant::now();
    let configs: Vec<SimConfig> = o.policies.iter().map(|&p| SimConfig { policy: p, ..o.base.clone() }).collect();
    let clocks: Vec<Arc<AtomicU64>> = configs.iter().map(|_| Arc::new(AtomicU64::new(0))).collect();
    let names: Vec<&str> = o.policies.iter().map(|&p| policy_name(p)).collect();
    let done = AtomicBool::new(false);
    let show = o.progress && std::io::stderr().is_terminal();
    let mut reports: Vec<Option<Report>> = vec![None; configs.len()];
    std::thread::scope(|scope| {
        let bar = show.then(|| scope.spawn(|| draw_progress(&names, &clocks, o.base.duration_ms, &done)));
        // Run the policies in batches of `threads`; each run is deterministic on its own.
        for batch in (0..configs.len()).collect::<Vec<_>>().chunks(o.threads) {
            let handles: Vec<_> = batch
                .iter()
                .map(|&i| {
                    let sim = Sim::new(configs[i].clone()).with_progress(clocks[i].clone());
                    (i, scope.spawn(move || sim.run()))
                })
                .collect();
            for (i, h) in handles {
                reports[i] = Some(h.join().expect("simulation thread"));
            }
        }
        done.store(true, Ordering::Relaxed);
        if let Some(bar) = bar {
            let _ = bar.join();
        }
    });
    let reports: Vec<Report> = reports.into_iter().map(|r| r.expect("ran")).collect();
    let b = &o.base;
    println!(
        "treecast-sim: {} viewers (steady audience), {:.0} min, seed {}{}",
        b.viewers,
        b.duration_ms as f64 / 60_000.0,
        b.seed,
        b.reload_at_ms.map(|t| format!(", broadcaster reloads at {:.0} s", t as f64 / 1000.0)).unwrap_or_default()
    );
    print!("{}", output::table(&reports));
    println!("wall time: {:.1} s", started.elapsed().as_secs_f64());
    let config = serde_json::to_value(&o.base).expect("config serializes");
    if let Some(path) = &o.json {
        if let Err(e) = std::fs::write(path, output::json(&reports, &config)) {
            eprintln!("treecast-sim: {path}: {e}");
            return ExitCode::FAILURE;
        }
    }
    if let Some(dir) = &o.svg {
        if let Err(e) = std::fs::create_dir_all(dir) {
            eprintln!("treecast-sim: {dir}: {e}");
            return ExitCode::FAILURE;
        }
        for (name, svg) in output::charts(&reports) {
            let path = std::path::Path::new(dir).join(name);
            if let Err(e) = std::fs::write(&path, svg) {
                eprintln!("treecast-sim: {}: {e}", path.display());
                return ExitCode::FAILURE;
            }
        }
    }
    ExitCode::SUCCESS
}
