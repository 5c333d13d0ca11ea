//! Words and places as sources print them, mapped onto the domain's vocabularies: a feed's
//! "Laptops" category, a marketplace's "pre-owned" condition, an "Berlin, DE" location. Shared
//! by feed reading and the partner ingest API.

use crate::geo::{GeoPoint, Location, LocationInput};
use crate::listing::{Category, Condition};

/// Maps a source's category words onto the taxonomy: an exact name, a plural, or a known word.
pub fn category_of(text: &str) -> Option<Category> {
    let word = text.trim().to_lowercase().replace([' ', '-'], "_");
    if let Some(category) =
        Category::parse(&word).or_else(|| Category::parse(word.trim_end_matches('s')))
    {
        return Some(category);
    }
    const WORDS: &[(&str, Category)] = &[
        ("laptop", Category::Computers),
        ("desktop", Category::Computers),
        ("pc", Category::Computers),
        ("computer", Category::Computers),
        ("monitor", Category::Computers),
        ("console", Category::Gaming),
        ("video_game", Category::Gaming),
        ("game", Category::Gaming),
        ("phone", Category::Phones),
        ("smartphone", Category::Phones),
        ("mobile", Category::Phones),
        ("headphone", Category::Audio),
        ("speaker", Category::Audio),
        ("camera", Category::Cameras),
        ("television", Category::Tv),
        ("tvs", Category::Tv),
        ("appliance", Category::Kitchen),
        ("flight", Category::Flights),
        ("airfare", Category::Flights),
        ("hotel", Category::Hotels),
        ("clothing", Category::Fashion),
        ("shoe", Category::Fashion),
        ("tool", Category::Tools),
        ("furniture", Category::Furniture),
        ("toy", Category::Toys),
        ("book", Category::Books),
        ("car", Category::Automotive),
    ];
    WORDS
        .iter()
        .find(|(name, _)| word.contains(name))
        .map(|(_, category)| *category)
}

pub fn condition_of(text: &str) -> Option<Condition> {
    let word = text.trim().to_lowercase().replace([' ', '-'], "_");
    Condition::parse(&word).or(match word.as_str() {
        "newcondition" | "brand_new" | "sealed" => Some(Condition::New),
        "usedcondition" | "pre_owned" | "second_hand" => Some(Condition::Used),
        "refurbishedcondition" | "renewed" | "certified_refurbished" => {
            Some(Condition::Refurbished)
        }
        "excellent" | "mint" | "open_box" => Some(Condition::LikeNew),
        "damagedcondition" | "for_parts" | "poor" => Some(Condition::Fair),
        _ => None,
    })
}

/// A place as listings print it: `"lat, lon"`, or a city (optionally `", CC"`) the bundled
/// gazetteer knows.
pub fn place_of(text: &str) -> Option<GeoPoint> {
    let parts: Vec<&str> = text.split(',').map(str::trim).collect();
    if let [lat, lon] = parts.as_slice() {
        if let (Ok(lat), Ok(lon)) = (lat.parse::<f64>(), lon.parse::<f64>()) {
            return GeoPoint::new(lat, lon).ok();
        }
    }
    let (city, country) = match parts.as_slice() {
        [city] => (*city, None),
        [city, .., last] if last.len() == 2 => (*city, Some(last.to_string())),
        [city, ..] => (*city, None),
        [] => return None,
    };
    Location::resolve(&LocationInput {
        city: Some(city.to_string()),
        country,
        ..LocationInput::default()
    })
    .ok()
    .map(|l| l.point)
}
