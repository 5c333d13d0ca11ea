//! Rollups behind the analytics: what each price point and each newly seen listing adds to the
//! counters (written by the stores with the write itself), and the arithmetic that turns the
//! counters back into trends, medians and price bands. Reading a trend costs one batched counter
//! read whatever the number of points behind it.

use crate::counters::utc_day;
use crate::counters::{CounterBucket, CounterKey};
use crate::ids::{ProductId, UserId};
use crate::listing::{Listing, PricePoint};
use crate::money::Currency;

/// Whether a kept extreme is the lowest or the highest value offered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Extreme {
    Lowest,
    Highest,
}

/// Counter changes of one event: additions, and extremes to keep.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Rollup {
    pub adds: Vec<(CounterKey, i64)>,
    pub extremes: Vec<(CounterKey, Extreme, i64)>,
}

/// Counter names of the analytics. Prices are in the currency's minor units, discounts in basis
/// points (1/100 of a percent).
pub mod names {
    use crate::ids::{ProductId, UserId};
    use crate::listing::Category;
    use crate::money::Currency;

    /// `price.<product>.<currency>.<field>`: `n` points, `sum`, `lo`, `hi` (day buckets; `n`,
    /// `lo`, `hi` also in total).
    pub fn price(product: ProductId, currency: Currency, field: &str) -> String {
        format!("price.{product}.{}.{field}", currency.code())
    }
    /// `cat.<category>.<currency>.<field>`: `n`, `sum`, `lo` of listing prices (day buckets).
    pub fn category_price(category: Category, currency: Currency, field: &str) -> String {
        format!("cat.{category}.{}.{field}", currency.code())
    }
    /// `cat.<category>.disc.<field>`: `n` listings with a stated discount and the `sum` of it.
    pub fn category_discount(category: Category, field: &str) -> String {
        format!("cat.{category}.disc.{field}")
    }
    /// New public listings (day buckets).
    pub const DEALS: &str = "deals";
    /// `deals.<dimension>.<value>`: new public listings by category, source or route.
    pub fn deals_by(dimension: &str, value: &str) -> String {
        format!("deals.{dimension}.{value}")
    }
    /// `bands.<currency>.<category or none>.<band>`: price histogram (see [`super::price_band`]).
    pub fn band(currency: Currency, category: Option<Category>, band: u32) -> String {
        let category = category.map_or("none", |c| c.as_str());
        format!("bands.{}.{category}.{band:03}", currency.code())
    }
    /// `dest.<IATA>.n` flight deals to the destination, `dest.<IATA>.disc` best discount,
    /// `dest.<IATA>.<currency>.<band>` price histogram.
    pub fn destination(iata: &str, field: &str) -> String {
        format!("dest.{iata}.{field}")
    }
    /// `watchers.<product>`: watches on the product (total bucket).
    pub fn watchers(product: ProductId) -> String {
        format!("watchers.{product}")
    }
    /// `user.<id>.sent.<channel>`: the account's deliveries sent per channel (total bucket).
    pub fn user_sent(user: UserId, channel: &str) -> String {
        format!("user.{user}.sent.{channel}")
    }
    /// `user.<id>.clicks`: alert links the account followed (total bucket).
    pub fn user_clicks(user: UserId) -> String {
        format!("user.{user}.clicks")
    }
    /// `user.<id>.saved.<currency>`: reference minus deal price of the deals it followed.
    pub fn user_saved(user: UserId, currency: Currency) -> String {
        format!("user.{user}.saved.{}", currency.code())
    }
    /// Prefix of [`user_saved`] for one account.
    pub fn user_saved_prefix(user: UserId) -> String {
        format!("user.{user}.saved.")
    }
    /// Alert links followed (day and week buckets).
    pub const CLICKS: &str = "alerts.clicked";
}

/// Histogram bands: 20 per decade of the major unit (each about 12 % wide), so a median read
/// back from them is within about 6 % of the true one. Band 0 holds everything below 1.12.
pub const BANDS_PER_DECADE: f64 = 20.0;

/// The band a price (in major units) falls in.
pub fn price_band(major: f64) -> u32 {
    if !major.is_finite() || major < 1.0 {
        return 0;
    }
    (major.log10() * BANDS_PER_DECADE).floor().clamp(0.0, 999.0) as u32
}

/// The lower and upper edge of a band, in major units.
pub fn band_edges(band: u32) -> (f64, f64) {
    let low = if band == 0 {
        0.0
    } else {
        10_f64.powf(f64::from(band) / BANDS_PER_DECADE)
    };
    (low, 10_f64.powf(f64::from(band + 1) / BANDS_PER_DECADE))
}

