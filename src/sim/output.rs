//! How a comparison is shown: a terminal table, JSON, and hand-written SVG charts.

use super::metrics::Report;
use std::fmt::Write as _;

/// One column per policy, one row per figure.
pub fn table(reports: &[Report]) -> String {
    let mut rows: Vec<(String, Vec<String>)> = Vec::new();
    let mut row = |name: &str, f: &dyn Fn(&Report) -> String| rows.push((name.to_string(), reports.iter().map(f).collect()));
    row("arrivals", &|r| r.arrivals.to_string());
    row("concurrent viewers (mean / peak)", &|r| format!("{:.0} / {}", r.mean_concurrent, r.peak_concurrent));
    row("continuity index", &|r| format!("{:.5}", r.continuity_index));
    row("stall per viewer, s (mean)", &|r| format!("{:.3}", r.stall_per_viewer_s.mean));
    row("stall per viewer, s (p99)", &|r| format!("{:.2}", r.stall_per_viewer_s.p99));
    row("stall per viewer, s (max)", &|r| format!("{:.2}", r.stall_per_viewer_s.max));
    row("stalls per viewer-hour", &|r| format!("{:.3}", r.stalls_per_viewer_hour));
    row("stalls >= 1 s per viewer-hour", &|r| format!("{:.3}", r.long_stalls_per_viewer_hour));
    row("  in stalls < 1 s / 1-10 s / >= 10 s, s/viewer", &|r| {
        let l = &r.stall_by_length_per_viewer_s;
        format!("{:.3} / {:.3} / {:.3}", l[0], l[1], l[2])
    });
    for (i, cause) in super::metrics::Cause::ALL.iter().enumerate() {
        if reports.iter().all(|r| r.stall_causes.get(i).is_none_or(|c| c.stalls == 0)) {
            continue;
        }
        rows.push((
            format!("  from {} (share, stalls)", cause.name()),
            reports
                .iter()
                .map(|r| match r.stall_causes.get(i) {
                    Some(c) => format!("{:.3} ({:.0}%, {})", c.per_viewer_s, c.share * 100.0, c.stalls),
                    None => "-".into(),
                })
                .collect(),
        ));
    }
    let mut row = |name: &str, f: &dyn Fn(&Report) -> String| rows.push((name.to_string(), reports.iter().map(f).collect()));
    row("start-up, s (p50 / p99)", &|r| format!("{:.2} / {:.2}", r.startup_s.p50, r.startup_s.p99));
    row("left before first frame", &|r| r.never_played.to_string());
    row("depth (mean / p99 / max)", &|r| format!("{:.2} / {} / {}", r.depth.mean, r.depth.p99, r.depth.max));
    row("latency, ms (p50 / p99 / max)", &|r| format!("{} / {} / {}", r.latency_ms.p50, r.latency_ms.p99, r.latency_ms.max));
    row("broadcaster signalling msg/s (mean / p99 / max)", &|r| {
        let m = &r.coordinator_msgs_per_s;
        format!("{:.0} / {} / {}", m.mean, m.p99, m.max)
    });
    row("broadcaster edge heartbeats/s", &|r| format!("{:.0}", r.root_heartbeats_per_s));
    row("standby coverage (coordinator, mean / min)", &|r| {
        if r.policy == "seed" {
            "-".into()
        } else {
            format!("{:.4} / {:.4}", r.standby_coverage_mean, r.standby_coverage_min)
        }
    });
    row("open standby edge at depth >= 2 (measured)", &|r| format!("{:.4}", r.standby_edges_mean));
    row("relay repairs / moves", &|r| format!("{} / {}", r.repairs, r.moves));
    row("departures graceful / crash", &|r| format!("{} / {}", r.departures_graceful, r.departures_crash));
    row("events / wall time", &|r| format!("{:.1} M / {:.1} s", r.events as f64 / 1e6, r.wall_s));
    let name_w = rows.iter().map(|(n, _)| n.len()).max().unwrap_or(0);
    let col_w: Vec<usize> = (0..reports.len())
        .map(|i| rows.iter().map(|(_, v)| v[i].len()).chain([reports[i].policy.len()]).max().unwrap_or(0))
        .collect();
    let mut out = String::new();
    let _ = write!(out, "{:name_w$}", "");
    for (r, w) in reports.iter().zip(&col_w) {
        let _ = write!(out, "  {:>w$}", r.policy);
    }
    out.push('\n');
    for (name, values) in &rows {
        let _ = write!(out, "{name:name_w$}");
        for (v, w) in values.iter().zip(&col_w) {
            let _ = write!(out, "  {v:>w$}");
        }
        out.push('\n');
    }
    out
}

pub fn json(reports: &[Report], config: &serde_json::Value) -> String {
    let value = serde_json::json!({ "config": config, "policies": reports });
    serde_json::to_string_pretty(&value).expect("reports serialize")
}

