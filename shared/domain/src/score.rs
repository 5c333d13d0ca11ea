//! Deal score (0–100, with a confidence) and chart downsampling over a product's price history.
//!
//! The score says how good today's price is for *this* product: where it sits in the last 90
//! days and in all known history (cheaper than most observations scores high), how far below
//! the list price it is, and whether it is a new all-time low. A listing without history is
//! scored against recent prices of its category instead, always with low confidence.

use crate::listing::PricePoint;
use crate::money::Money;
use jiff::{SignedDuration, Timestamp};
use serde::{Deserialize, Serialize};

/// How much the score can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Confidence {
    /// Fewer than 14 observations in 90 days, or scored against the category.
    Low,
    /// 14 to 59 observations.
    Medium,
    /// 60 or more.
    High,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DealScore {
    pub score: u8,
    pub confidence: Confidence,
    /// Strictly below every earlier observation.
    pub all_time_low: bool,
    /// Share of the last 90 days' observations that were more expensive (0–1).
    pub cheaper_than_90d: Option<f64>,
    /// Share of all observations that were more expensive (0–1).
    pub cheaper_than_all: Option<f64>,
    /// Discount against the list price, 0–1.
    pub discount: Option<f64>,
    /// Observations the score rests on.
    pub observations: usize,
}

/// Half off or more earns the full discount credit; smaller discounts earn proportionally.
fn discount_credit(discount: f64) -> f64 {
    (discount / 0.5).clamp(0.0, 1.0)
}

/// Fewer observations than this in 90 days means low confidence.
pub const MIN_CONFIDENT_POINTS: usize = 14;

fn cheaper_share(current: i64, prices: &[i64]) -> Option<f64> {
    if prices.is_empty() {
        return None;
    }
    let dearer = prices.iter().filter(|&&p| p > current).count();
    Some(dearer as f64 / prices.len() as f64)
}

/// Scores `current` against the product's own history (any order; other currencies ignored).
pub fn score_against_history(
    current: Money,
    list_price: Option<Money>,
    history: &[PricePoint],
    now: Timestamp,
) -> DealScore {
    let same: Vec<&PricePoint> = history
        .iter()
        .filter(|p| p.price.currency() == current.currency() && p.at <= now)
        .collect();
    let since = now
        .checked_sub(SignedDuration::from_hours(90 * 24))
        .unwrap_or(Timestamp::MIN);
    let recent: Vec<i64> = same
        .iter()
        .filter(|p| p.at >= since)
        .map(|p| p.price.minor())
        .collect();
    let all: Vec<i64> = same.iter().map(|p| p.price.minor()).collect();
    let cheaper_90 = cheaper_share(current.minor(), &recent);
    let cheaper_all = cheaper_share(current.minor(), &all);
    let discount = list_price
        .filter(|list| list.currency() == current.currency() && list.minor() > 0)
        .map(|list| {
            ((list.minor() - current.minor()) as f64 / list.minor() as f64).clamp(0.0, 1.0)
        });
    let all_time_low = !all.is_empty() && all.iter().all(|&p| current.minor() < p);
    let mut weighted = 0.0;
    let mut weights = 0.0;
    for (value, weight) in [
        (cheaper_90, 0.45),
        (cheaper_all, 0.25),
        (discount.map(discount_credit), 0.30),
    ] {
        if let Some(value) = value {
            weighted += value * weight;
            weights += weight;
        }
    }
    let base = if weights > 0.0 {
        weighted / weights
    } else {
        0.0
    };
    let bonus = if all_time_low { 0.10 } else { 0.0 };
    let score = ((base + bonus) * 100.0).round().clamp(0.0, 100.0) as u8;
    let confidence = match recent.len() {
        n if n < MIN_CONFIDENT_POINTS => Confidence::Low,
        n if n < 60 => Confidence::Medium,
        _ => Confidence::High,
    };
    DealScore {
        score,
        confidence,
        all_time_low,
        cheaper_than_90d: cheaper_90,
        cheaper_than_all: cheaper_all,
        discount,
        observations: all.len(),
    }
}

/// Recent listings' prices grouped by category: what [`score_against_category`] compares with.
pub fn prices_by_category(
    listings: &[crate::listing::Listing],
) -> std::collections::HashMap<crate::listing::Category, Vec<Money>> {
    let mut prices: std::collections::HashMap<_, Vec<Money>> = std::collections::HashMap::new();
    for listing in listings {
        if let Some(category) = listing.category {
            prices.entry(category).or_default().push(listing.price);
        }
    }
    prices
}

/// Scores a listing with no history of its own against recent prices in its category.
pub fn score_against_category(
    current: Money,
    list_price: Option<Money>,
    category_prices: &[Money],
) -> DealScore {
    let prices: Vec<i64> = category_prices
        .iter()
        .filter(|p| p.currency() == current.currency())
        .map(|p| p.minor())
        .collect();
    let cheaper = cheaper_share(current.minor(), &prices);
    let discount = list_price
        .filter(|list| list.currency() == current.currency() && list.minor() > 0)
        .map(|list| {
            ((list.minor() - current.minor()) as f64 / list.minor() as f64).clamp(0.0, 1.0)
        });
    let base = match (cheaper, discount.map(discount_credit)) {
        (Some(c), Some(d)) => 0.6 * c + 0.4 * d,
        (Some(c), None) => c,
        (None, Some(d)) => d,
        (None, None) => 0.0,
    };
    DealScore {
        score: (base * 100.0).round().clamp(0.0, 100.0) as u8,
        confidence: Confidence::Low,
        all_time_low: false,
        cheaper_than_90d: None,
        cheaper_than_all: cheaper,
        discount,
        observations: prices.len(),
    }
}

