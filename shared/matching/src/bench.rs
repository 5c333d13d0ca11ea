//! The matching benchmark behind `cargo bench -p dealpulse-matching` and
//! `dealpulse bench match --rules N --listings M`: one thread, synthetic data from
//! [`crate::synthetic`], and in the same run the naive matcher on a sample of the listings, whose
//! answers the index must repeat.

use crate::synthetic::{Catalogue, Rng};
use crate::{naive_matches, MatchIndex};
use dealpulse_domain::listing::Listing;
use dealpulse_domain::rules::AlertRule;
use std::time::Instant;

/// What to run.
#[derive(Debug, Clone, Copy)]
pub struct MatchBench {
    pub rules: usize,
    pub listings: usize,
    pub seed: u64,
}

/// What one run measured.
#[derive(Debug, Clone)]
pub struct MatchFigures {
    pub rules: usize,
    pub listings: usize,
    /// Seconds to build the index from rules already in memory.
    pub build_seconds: f64,
    pub listings_per_second: f64,
    pub matches_per_listing: f64,
    /// Rules the index checked per listing (those filed under its keys, within their caps).
    pub candidates_per_listing: f64,
    /// Growth of resident memory while the index is built from a stream of rules (the index and
    /// its scratch space, not the rules), in MiB; `None` off Linux.
    pub index_peak_mib: Option<f64>,
    pub naive_listings: usize,
    pub naive_listings_per_second: f64,
    /// Whether the index found exactly the naive matcher's rules for each of those listings.
    pub agrees_with_naive: bool,
}

impl MatchFigures {
    /// One line for a terminal or a Markdown table.
    pub fn row(&self) -> String {
        format!(
            "| {:>9} | {:>7.2} s | {:>10.0} | {:>6.1} | {:>7.1} | {:>9} | {:>9.1} ({} listings) | {} |",
            self.rules,
            self.build_seconds,
            self.listings_per_second,
            self.matches_per_listing,
            self.candidates_per_listing,
            self.index_peak_mib
                .map_or("n/a".to_string(), |mib| format!("{mib:.0} MiB")),
            self.naive_listings_per_second,
            self.naive_listings,
            if self.agrees_with_naive { "yes" } else { "NO" },
        )
    }

    pub const HEADER: &'static str = "| rules | index build | listings/s (index, 1 core) | matches/listing | rules checked/listing | index peak memory | naive listings/s | same answers |\n|---|---|---|---|---|---|---|---|";
}

/// A field of `/proc/self/status` in KiB (`VmRSS`, `VmHWM`).
fn status_kib(field: &str) -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|rest| rest.trim().trim_end_matches("kB").trim().parse().ok())
}

/// Resets the peak resident size to the current one (Linux ≥ 4.0); false when it cannot.
fn reset_peak() -> bool {
    std::fs::write("/proc/self/clear_refs", "5").is_ok()
}

fn rules(catalogue: &Catalogue, count: usize, seed: u64) -> impl Iterator<Item = AlertRule> + '_ {
    let mut rng = Rng::new(seed);
    (0..count).map(move |_| catalogue.rule(&mut rng))
}

/// Runs the benchmark for one rule count.
pub fn run(config: MatchBench) -> MatchFigures {
    let mut rng = Rng::new(config.seed);
    let catalogue = Catalogue::new(1_000_000, &mut rng);
    let listings: Vec<Listing> = (0..config.listings.max(1))
        .map(|_| catalogue.listing(&mut rng))
        .collect();
    let rule_seed = config.seed ^ 0x5DEE_CE66_D1CE_5EED;

    // Memory: the index built from a stream, so only the index is resident.
    let before = status_kib("VmRSS");
    let index_peak_mib = if reset_peak() {
        let index = MatchIndex::build(rules(&catalogue, config.rules, rule_seed));
        let peak = status_kib("VmHWM");
        drop(index);
        before
            .zip(peak)
            .map(|(before, peak)| (peak - before) / 1024.0)
    } else {
        None
    };

    let all: Vec<AlertRule> = rules(&catalogue, config.rules, rule_seed).collect();
    let naive_listings = (2_000_000 / config.rules.max(1))
        .clamp(5, 2_000)
        .min(listings.len());
    let started = Instant::now();
    let naive: Vec<_> = listings[..naive_listings]
        .iter()
        .map(|listing| naive_matches(&all, listing))
        .collect();
    let naive_listings_per_second = naive_listings as f64 / started.elapsed().as_secs_f64();

    let started = Instant::now();
    let index = MatchIndex::build(all);
    let build_seconds = started.elapsed().as_secs_f64();

    // One pass first: a warm container matches with the index already in cache.
    let warm: usize = listings
        .iter()
        .map(|l| index.matching_rules(l).count())
        .sum();
    let started = Instant::now();
    let mut found = 0usize;
    for listing in &listings {
        found += index.matching_rules(listing).count();
    }
    let listings_per_second = listings.len() as f64 / started.elapsed().as_secs_f64();
    debug_assert_eq!(warm, found);
    let candidates: usize = listings.iter().map(|l| index.candidate_count(l)).sum();
    let agrees_with_naive = listings[..naive_listings]
        .iter()
        .zip(&naive)
        .all(|(listing, expected)| index.matches(listing) == *expected);
    MatchFigures {
        rules: config.rules,
        listings: listings.len(),
        build_seconds,
        listings_per_second,
        matches_per_listing: found as f64 / listings.len() as f64,
        candidates_per_listing: candidates as f64 / listings.len() as f64,
        index_peak_mib,
        naive_listings,
        naive_listings_per_second,
        agrees_with_naive,
    }
}