const COLOURS: [&str; 4] = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd"];
const W: f64 = 640.0;
const H: f64 = 400.0;
const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

fn frame(title: &str, x_label: &str, y_label: &str) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">{}</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\
         <text transform=\"translate(16,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\
         <line x1=\"{LEFT}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"black\"/>\
         <line x1=\"{LEFT}\" y1=\"{TOP}\" x2=\"{LEFT}\" y2=\"{}\" stroke=\"black\"/>",
        W / 2.0,
        escape(title),
        LEFT + (W - LEFT - RIGHT) / 2.0,
        H - 10.0,
        escape(x_label),
        TOP + (H - TOP - BOTTOM) / 2.0,
        escape(y_label),
        H - BOTTOM,
        W - RIGHT,
        H - BOTTOM,
        H - BOTTOM,
    );
    s
}

fn legend(s: &mut String, names: &[&str]) {
    for (i, name) in names.iter().enumerate() {
        let y = TOP + 10.0 + 16.0 * i as f64;
        let x = W - RIGHT - 110.0;
        let _ = write!(
            s,
            "<rect x=\"{x}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            y - 10.0,
            COLOURS[i % COLOURS.len()],
            x + 18.0,
            y,
            escape(name)
        );
    }
}

fn y_ticks(s: &mut String, max: f64, format: &dyn Fn(f64) -> String) {
    for i in 0..=4 {
        let v = max * i as f64 / 4.0;
        let y = H - BOTTOM - (H - TOP - BOTTOM) * i as f64 / 4.0;
        let _ = write!(
            s,
            "<line x1=\"{}\" y1=\"{y}\" x2=\"{LEFT}\" y2=\"{y}\" stroke=\"black\"/><text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            LEFT - 4.0,
            LEFT - 6.0,
            y + 4.0,
            format(v)
        );
    }
}

/// CDF lines from percentile tables (`values[p]` = the p-th percentile), x on a log scale when
/// the values span decades.
fn cdf_chart(title: &str, x_label: &str, series: &[(&str, &[f64])], log_floor: Option<f64>) -> String {
    let mut s = frame(title, x_label, "share of viewers at or below");
    let max = series.iter().flat_map(|(_, v)| v.iter().copied()).fold(0.0, f64::max).max(1e-9);
    let (lo, hi) = match log_floor {
        Some(floor) => (floor.log10(), max.max(floor * 10.0).log10()),
        None => (0.0, max),
    };
    let to_x = |v: f64| {
        let t = match log_floor {
            Some(floor) => (v.max(floor).log10() - lo) / (hi - lo),
            None => v / hi,
        };
        LEFT + t.clamp(0.0, 1.0) * (W - LEFT - RIGHT)
    };
    let to_y = |share: f64| H - BOTTOM - share * (H - TOP - BOTTOM);
    y_ticks(&mut s, 1.0, &|v| format!("{v:.2}"));
    // x ticks
    let ticks: Vec<f64> = match log_floor {
        Some(_) => (lo.floor() as i32..=hi.ceil() as i32).map(|e| 10f64.powi(e)).filter(|v| v.log10() <= hi + 1e-9).collect(),
        None => (0..=4).map(|i| hi * i as f64 / 4.0).collect(),
    };
    for v in ticks {
        let x = to_x(v);
        let _ = write!(
            s,
            "<line x1=\"{x}\" y1=\"{}\" x2=\"{x}\" y2=\"{}\" stroke=\"black\"/><text x=\"{x}\" y=\"{}\" text-anchor=\"middle\">{}</text>",
            H - BOTTOM,
            H - BOTTOM + 4.0,
            H - BOTTOM + 18.0,
            trim_number(v)
        );
    }
    for (i, (_, values)) in series.iter().enumerate() {
        let mut d = String::new();
        for (p, v) in values.iter().enumerate() {
            let _ = write!(d, "{}{:.1},{:.1}", if p == 0 { "M" } else { " L" }, to_x(*v), to_y(p as f64 / 100.0));
        }
        let _ = write!(s, "<path d=\"{d}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2\"/>", COLOURS[i % COLOURS.len()]);
    }
    legend(&mut s, &series.iter().map(|(n, _)| *n).collect::<Vec<_>>());
    s.push_str("</svg>\n");
    s
}

fn trim_number(v: f64) -> String {
    if v >= 1.0 || v == 0.0 {
        format!("{}", (v * 100.0).round() / 100.0)
    } else {
        format!("{v}")
    }
}

