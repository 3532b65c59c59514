//! Coordinator benchmark: joins with mixed capacities, then as many random joins/leaves/losses
//! (with a tick every 100 events), at 10k / 100k / 1M viewers. Prints a table. The workload is
//! `treecast::core::coordinator::workload`, the same one `make bench-core-wasm` runs in Chromium.
//!
//! Run: `cargo bench --bench core` (add `-- quick` to skip the 1M row).

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;
use treecast::core::coordinator::workload::{Step, Workload};
use treecast::core::coordinator::Policy;

/// Counts live heap bytes, to report memory per viewer.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size(), Ordering::Relaxed);
        unsafe { System.alloc(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.dealloc(ptr, layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size, Ordering::Relaxed);
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

struct Row {
    policy: &'static str,
    n: usize,
    join_total_s: f64,
    /// Of which the ticks (every 100 joins: probation ends, standby retries, settling moves).
    join_tick_s: f64,
    join_cpu_s: f64,
    churn_cpu_rate: f64,
    join_rate: f64,
    join_p99_ns: u64,
    bytes_per_viewer: f64,
    churn_rate: f64,
    churn_mean_ns: f64,
    churn_p99_ns: u64,
    max_depth: u32,
    mean_depth: f64,
    coverage: f64,
    join_cmds: f64,
    churn_cmds: f64,
    /// Churn by kind (join, leave, loss, tick): events, total ns, commands.
    kinds: [(u64, u64, u64); 4],
}

/// CPU seconds used by this process (user + system), from /proc (Linux); None elsewhere.
/// Reported beside wall time because this machine is shared with other builds.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

fn p99(samples: &mut [u32]) -> u64 {
    samples.sort_unstable();
    samples[samples.len() * 99 / 100] as u64
}

fn run(policy: Policy, n: usize) -> Row {
    let mut samples: Vec<u32> = Vec::with_capacity(n + 16);
    let before = LIVE.load(Ordering::Relaxed);
    let mut w = Workload::new(policy, 0x9e37_79b9_7f4a_7c15 ^ n as u64);

    // Joins.
    let mut join_cmds = 0usize;
    let mut join_tick_ns = 0u64;
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        join_cmds += w.join();
        samples.push(t.elapsed().as_nanos().min(u32::MAX as u128) as u32);
        if i % 100 == 99 {
            let t = Instant::now();
            w.tick();
            join_tick_ns += t.elapsed().as_nanos() as u64;
        }
    }
    let join_total = t0.elapsed().as_secs_f64();
    let join_cpu = cpu_seconds().zip(c0).map(|(b, a)| b - a).unwrap_or(f64::NAN);
    // The workload's own list of live ids is harness memory, not the coordinator's.
    let bytes = LIVE.load(Ordering::Relaxed).saturating_sub(before).saturating_sub(w.own_bytes());
    let viewers = w.coordinator().viewer_count() as usize;
    let join_p99 = p99(&mut samples);

    // Churn: as many random joins / leaves / losses.
    samples.clear();
    let mut churn_cmds = 0usize;
    let mut kinds = [(0u64, 0u64, 0u64); 4];
    let c0 = cpu_seconds();
    let t0 = Instant::now();
    for i in 0..n {
        let t = Instant::now();
        let (step, cmds) = w.churn();
        let dt = t.elapsed().as_nanos() as u64;
        // p99 is of the viewers' events; ticks (every 100 events) are timed apart below.
        samples.push(dt.min(u32::MAX as u64) as u32);
        let k = match step {
            Step::Join => 0,
            Step::Leave => 1,
            Step::Loss => 2,
        };
        churn_cmds += cmds;
        kinds[k].0 += 1;
        kinds[k].1 += dt;
        kinds[k].2 += cmds as u64;
        if i % 100 == 99 {
            let t = Instant::now();
            let cmds = w.tick();
            churn_cmds += cmds;
            kinds[3].0 += 1;
            kinds[3].1 += t.elapsed().as_nanos() as u64;
            kinds[3].2 += cmds as u64;
        }
    }
    let churn_total = t0.elapsed().as_secs_f64();
    let churn_cpu = cpu_seconds().zip(c0).map(|(b, a)| b - a).unwrap_or(f64::NAN);
    let churn_p99 = p99(&mut samples);
    let stats = w.coordinator().stats();
    Row {
        policy: if policy == Policy::Treecast { "treecast" } else { "seed" },
        n,
        join_total_s: join_total,
        join_tick_s: join_tick_ns as f64 / 1e9,
        join_cpu_s: join_cpu,
        churn_cpu_rate: n as f64 / churn_cpu,
        join_rate: n as f64 / join_total,
        join_p99_ns: join_p99,
        bytes_per_viewer: bytes as f64 / viewers.max(1) as f64,
        churn_rate: n as f64 / churn_total,
        churn_mean_ns: churn_total * 1e9 / n as f64,
        churn_p99_ns: churn_p99,
        max_depth: stats.max_depth,
        mean_depth: stats.mean_depth,
        coverage: stats.standby_coverage,
        join_cmds: join_cmds as f64 / n as f64,
        churn_cmds: churn_cmds as f64 / n as f64,
        kinds,
    }
}

fn main() {
    let quick = std::env::args().any(|a| a == "quick");
    let only: Option<usize> = std::env::args().find_map(|a| a.strip_prefix("n=").and_then(|n| n.parse().ok()));
    let sizes: Vec<usize> = match only {
        Some(n) => vec![n],
        None if quick => vec![10_000, 100_000],
        None => vec![10_000, 100_000, 1_000_000],
    };
    let mut rows = Vec::new();
    for &n in &sizes {
        rows.push(run(Policy::Treecast, n));
    }
    if only.is_none() {
        rows.push(run(Policy::Seed, 100_000));
    }
    println!();
    println!(
        "| policy   | viewers   | joins wall  | of it ticks | joins CPU | joins/s    | join p99 | bytes/viewer | churn ev/s | churn ev/s (CPU) | churn mean | churn p99 | max depth | mean depth | standby coverage | cmds/join | cmds/churn ev |"
    );
    println!(
        "|----------|-----------|-------------|-------------|-----------|------------|----------|--------------|------------|------------------|------------|-----------|-----------|------------|------------------|-----------|---------------|"
    );
    for r in &rows {
        println!(
            "| {:<8} | {:>9} | {:>9.3} s | {:>9.3} s | {:>7.2} s | {:>10.0} | {:>5} ns | {:>12.1} | {:>10.0} | {:>16.0} | {:>7.0} ns | {:>6} ns | {:>9} | {:>10.2} | {:>15.1}% | {:>9.2} | {:>13.2} |",
            r.policy,
            r.n,
            r.join_total_s,
            r.join_tick_s,
            r.join_cpu_s,
            r.join_rate,
            r.join_p99_ns,
            r.bytes_per_viewer,
            r.churn_rate,
            r.churn_cpu_rate,
            r.churn_mean_ns,
            r.churn_p99_ns,
            r.max_depth,
            r.mean_depth,
            r.coverage * 100.0,
            r.join_cmds,
            r.churn_cmds
        );
    }
    println!();
    println!("Churn by kind (mean wall time per event, commands per event):");
    println!("| policy   | viewers   | join            | leave           | loss            | tick (every 100) |");
    println!("|----------|-----------|-----------------|-----------------|-----------------|------------------|");
    for r in &rows {
        let cell = |k: usize| {
            let (n, ns, cmds) = r.kinds[k];
            let n = n.max(1) as f64;
            format!("{:>6.0} ns {:>5.1}", ns as f64 / n, cmds as f64 / n)
        };
        println!("| {:<8} | {:>9} | {:<15} | {:<15} | {:<15} | {:<16} |", r.policy, r.n, cell(0), cell(1), cell(2), cell(3));
    }
    println!();
    println!("Wall-clock columns include waiting for the CPU when the machine is shared; CPU columns do not.");
    println!("Rates and means include the ticks (one every 100 events); p99 columns are of joins/leaves/losses alone.");
    println!("Targets: 1M joins <= 2 s; churn >= 500k events/s; <= 200 bytes/viewer; time per event flat in n.");
}
