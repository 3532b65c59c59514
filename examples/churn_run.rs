//! The benchmark's workload without timing, for cachegrind: `churn_run JOINS CHURN` (subtract a
//! run with CHURN = 0 to get the churn events' own counts).

use treecast::core::coordinator::workload::Workload;
use treecast::core::coordinator::Policy;

fn main() {
    let args: Vec<u32> = std::env::args().skip(1).map(|a| a.parse().expect("a count")).collect();
    let (joins, churn) = (args.first().copied().unwrap_or(1_000_000), args.get(1).copied().unwrap_or(200_000));
    let mut w = Workload::new(Policy::Treecast, 0x9e37_79b9_7f4a_7c15 ^ joins as u64);
    let a = w.joins(joins);
    let b = w.churns(churn);
    println!("{a} {b}");
}
