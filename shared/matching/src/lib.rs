//! Which alert rules a listing matches, without checking every rule.
//!
//! Each enabled rule is filed under one *key* that any matching listing must have:
//! - a keyword token: for a rule with required terms, its most selective required word (the one
//!   the fewest rules share); for a rule with only OR groups, one word of each term of its
//!   smallest group;
//! - otherwise its flight origins (airport, city, country or region of departure);
//! - otherwise its categories;
//! - otherwise its search area: every grid cell (half a degree square) its location and radius
//!   touch, the exact distance being checked with the rest of the rule;
//! - otherwise nothing narrows it down, and it is a candidate for every listing.
//!
//! A listing collects the rules filed under its words, its origin and its category, and each
//! candidate is verified against the whole rule ([`AlertRule::matches`]). [`naive_matches`]
//! checks every rule; property tests hold the index to exactly its answers.

use dealpulse_domain::geo::{FlightPlace, Gazetteer, Region};
use dealpulse_domain::ids::RuleId;
use dealpulse_domain::listing::{Category, Listing};
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::query::{words, Term};
use dealpulse_domain::records::{records, DocumentRepository};
use dealpulse_domain::rules::AlertRule;
use dealpulse_domain::watch::WatchItem;
use std::collections::HashMap;

/// The words of a listing that queries are matched against.
pub fn listing_words(listing: &Listing) -> Vec<String> {
    words(&format!("{} {}", listing.title, listing.description))
}

/// The reference: every enabled rule checked in turn. Sorted ids.
pub fn naive_matches(rules: &[AlertRule], listing: &Listing) -> Vec<RuleId> {
    let haystack = listing_words(listing);
    let mut found: Vec<RuleId> = rules
        .iter()
        .filter(|rule| rule.enabled && rule.matches(listing, &haystack))
        .map(|rule| rule.id)
        .collect();
    found.sort();
    found
}

/// Rules filed by key; values are positions in `rules`.
#[derive(Default)]
pub struct MatchIndex {
    rules: Vec<AlertRule>,
    by_word: HashMap<String, Vec<u32>>,
    by_airport: HashMap<String, Vec<u32>>,
    by_city: HashMap<(String, String), Vec<u32>>,
    by_country: HashMap<String, Vec<u32>>,
    by_region: HashMap<Region, Vec<u32>>,
    by_category: HashMap<Category, Vec<u32>>,
    by_cell: HashMap<(i32, i32), Vec<u32>>,
    everywhere: Vec<u32>,
}

/// Grid cells are this many degrees on a side.
const CELL_DEGREES: f64 = 0.5;

fn cell_of(lat: f64, lon: f64) -> (i32, i32) {
    (
        (lat / CELL_DEGREES).floor() as i32,
        (lon.rem_euclid(360.0) / CELL_DEGREES).floor() as i32,
    )
}

/// A search area touching more cells than this is cheaper to check for every listing.
const MAX_CELLS: usize = 2_000;

/// Every cell a circle of `km` around (lat, lon) touches: the cells of its bounding box, with a
/// cell of margin; the whole longitude range near the poles or for very large circles. `None`
/// when that is more than [`MAX_CELLS`].
fn cells_around(lat: f64, lon: f64, km: f64) -> Option<Vec<(i32, i32)>> {
    let dlat = km / 111.0 + CELL_DEGREES;
    let cos = (lat.abs() + dlat).min(89.9).to_radians().cos();
    let dlon = km / (111.0 * cos.max(1e-6)) + CELL_DEGREES;
    let (low_lat, high_lat) = ((lat - dlat).max(-90.0), (lat + dlat).min(90.0));
    let lat_cells =
        ((low_lat / CELL_DEGREES).floor() as i32)..=((high_lat / CELL_DEGREES).floor() as i32);
    let columns = (360.0 / CELL_DEGREES) as i32;
    let rows = lat_cells.clone().count();
    let width = if dlon >= 180.0 {
        columns as usize
    } else {
        (((2.0 * dlon) / CELL_DEGREES).ceil() as usize + 1).min(columns as usize)
    };
    if rows * width > MAX_CELLS {
        return None;
    }
    let lon_cells: Vec<i32> = if dlon >= 180.0 {
        (0..columns).collect()
    } else {
        let first = ((lon - dlon).rem_euclid(360.0) / CELL_DEGREES).floor() as i32;
        let count = ((2.0 * dlon) / CELL_DEGREES).ceil() as i32 + 1;
        (0..count.min(columns))
            .map(|i| (first + i) % columns)
            .collect()
    };
    Some(
        lat_cells
            .flat_map(|la| lon_cells.iter().map(move |lo| (la, *lo)))
            .collect(),
    )
}

/// How many rules could be filed under each word: a word fewer rules share is more selective.
fn word_counts(rules: &[AlertRule]) -> HashMap<&str, u32> {
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for rule in rules {
        let query = &rule.query;
        for term in query.all_of().iter().chain(query.any_of().iter().flatten()) {
            for word in term.words() {
                *counts.entry(word.as_str()).or_default() += 1;
            }
        }
    }
    counts
}

/// The most selective word of a term (every word of a phrase must occur).
fn best_word<'a>(term: &'a Term, counts: &HashMap<&str, u32>) -> Option<&'a String> {
    term.words().iter().min_by_key(|word| {
        (
            counts.get(word.as_str()).copied().unwrap_or(0),
            usize::MAX - word.len(),
        )
    })
}

