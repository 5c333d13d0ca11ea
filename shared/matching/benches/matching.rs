//! Matching throughput on synthetic data with a realistic vocabulary skew: listing titles of
//! eight words drawn from 5,000 with a Zipf(1.1) law (a few words are in most titles, most are
//! rare); rules name product words, not filler, so their words come from the same vocabulary
//! without its 50 commonest words and with a flatter Zipf(0.8) law. Rules have one to three
//! required words (a third with an OR group, a fifth with an exclusion, half with a category,
//! most with a price cap). For 10k, 100k and 1M rules:
//! index build time, listings/s of the index on one core, and the naive matcher's rate in the
//! same run (on fewer listings: it checks every rule).
//!
//! Run: `cargo bench -p dealpulse-matching --bench matching` (peak memory: `scripts/bench match`).
#![allow(clippy::expect_used, clippy::unwrap_used)]

use dealpulse_domain::ids::{ListingId, UserId};
use dealpulse_domain::listing::{Category, Listing, SourceName};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::query::Query;
use dealpulse_domain::rules::{AlertRule, RuleName};
use dealpulse_matching::{naive_matches, MatchIndex};
use jiff::Timestamp;
use std::collections::BTreeSet;
use std::time::Instant;

/// xorshift64*: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// Cumulative Zipf weights over the vocabulary, for sampling by binary search.
struct Zipf {
    words: Vec<String>,
    cumulative: Vec<f64>,
}

impl Zipf {
    fn new(size: usize, exponent: f64) -> Self {
        let words = (0..size).map(|i| format!("w{i}")).collect();
        let mut total = 0.0;
        let cumulative = (1..=size)
            .map(|rank| {
                total += 1.0 / (rank as f64).powf(exponent);
                total
            })
            .collect();
        Self { words, cumulative }
    }
    /// A vocabulary from `skip` on: the same words, without the commonest.
    fn tail(size: usize, skip: usize, exponent: f64) -> Self {
        let mut zipf = Zipf::new(size - skip, exponent);
        zipf.words = (skip..size).map(|i| format!("w{i}")).collect();
        zipf
    }
    fn sample(&self, rng: &mut Rng) -> &str {
        let total = *self.cumulative.last().unwrap();
        let target = (rng.next() as f64 / u64::MAX as f64) * total;
        let position = self.cumulative.partition_point(|c| *c < target);
        &self.words[position.min(self.words.len() - 1)]
    }
}

const CATEGORIES: [Category; 6] = [
    Category::Computers,
    Category::Gaming,
    Category::Phones,
    Category::Home,
    Category::Tools,
    Category::Fashion,
];

fn usd(cents: i64) -> Money {
    Money::from_minor(cents, Currency::parse("USD").unwrap()).unwrap()
}

fn rules(count: usize, zipf: &Zipf, rng: &mut Rng) -> Vec<AlertRule> {
    (0..count)
        .map(|_| {
            let mut text: Vec<String> = (0..1 + rng.below(3))
                .map(|_| zipf.sample(rng).to_string())
                .collect();
            if rng.below(3) == 0 {
                text.push(format!("({} OR {})", zipf.sample(rng), zipf.sample(rng)));
            }
            if rng.below(5) == 0 {
                text.push(format!("-{}", zipf.sample(rng)));
            }
            let now = Timestamp::UNIX_EPOCH;
            AlertRule {
                max_price: (rng.below(4) != 0).then(|| usd(10_000 + rng.below(200_000) as i64)),
                categories: if rng.below(2) == 0 {
                    BTreeSet::from([CATEGORIES[rng.below(6) as usize]])
                } else {
                    BTreeSet::new()
                },
                version: 1,
                ..AlertRule::new(
                    UserId::generate(),
                    RuleName::parse("bench").unwrap(),
                    Query::parse(&text.join(" ")).unwrap_or_default(),
                    now,
                )
            }
        })
        .collect()
}

fn listings(count: usize, zipf: &Zipf, rng: &mut Rng) -> Vec<Listing> {
    (0..count)
        .map(|_| Listing {
            id: ListingId::generate(),
            source: SourceName::parse("bench").unwrap(),
            url: "https://deals.example.com/x".into(),
            title: (0..8)
                .map(|_| zipf.sample(rng))
                .collect::<Vec<_>>()
                .join(" "),
            description: String::new(),
            price: usd(1_000 + rng.below(250_000) as i64),
            was_price: None,
            category: Some(CATEGORIES[rng.below(6) as usize]),
            condition: None,
            location: None,
            score: None,
            flight: None,
            seen_at: Timestamp::UNIX_EPOCH,
            audience: None,
        })
        .collect()
}

fn main() {
    let titles = Zipf::new(5_000, 1.1);
    let rule_words = Zipf::tail(5_000, 50, 0.8);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let sample = listings(20_000, &titles, &mut rng);
    for count in [10_000usize, 100_000, 1_000_000] {
        let all = rules(count, &rule_words, &mut rng);
        let started = Instant::now();
        let index = MatchIndex::build(all.clone());
        let build = started.elapsed();
        let started = Instant::now();
        let mut found = 0usize;
        for listing in &sample {
            found += index.matches(listing).len();
        }
        let indexed = sample.len() as f64 / started.elapsed().as_secs_f64();
        let naive_count = (2_000_000 / count).clamp(5, 2_000);
        let started = Instant::now();
        let mut naive_found = 0usize;
        for listing in &sample[..naive_count] {
            naive_found += naive_matches(&all, listing).len();
        }
        let naive = naive_count as f64 / started.elapsed().as_secs_f64();
        println!(
            "{count:>9} rules: build {:.2} s; index {indexed:>10.0} listings/s ({:.2} matches per listing); naive {naive:>8.1} listings/s ({:.2} per listing, {naive_count} listings)",
            build.as_secs_f64(),
            found as f64 / sample.len() as f64,
            naive_found as f64 / naive_count as f64,
        );
    }
}
