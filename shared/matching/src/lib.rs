//! Which alert rules a listing matches, without checking every rule.
//!
//! Each enabled rule is filed under one *key* that any matching listing must have:
//! - a keyword: its most selective required word (the one the fewest rules use), or one word of
//!   each term of its most selective OR group when those words are rarer still;
//! - otherwise its flight origins (airport, city, country or region of departure);
//! - otherwise its search area: every grid cell (half a degree square) its location and radius
//!   touch, the exact distance being checked with the rest of the rule;
//! - otherwise its categories;
//! - otherwise nothing narrows it down, and it is a candidate for every listing.
//!
//! Under each key, rules with a price cap are kept per currency, highest cap first, so a listing
//! takes only those whose cap its price is within; each entry carries the rule's minimum deal
//! score, so broad rules a listing's score falls short of are turned away before they are read.
//! Candidates are verified against the whole rule in a compact form (query words as numbers,
//! rules filed under the same word stored side by side). [`naive_matches`] checks every rule;
//! property tests hold the index to exactly its answers.

pub mod bench;
mod compiled;
pub mod synthetic;

use compiled::{
    category_bit, for_each_keyword, key_words, query_matches, CompiledRule, Criteria, PriceBounds,
    Vocabulary,
};
use dealpulse_domain::geo::{FlightPlace, Gazetteer, Region};
use dealpulse_domain::ids::{RuleId, UserId};
use dealpulse_domain::listing::{Category, Listing};
use dealpulse_domain::money::{Currency, Money};
use dealpulse_domain::ports::StoreError;
use dealpulse_domain::query::words;
use dealpulse_domain::records::{records, DocumentRepository};
use dealpulse_domain::rules::{AlertRule, CriterionMiss};
use dealpulse_domain::watch::WatchItem;
use std::collections::HashMap;

/// The words of a listing that queries are matched against.
pub fn listing_words(listing: &Listing) -> Vec<String> {
    words(&format!("{} {}", listing.title, listing.description))
}

/// Why `rule` does not match `listing`: every criterion it fails (empty when it matches). The
/// rules `/test` route shows it; property tests hold it to the index's answers
/// (`AlertRule::matches` ⇔ no misses).
pub fn explain(rule: &AlertRule, listing: &Listing) -> Vec<CriterionMiss> {
    rule.evaluate(listing)
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

/// A rule the index found: enough to read the rule itself from the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MatchedRule {
    pub id: RuleId,
    pub owner: UserId,
}

/// Positions of rules with price bounds in one currency, highest maximum first (`i64::MAX` for a
/// rule with only a minimum), so a listing takes only the prefix whose maximum its price is
/// within.
#[derive(Default)]
struct Capped {
    caps: Vec<i64>,
    rules: Vec<Filed>,
}

/// A rule's position with its minimum deal score (0 for none), checked before the rule itself
/// is read: broad rules ("anything in gaming scoring 90+") are mostly turned away here.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Filed {
    position: u32,
    min_score: u8,
}

/// The rules filed under one key: those without price bounds, and those with, by currency (a
/// rule priced in another currency than the listing cannot match it).
#[derive(Default)]
struct Bucket {
    open: Vec<Filed>,
    priced: Vec<(Currency, Capped)>,
}

impl Bucket {
    fn file(&mut self, filed: Filed, price: Option<PriceBounds>) {
        let Some(bounds) = price else {
            self.open.push(filed);
            return;
        };
        let capped = match self
            .priced
            .iter()
            .position(|(currency, _)| *currency == bounds.currency)
        {
            Some(at) => &mut self.priced[at].1,
            None => {
                self.priced.push((bounds.currency, Capped::default()));
                let last = self.priced.len() - 1;
                &mut self.priced[last].1
            }
        };
        capped.caps.push(bounds.max);
        capped.rules.push(filed);
    }

    /// Sorts each currency's rules by maximum, highest first.
    fn seal(&mut self) {
        for (_, capped) in &mut self.priced {
            // Filed in index order, which is already by cap for a rule's first key.
            if capped.caps.is_sorted_by(|a, b| a >= b) {
                continue;
            }
            let mut pairs: Vec<(i64, Filed)> = capped
                .caps
                .iter()
                .copied()
                .zip(capped.rules.iter().copied())
                .collect();
            pairs.sort_unstable_by(|a, b| b.cmp(a));
            capped.caps = pairs.iter().map(|(cap, _)| *cap).collect();
            capped.rules = pairs.iter().map(|(_, filed)| *filed).collect();
        }
        self.open.shrink_to_fit();
        self.priced.shrink_to_fit();
    }

    /// Adds the rules the listing's price and score do not rule out.
    fn collect(&self, price: Money, score: u8, into: &mut Vec<u32>) {
        let admitted = |filed: &Filed| (filed.min_score <= score).then_some(filed.position);
        into.extend(self.open.iter().filter_map(admitted));
        for (currency, capped) in &self.priced {
            if *currency == price.currency() {
                let within = capped.caps.partition_point(|cap| *cap >= price.minor());
                into.extend(capped.rules[..within].iter().filter_map(admitted));
            }
        }
    }
}