/// Grouped bars: share of sampled viewers at each depth, per policy.
fn depth_chart(reports: &[Report]) -> String {
    let mut s = frame("Depth of viewers (sampled every 30 s)", "depth (hops from the broadcaster)", "share of viewers");
    let max_depth = reports.iter().map(|r| r.depth_histogram.len()).max().unwrap_or(1).max(2) - 1;
    let shares: Vec<Vec<f64>> = reports
        .iter()
        .map(|r| {
            let n: u64 = r.depth_histogram.iter().sum::<u64>().max(1);
            (0..=max_depth).map(|d| *r.depth_histogram.get(d).unwrap_or(&0) as f64 / n as f64).collect()
        })
        .collect();
    let top = shares.iter().flatten().copied().fold(0.0, f64::max).max(1e-9);
    y_ticks(&mut s, top, &|v| format!("{v:.2}"));
    let slot = (W - LEFT - RIGHT) / max_depth as f64;
    let bar = slot * 0.8 / reports.len().max(1) as f64;
    for d in 1..=max_depth {
        let x0 = LEFT + slot * (d - 1) as f64 + slot * 0.1;
        for (i, sh) in shares.iter().enumerate() {
            let h = sh[d] / top * (H - TOP - BOTTOM);
            let _ = write!(
                s,
                "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"/>",
                x0 + bar * i as f64,
                H - BOTTOM - h,
                bar,
                h,
                COLOURS[i % COLOURS.len()]
            );
        }
        if max_depth <= 30 || d % 5 == 0 {
            let _ = write!(s, "<text x=\"{:.1}\" y=\"{}\" text-anchor=\"middle\">{d}</text>", x0 + slot * 0.4, H - BOTTOM + 18.0);
        }
    }
    legend(&mut s, &reports.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>());
    s.push_str("</svg>\n");
    s
}

/// Grouped horizontal bars: stall seconds per viewer by what started the stall, per policy.
fn cause_chart(reports: &[Report]) -> String {
    let causes: Vec<usize> = (0..super::metrics::Cause::ALL.len())
        .filter(|&i| reports.iter().any(|r| r.stall_causes.get(i).is_some_and(|c| c.stalls > 0)))
        .collect();
    let mut s = String::new();
    let label_w = 150.0;
    let top = causes
        .iter()
        .flat_map(|&i| reports.iter().map(move |r| r.stall_causes[i].per_viewer_s))
        .fold(0.0, f64::max)
        .max(1e-9);
    // Rows start below the legend.
    let rows_top = TOP + 16.0 * reports.len() as f64 + 8.0;
    let row_h = (H - rows_top - BOTTOM) / causes.len().max(1) as f64;
    let bar = row_h * 0.8 / reports.len().max(1) as f64;
    let plot_w = W - label_w - RIGHT - 60.0;
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{W}\" height=\"{H}\" font-family=\"sans-serif\" font-size=\"12\">\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\
         <text x=\"{}\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">Stall time per viewer by what started the stall</text>\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">seconds per viewer</text>",
        W / 2.0,
        label_w + plot_w / 2.0,
        H - 10.0
    );
    for (row, &i) in causes.iter().enumerate() {
        let y0 = rows_top + row_h * row as f64 + row_h * 0.1;
        let name = reports[0].stall_causes[i].cause;
        let _ = write!(s, "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>", label_w - 6.0, y0 + row_h * 0.45, escape(name));
        for (k, r) in reports.iter().enumerate() {
            let v = r.stall_causes[i].per_viewer_s;
            let w = v / top * plot_w;
            let y = y0 + bar * k as f64;
            let _ = write!(
                s,
                "<rect x=\"{label_w}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{bar:.1}\" fill=\"{}\"/><text x=\"{:.1}\" y=\"{:.1}\">{v:.2}</text>",
                COLOURS[k % COLOURS.len()],
                label_w + w + 4.0,
                y + bar * 0.8
            );
        }
    }
    legend(&mut s, &reports.iter().map(|r| r.policy.as_str()).collect::<Vec<_>>());
    s.push_str("</svg>\n");
    s
}

/// The charts as (file name, SVG text).
pub fn charts(reports: &[Report]) -> Vec<(&'static str, String)> {
    let stall: Vec<(&str, &[f64])> = reports.iter().map(|r| (r.policy.as_str(), r.stall_percentiles_s.as_slice())).collect();
    let latency: Vec<(&str, &[f64])> = reports.iter().map(|r| (r.policy.as_str(), r.latency_percentiles_ms.as_slice())).collect();
    vec![
        ("stall_cdf.svg", cdf_chart("Total stall time per viewer (CDF)", "stall time per viewer, s (log; 0 drawn at 0.01)", &stall, Some(0.01))),
        ("depth.svg", depth_chart(reports)),
        ("latency_cdf.svg", cdf_chart("Glass-to-glass latency (CDF, sampled)", "latency, ms", &latency, None)),
        ("stall_causes.svg", cause_chart(reports)),
    ]
}