/// Reduces a series (oldest first) to at most `max_points` for a chart: the range is cut into
/// equal time buckets and each keeps its lowest and highest point (in time order), so dips and
/// spikes survive downsampling. The first and last points are always kept.
pub fn downsample(points: &[PricePoint], max_points: usize) -> Vec<PricePoint> {
    if points.len() <= max_points {
        return points.to_vec();
    }
    let (Some(first), Some(last)) = (points.first(), points.last()) else {
        return Vec::new();
    };
    if max_points < 4 {
        return [first, last]
            .into_iter()
            .take(max_points)
            .cloned()
            .collect();
    }
    let start = first.at.as_nanosecond();
    let span = (last.at.as_nanosecond() - start).max(1);
    let buckets = (max_points - 2) / 2;
    let mut chosen: Vec<&PricePoint> = vec![first];
    for bucket in 0..buckets {
        let from = start + span * bucket as i128 / buckets as i128;
        let to = start + span * (bucket as i128 + 1) / buckets as i128;
        let inside: Vec<&PricePoint> = points[1..points.len() - 1]
            .iter()
            .filter(|p| {
                let t = p.at.as_nanosecond();
                t >= from && (t < to || (bucket + 1 == buckets && t <= to))
            })
            .collect();
        let low = inside.iter().min_by_key(|p| p.price.minor());
        let high = inside.iter().max_by_key(|p| p.price.minor());
        match (low, high) {
            (Some(low), Some(high)) if low.at <= high.at => {
                chosen.push(low);
                if !std::ptr::eq(*low, *high) {
                    chosen.push(high);
                }
            }
            (Some(low), Some(high)) => {
                chosen.push(high);
                chosen.push(low);
            }
            _ => {}
        }
    }
    chosen.push(last);
    chosen.into_iter().cloned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::ProductId;
    use crate::money::Currency;

    fn eur(amount: &str) -> Money {
        Money::parse(amount, Currency::parse("EUR").unwrap()).unwrap()
    }

    fn series(prices: &[&str], now: Timestamp) -> Vec<PricePoint> {
        let product = ProductId::generate();
        prices
            .iter()
            .enumerate()
            .map(|(i, p)| PricePoint {
                previous: None,
                product_id: product,
                at: now
                    .checked_sub(SignedDuration::from_hours(((prices.len() - i) * 24) as i64))
                    .unwrap(),
                price: eur(p),
                in_stock: true,
            })
            .collect()
    }

    #[test]
    fn a_new_all_time_low_scores_high_and_a_peak_scores_low() {
        let now = Timestamp::now();
        let history = series(
            &[
                "329", "319", "309", "299", "305", "310", "300", "315", "320", "299", "309", "312",
                "318", "301", "307",
            ],
            now,
        );
        let low = score_against_history(eur("279"), Some(eur("349")), &history, now);
        assert!(low.all_time_low);
        assert!(low.score >= 90, "{low:?}");
        assert_eq!(low.confidence, Confidence::Medium);
        let peak = score_against_history(eur("339"), Some(eur("349")), &history, now);
        assert!(!peak.all_time_low);
        assert!(peak.score <= 5, "{peak:?}");
        let middling = score_against_history(eur("309"), None, &history, now);
        assert!((30..=70).contains(&middling.score), "{middling:?}");
    }

    #[test]
    fn short_histories_have_low_confidence_and_other_currencies_are_ignored() {
        let now = Timestamp::now();
        let history = series(&["100", "90", "95"], now);
        let scored = score_against_history(eur("85"), None, &history, now);
        assert_eq!(scored.confidence, Confidence::Low);
        assert_eq!(scored.observations, 3);
        let usd = Money::parse("85", Currency::parse("USD").unwrap()).unwrap();
        let foreign = score_against_history(usd, None, &history, now);
        assert_eq!(foreign.observations, 0);
        assert_eq!(foreign.score, 0);
    }

    #[test]
    fn category_scores_rank_against_peers() {
        let peers: Vec<Money> = ["500", "600", "700", "800", "900"]
            .iter()
            .map(|p| eur(p))
            .collect();
        let cheap = score_against_category(eur("450"), None, &peers);
        assert_eq!(cheap.score, 100);
        assert_eq!(cheap.confidence, Confidence::Low);
        let dear = score_against_category(eur("950"), None, &peers);
        assert_eq!(dear.score, 0);
    }

    #[test]
    fn downsampling_keeps_extremes_and_ends() {
        let now = Timestamp::now();
        let mut prices: Vec<String> = (0..1000).map(|i| format!("{}", 300 + (i % 7))).collect();
        prices[500] = "199".into(); // a one-day dip
        prices[700] = "499".into(); // a spike
        let refs: Vec<&str> = prices.iter().map(String::as_str).collect();
        let points = series(&refs, now);
        let small = downsample(&points, 50);
        assert!(small.len() <= 50, "{}", small.len());
        assert_eq!(small.first(), points.first());
        assert_eq!(small.last(), points.last());
        assert!(small.iter().any(|p| p.price == eur("199")));
        assert!(small.iter().any(|p| p.price == eur("499")));
        assert!(
            small.windows(2).all(|w| w[0].at <= w[1].at),
            "time order kept"
        );
        assert_eq!(downsample(&points[..10], 50).len(), 10);
    }
}