impl MatchIndex {
    /// Files every enabled rule under its most selective key.
    pub fn build(rules: Vec<AlertRule>) -> MatchIndex {
        let rules: Vec<AlertRule> = rules.into_iter().filter(|r| r.enabled).collect();
        let counts = word_counts(&rules);
        let mut index = MatchIndex::default();
        let mut keyed: Vec<(u32, Vec<String>)> = Vec::new();
        for (position, rule) in rules.iter().enumerate() {
            let position = position as u32;
            let query = &rule.query;
            // A required word narrows best; else one word per term of the smallest OR group.
            let words: Vec<String> = if let Some(word) = query
                .all_of()
                .iter()
                .filter_map(|term| best_word(term, &counts))
                .min_by_key(|w| counts.get(w.as_str()).copied().unwrap_or(0))
            {
                vec![word.clone()]
            } else if let Some(group) = query.any_of().iter().min_by_key(|group| {
                group
                    .iter()
                    .filter_map(|t| best_word(t, &counts))
                    .map(|w| counts.get(w.as_str()).copied().unwrap_or(0) as u64)
                    .sum::<u64>()
            }) {
                group
                    .iter()
                    .filter_map(|t| best_word(t, &counts).cloned())
                    .collect()
            } else {
                Vec::new()
            };
            if !words.is_empty() {
                keyed.push((position, words));
            } else if let Some(flight) = &rule.flight {
                for origin in &flight.origins {
                    let list = match origin {
                        FlightPlace::Airport(code) => index.by_airport.entry(code.clone()),
                        FlightPlace::Country(code) => index.by_country.entry(code.clone()),
                        FlightPlace::City(city, country) => {
                            index
                                .by_city
                                .entry((city.clone(), country.clone()))
                                .or_default()
                                .push(position);
                            continue;
                        }
                        FlightPlace::Region(region) => {
                            index.by_region.entry(*region).or_default().push(position);
                            continue;
                        }
                    };
                    list.or_default().push(position);
                }
            } else if !rule.categories.is_empty() {
                for category in &rule.categories {
                    index
                        .by_category
                        .entry(*category)
                        .or_default()
                        .push(position);
                }
            } else if let Some(cells) =
                rule.location
                    .as_ref()
                    .zip(rule.radius.as_ref())
                    .and_then(|(location, radius)| {
                        cells_around(location.point.lat(), location.point.lon(), radius.km())
                    })
            {
                for cell in cells {
                    index.by_cell.entry(cell).or_default().push(position);
                }
            } else {
                index.everywhere.push(position);
            }
        }
        for (position, words) in keyed {
            for word in words {
                index.by_word.entry(word).or_default().push(position);
            }
        }
        index.rules = rules;
        index
    }

    pub fn len(&self) -> usize {
        self.rules.len()
    }

    pub fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The enabled rules the listing matches, as sorted ids.
    pub fn matches(&self, listing: &Listing) -> Vec<RuleId> {
        let mut found: Vec<RuleId> = self.matching_rules(listing).map(|rule| rule.id).collect();
        found.sort();
        found
    }

    /// The enabled rules the listing matches, in index order.
    pub fn matching_rules<'a>(
        &'a self,
        listing: &'a Listing,
    ) -> impl Iterator<Item = &'a AlertRule> + 'a {
        let haystack = listing_words(listing);
        let mut candidates: Vec<u32> = self.everywhere.clone();
        let mut seen_words: Vec<&str> = Vec::with_capacity(haystack.len());
        for word in &haystack {
            if seen_words.contains(&word.as_str()) {
                continue;
            }
            seen_words.push(word);
            if let Some(list) = self.by_word.get(word) {
                candidates.extend_from_slice(list);
            }
        }
        if let Some(category) = listing.category {
            if let Some(list) = self.by_category.get(&category) {
                candidates.extend_from_slice(list);
            }
        }
        if let Some(point) = &listing.location {
            if let Some(list) = self.by_cell.get(&cell_of(point.lat(), point.lon())) {
                candidates.extend_from_slice(list);
            }
        }
        if let Some(offer) = &listing.flight {
            if let Some(list) = self.by_airport.get(&offer.origin) {
                candidates.extend_from_slice(list);
            }
            if let Some(airport) = Gazetteer::get().airport(&offer.origin) {
                let city = (
                    dealpulse_domain::query::fold(&airport.city),
                    airport.country.clone(),
                );
                for list in [
                    self.by_city.get(&city),
                    self.by_country.get(&airport.country),
                    self.by_region.get(&airport.region),
                ]
                .into_iter()
                .flatten()
                {
                    candidates.extend_from_slice(list);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .map(|position| &self.rules[position as usize])
            .filter(move |rule| rule.matches(listing, &haystack))
    }
}

/// Everything an event is matched against: the rule index, and enabled watches by product.
pub struct MatchEngine {
    pub rules: MatchIndex,
    watches: HashMap<dealpulse_domain::ids::ProductId, Vec<WatchItem>>,
}

impl MatchEngine {
    /// Reads every rule and watch of every user and indexes the enabled ones.
    pub async fn load(store: &dyn DocumentRepository) -> Result<MatchEngine, StoreError> {
        let rules = records::<AlertRule>(store).all().await?;
        let watches = records::<WatchItem>(store).all().await?;
        Ok(MatchEngine::new(rules, watches))
    }

    pub fn new(rules: Vec<AlertRule>, watches: Vec<WatchItem>) -> MatchEngine {
        let mut by_product: HashMap<_, Vec<WatchItem>> = HashMap::new();
        for watch in watches.into_iter().filter(|w| w.enabled) {
            by_product.entry(watch.product_id).or_default().push(watch);
        }
        MatchEngine {
            rules: MatchIndex::build(rules),
            watches: by_product,
        }
    }

    /// The enabled watches of a product (their triggers decide whether they fire).
    pub fn watches_of(&self, product: dealpulse_domain::ids::ProductId) -> &[WatchItem] {
        self.watches
            .get(&product)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }
}