/// The value at `quantile` (0–1) of a histogram of `(band, count)`, interpolated inside its band
/// geometrically; `None` for an empty histogram.
pub fn band_quantile(histogram: &[(u32, i64)], quantile: f64) -> Option<f64> {
    let mut bands: Vec<(u32, i64)> = histogram.iter().copied().filter(|(_, n)| *n > 0).collect();
    bands.sort_unstable();
    let total: i64 = bands.iter().map(|(_, n)| n).sum();
    if total == 0 {
        return None;
    }
    let target = quantile.clamp(0.0, 1.0) * total as f64;
    let mut below = 0_f64;
    for (band, count) in &bands {
        let count = *count as f64;
        if below + count >= target {
            let within = ((target - below) / count).clamp(0.0, 1.0);
            let (low, high) = band_edges(*band);
            return Some(if low <= 0.0 {
                high * within
            } else {
                low * (high / low).powf(within)
            });
        }
        below += count;
    }
    bands.last().map(|(band, _)| band_edges(*band).1)
}

/// Discount in basis points when the listing states a higher earlier price in its currency.
pub fn discount_bp(listing: &Listing) -> Option<i64> {
    let was = listing.was_price.as_ref()?;
    if was.currency() != listing.price.currency() || was.minor() <= listing.price.minor() {
        return None;
    }
    Some((was.minor() - listing.price.minor()) * 10_000 / was.minor())
}

/// Bits of a day's closing value that hold the price; the rest hold the second of the day.
const CLOSE_PRICE_BITS: u32 = 43;

/// A day's closing price as one number whose highest kept value is the day's last point: the
/// second of the day in the high bits, the price (minor units, < 2⁴³ — every `Money` is) below.
pub fn encode_close(at: jiff::Timestamp, minor: i64) -> i64 {
    let second_of_day = at.as_second().rem_euclid(86_400);
    (second_of_day << CLOSE_PRICE_BITS) | (minor & ((1 << CLOSE_PRICE_BITS) - 1))
}

/// The price of a value made by [`encode_close`].
pub fn decode_close(value: i64) -> i64 {
    value & ((1 << CLOSE_PRICE_BITS) - 1)
}

/// What a new price point of a tracked product adds: its day's count, sum, low, high, close (the
/// price of its last point) and open (the price before its first point, when the point says),
/// and the all-time low and high.
pub fn price_point_rollup(point: &PricePoint) -> Rollup {
    let (product, currency) = (point.product_id, point.price.currency());
    let minor = point.price.minor();
    let day = CounterBucket::day(utc_day(point.at));
    let key = |field: &str, bucket: &CounterBucket| {
        CounterKey::new(names::price(product, currency, field), bucket.clone())
    };
    let total = CounterBucket::total();
    let mut rollup = Rollup {
        adds: vec![
            (key("n", &day), 1),
            (key("sum", &day), minor),
            (key("n", &total), 1),
        ],
        extremes: vec![
            (key("lo", &day), Extreme::Lowest, minor),
            (key("hi", &day), Extreme::Highest, minor),
            (
                key("close", &day),
                Extreme::Highest,
                encode_close(point.at, minor),
            ),
            (key("lo", &total), Extreme::Lowest, minor),
            (key("hi", &total), Extreme::Highest, minor),
        ],
    };
    // The earliest change's previous price is what the day opened at.
    if let Some(previous) = point.previous.filter(|p| p.currency() == currency) {
        rollup.extremes.push((
            key("open", &day),
            Extreme::Lowest,
            encode_close(point.at, previous.minor()),
        ));
    }
    rollup
}

/// What a listing seen for the first time adds to the deal statistics. Listings meant for one
/// user (their newsletter address) stay out of the public figures.
pub fn new_listing_rollup(listing: &Listing) -> Rollup {
    let mut rollup = Rollup::default();
    if listing.audience.is_some() {
        return rollup;
    }
    let day = CounterBucket::day(utc_day(listing.seen_at));
    let at_day = |name: String| CounterKey::new(name, day.clone());
    let currency = listing.price.currency();
    let minor = listing.price.minor();
    let band = price_band(listing.price.as_f64());
    let discount = discount_bp(listing);
    rollup.adds.push((at_day(names::DEALS.to_string()), 1));
    rollup.adds.push((
        at_day(names::deals_by("source", listing.source.as_str())),
        1,
    ));
    rollup
        .adds
        .push((at_day(names::band(currency, listing.category, band)), 1));
    if let Some(category) = listing.category {
        rollup
            .adds
            .push((at_day(names::deals_by("category", category.as_str())), 1));
        rollup
            .adds
            .push((at_day(names::category_price(category, currency, "n")), 1));
        rollup.adds.push((
            at_day(names::category_price(category, currency, "sum")),
            minor,
        ));
        rollup.extremes.push((
            at_day(names::category_price(category, currency, "lo")),
            Extreme::Lowest,
            minor,
        ));
        if let Some(bp) = discount {
            rollup
                .adds
                .push((at_day(names::category_discount(category, "n")), 1));
            rollup
                .adds
                .push((at_day(names::category_discount(category, "sum")), bp));
        }
    }
    if let Some(flight) = &listing.flight {
        let route = format!("{}-{}", flight.origin, flight.destination);
        rollup
            .adds
            .push((at_day(names::deals_by("route", &route)), 1));
        let destination = flight.destination.as_str();
        rollup
            .adds
            .push((at_day(names::destination(destination, "n")), 1));
        rollup.adds.push((
            at_day(names::destination(
                destination,
                &format!("{}.{band:03}", currency.code()),
            )),
            1,
        ));
        if let Some(bp) = discount {
            rollup.extremes.push((
                at_day(names::destination(destination, "disc")),
                Extreme::Highest,
                bp,
            ));
        }
    }
    rollup
}