/// Rules filed by key; buckets hold positions in `criteria` and `ids`.
#[derive(Default)]
pub struct MatchIndex {
    /// Rules in index order: those filed under the same word are neighbours, each currency's
    /// highest price cap first, so a listing's candidates are mostly runs of adjacent memory.
    criteria: Vec<Criteria>,
    ids: Vec<MatchedRule>,
    /// Every rule's encoded query, in index order.
    words: Vec<u32>,
    vocabulary: Vocabulary,
    /// Indexed by word number.
    by_word: Vec<Bucket>,
    by_airport: HashMap<String, Bucket>,
    by_city: HashMap<(String, String), Bucket>,
    by_country: HashMap<String, Bucket>,
    by_region: HashMap<Region, Bucket>,
    by_category: HashMap<Category, Bucket>,
    by_cell: HashMap<(i32, i32), Bucket>,
    everywhere: Bucket,
}

/// Grid cells are this many degrees on a side.
const CELL_DEGREES: f64 = 0.5;

/// Columns of the grid around the globe.
const COLUMNS: i32 = (360.0 / CELL_DEGREES) as i32;

fn cell_of(lat: f64, lon: f64) -> (i32, i32) {
    (
        (lat / CELL_DEGREES).floor() as i32,
        // `rem_euclid` may round up to 360.0 itself.
        ((lon.rem_euclid(360.0) / CELL_DEGREES).floor() as i32) % COLUMNS,
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
    let columns = COLUMNS;
    let rows = lat_cells.clone().count();
    // A circle reaching a pole spans every longitude there, however small it is.
    let dlon = if lat.abs() + dlat >= 90.0 {
        180.0
    } else {
        dlon
    };
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

impl MatchIndex {
    /// Compiles every enabled rule (dropping each [`AlertRule`] as it is compiled: from a stream,
    /// only the compact forms are ever held together), then files each under its most selective
    /// key.
    pub fn build(rules: impl IntoIterator<Item = AlertRule>) -> MatchIndex {
        let mut index = MatchIndex::default();
        let mut arena = Vec::new();
        let compiled: Vec<CompiledRule> = rules
            .into_iter()
            .filter(|rule| rule.enabled)
            .map(|rule| CompiledRule::compile(&rule, &mut index.vocabulary, &mut arena))
            .collect();
        let query_of = |rule: &CompiledRule| {
            let start = rule.criteria.query_at as usize;
            &arena[start..start + rule.criteria.query_len as usize]
        };
        let mut counts = vec![0u32; index.vocabulary.len()];
        for rule in &compiled {
            for_each_keyword(query_of(rule), |word| counts[word as usize] += 1);
        }
        let count = |word: u32| u64::from(counts.get(word as usize).copied().unwrap_or(0));
        // Each rule's key words, flat: rule i's are `keys[key_starts[i]..key_starts[i + 1]]`.
        let mut keys = Vec::with_capacity(compiled.len());
        let mut key_starts = Vec::with_capacity(compiled.len() + 1);
        for rule in &compiled {
            key_starts.push(keys.len() as u32);
            key_words(query_of(rule), count, &mut keys);
        }
        key_starts.push(keys.len() as u32);
        let keys_of = |position: usize| {
            &keys[key_starts[position] as usize..key_starts[position + 1] as usize]
        };
        let mut order: Vec<(u32, [u8; 3], i64, u32)> = compiled
            .iter()
            .enumerate()
            .map(|(position, rule)| {
                let (currency, cap) = rule.criteria.price.map_or(([0; 3], 0), |bounds| {
                    let mut code = [0u8; 3];
                    for (to, from) in code.iter_mut().zip(bounds.currency.code().bytes()) {
                        *to = from;
                    }
                    (code, bounds.max)
                });
                let first_key = keys_of(position).first().copied().unwrap_or(u32::MAX);
                (first_key, currency, -cap, position as u32)
            })
            .collect();
        order.sort_unstable();
        let mut slots: Vec<Option<CompiledRule>> = compiled.into_iter().map(Some).collect();
        let mut ordered_keys = Vec::with_capacity(order.len());
        index.criteria.reserve_exact(order.len());
        index.ids.reserve_exact(order.len());
        index.words.reserve_exact(arena.len());
        for (_, _, _, old) in order {
            let Some(rule) = slots[old as usize].take() else {
                continue;
            };
            let mut criteria = rule.criteria;
            let start = criteria.query_at as usize;
            criteria.query_at = index.words.len() as u32;
            index
                .words
                .extend_from_slice(&arena[start..start + criteria.query_len as usize]);
            index.criteria.push(criteria);
            index.ids.push(MatchedRule {
                id: rule.id,
                owner: rule.owner,
            });
            ordered_keys.push(keys_of(old as usize));
        }
        drop(slots);
        index.by_word = (0..index.vocabulary.len())
            .map(|_| Bucket::default())
            .collect();
        for (position, (rule, words)) in index.criteria.iter().zip(ordered_keys).enumerate() {
            let filed = Filed {
                position: position as u32,
                min_score: rule.min_score().unwrap_or(0),
            };
            let price = rule.price;
            if !words.is_empty() {
                for word in words {
                    index.by_word[*word as usize].file(filed, price);
                }
            } else if let Some(flight) = rule.flight() {
                for origin in &flight.origins {
                    let bucket = match origin {
                        FlightPlace::Airport(code) => index.by_airport.entry(code.clone()),
                        FlightPlace::Country(code) => index.by_country.entry(code.clone()),
                        FlightPlace::City(city, country) => {
                            index
                                .by_city
                                .entry((city.clone(), country.clone()))
                                .or_default()
                                .file(filed, price);
                            continue;
                        }
                        FlightPlace::Region(region) => {
                            index
                                .by_region
                                .entry(*region)
                                .or_default()
                                .file(filed, price);
                            continue;
                        }
                    };
                    bucket.or_default().file(filed, price);
                }
            } else if let Some(cells) = rule
                .area()
                .and_then(|(centre, km)| cells_around(centre.lat(), centre.lon(), km))
            {
                for cell in cells {
                    index.by_cell.entry(cell).or_default().file(filed, price);
                }
            } else if rule.categories() != 0 {
                for category in Category::ALL {
                    if rule.categories() & category_bit(*category) != 0 {
                        index
                            .by_category
                            .entry(*category)
                            .or_default()
                            .file(filed, price);
                    }
                }
            } else {
                index.everywhere.file(filed, price);
            }
        }
        for bucket in index
            .by_word
            .iter_mut()
            .chain(index.by_airport.values_mut())
            .chain(index.by_city.values_mut())
            .chain(index.by_country.values_mut())
            .chain(index.by_region.values_mut())
            .chain(index.by_category.values_mut())
            .chain(index.by_cell.values_mut())
            .chain(std::iter::once(&mut index.everywhere))
        {
            bucket.seal();
        }
        index
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
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
    ) -> impl Iterator<Item = MatchedRule> + 'a {
        let haystack = self.vocabulary.number(&listing_words(listing));
        let candidates = self.candidates(listing, &haystack);
        let category = listing.category.map_or(0, category_bit);
        candidates.into_iter().filter_map(move |position| {
            let rule = &self.criteria[position as usize];
            let start = rule.query_at as usize;
            let query = &self.words[start..start + rule.query_len as usize];
            (rule.admit(listing, category) && query_matches(query, &haystack))
                .then(|| self.ids[position as usize])
        })
    }

    /// How many rules the index would check for this listing (the benchmark reports it).
    pub fn candidate_count(&self, listing: &Listing) -> usize {
        let haystack = self.vocabulary.number(&listing_words(listing));
        self.candidates(listing, &haystack).len()
    }

    /// Positions of the rules filed under the listing's keys, within their price caps.
    fn candidates(&self, listing: &Listing, haystack: &[u32]) -> Vec<u32> {
        let price = listing.price;
        let score = listing.score.unwrap_or(0);
        let mut candidates: Vec<u32> = Vec::new();
        self.everywhere.collect(price, score, &mut candidates);
        let mut distinct = haystack.to_vec();
        distinct.sort_unstable();
        distinct.dedup();
        for word in distinct {
            if let Some(bucket) = self.by_word.get(word as usize) {
                bucket.collect(price, score, &mut candidates);
            }
        }
        if let Some(category) = listing.category {
            if let Some(bucket) = self.by_category.get(&category) {
                bucket.collect(price, score, &mut candidates);
            }
        }
        if let Some(point) = &listing.location {
            if let Some(bucket) = self.by_cell.get(&cell_of(point.lat(), point.lon())) {
                bucket.collect(price, score, &mut candidates);
            }
        }
        if let Some(offer) = &listing.flight {
            let airport = Gazetteer::get().airport(&offer.origin);
            // Rules name airports by their IATA code, however the offer spells it.
            let code = airport.map_or_else(
                || offer.origin.trim().to_ascii_uppercase(),
                |airport| airport.iata.clone(),
            );
            if let Some(bucket) = self.by_airport.get(&code) {
                bucket.collect(price, score, &mut candidates);
            }
            if let Some(airport) = airport {
                let city = (
                    dealpulse_domain::query::fold(&airport.city),
                    airport.country.clone(),
                );
                for bucket in [
                    self.by_city.get(&city),
                    self.by_country.get(&airport.country),
                    self.by_region.get(&airport.region),
                ]
                .into_iter()
                .flatten()
                {
                    bucket.collect(price, score, &mut candidates);
                }
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        candidates
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
