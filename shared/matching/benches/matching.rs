//! Matching throughput at 10k, 100k and 1M rules on synthetic data with a realistic skew (see
//! `dealpulse_matching::synthetic`): index build time, listings/s on one core, the index's peak
//! memory, and the naive matcher's rate and answers in the same run.
//!
//! Run: `cargo bench -p dealpulse-matching --bench matching`; one size:
//! `dealpulse bench match --rules N --listings M`.

use dealpulse_matching::bench::{run, MatchBench, MatchFigures};

fn main() {
    println!("{}", MatchFigures::HEADER);
    for rules in [10_000, 100_000, 1_000_000] {
        let figures = run(MatchBench {
            rules,
            listings: 50_000,
            seed: 0x9E37_79B9_7F4A_7C15,
        });
        println!("{}", figures.row());
    }
}