/// Figures of a series of daily averages over a window.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct WindowFigures {
    /// Days with data in the window.
    pub days: usize,
    /// Last day's average against the first day's, in percent.
    pub change_percent: Option<f64>,
    /// Standard deviation of the daily averages over their mean, in percent.
    pub volatility_percent: Option<f64>,
}

/// Change and volatility of `daily_averages` (oldest first, days without data left out).
pub fn window_figures(daily_averages: &[f64]) -> WindowFigures {
    let days = daily_averages.len();
    let change_percent = match (daily_averages.first(), daily_averages.last()) {
        (Some(first), Some(last)) if days >= 2 && *first > 0.0 => {
            Some(round1((last - first) / first * 100.0))
        }
        _ => None,
    };
    let volatility_percent = if days >= 2 {
        let mean = daily_averages.iter().sum::<f64>() / days as f64;
        let variance = daily_averages
            .iter()
            .map(|value| (value - mean).powi(2))
            .sum::<f64>()
            / days as f64;
        (mean > 0.0).then(|| round1(variance.sqrt() / mean * 100.0))
    } else {
        None
    };
    WindowFigures {
        days,
        change_percent,
        volatility_percent,
    }
}

/// Rounds to one decimal place (percentages shown to people).
pub fn round1(value: f64) -> f64 {
    (value * 10.0).round() / 10.0
}

/// The savings a followed deal represents: its reference price minus its price, in minor units
/// of the deal's currency (0 when there is no higher reference price).
pub fn savings_minor(price: i64, reference: Option<i64>) -> i64 {
    reference.map_or(0, |reference| (reference - price).max(0))
}

/// The product and user ids the analytics names are keyed by, parsed back from a counter name.
pub fn product_of_watchers(name: &str) -> Option<ProductId> {
    name.strip_prefix("watchers.")?.parse().ok()
}

/// The currency a `user.<id>.saved.<currency>` counter is kept in.
pub fn saved_currency(user: UserId, name: &str) -> Option<Currency> {
    let code = name.strip_prefix(&names::user_saved_prefix(user))?;
    Currency::parse(code).ok()
}

/// Brings every `user.<id>.*` counter of a deleted account to zero (the counter port cannot
/// delete), so no figure about the person outlives the account.
pub async fn forget_user_counters(
    counters: &dyn crate::counters::CounterRepository,
    user: UserId,
) -> Result<(), crate::ports::StoreError> {
    let bucket = CounterBucket::total();
    let changes: Vec<(CounterKey, i64)> = counters
        .counts_with_prefix(&bucket, &format!("user.{user}."))
        .await?
        .into_iter()
        .filter(|(_, value)| *value != 0)
        .map(|(name, value)| (CounterKey::total(name), -value))
        .collect();
    if changes.is_empty() {
        return Ok(());
    }
    counters.add_counts(&changes).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_are_a_twentieth_of_a_decade_and_quantiles_fall_inside_them() {
        assert_eq!(price_band(0.5), 0);
        assert_eq!(price_band(1.0), 0);
        assert_eq!(price_band(10.0), 20);
        assert_eq!(price_band(99.99), 39);
        assert_eq!(price_band(100.0), 40);
        let (low, high) = band_edges(40);
        assert!((low - 100.0).abs() < 1e-9 && (high - 112.2).abs() < 0.1);
        // 3 deals at ~100, 1 at ~400: the median is in the ~100 band.
        let histogram = [(price_band(105.0), 3), (price_band(400.0), 1)];
        let median = band_quantile(&histogram, 0.5).unwrap();
        assert!((100.0..112.3).contains(&median), "{median}");
        assert!(band_quantile(&histogram, 1.0).unwrap() > 398.0);
        assert_eq!(band_quantile(&[], 0.5), None);
    }

    #[test]
    fn the_later_point_of_a_day_closes_it() {
        let morning: jiff::Timestamp = "2026-11-25T08:00:00Z".parse().unwrap();
        let evening: jiff::Timestamp = "2026-11-25T23:59:59Z".parse().unwrap();
        let early = encode_close(morning, 999_999_999_999);
        let late = encode_close(evening, 1);
        assert!(late > early);
        assert_eq!(decode_close(early), 999_999_999_999);
        assert_eq!(decode_close(late), 1);
    }

    #[test]
    fn window_figures_need_two_days() {
        assert_eq!(window_figures(&[10.0]).change_percent, None);
        let figures = window_figures(&[100.0, 90.0, 80.0]);
        assert_eq!(figures.change_percent, Some(-20.0));
        assert_eq!(figures.volatility_percent, Some(9.1));
        assert_eq!(savings_minor(800, Some(1000)), 200);
        assert_eq!(savings_minor(800, Some(700)), 0);
        assert_eq!(savings_minor(800, None), 0);
    }
}
