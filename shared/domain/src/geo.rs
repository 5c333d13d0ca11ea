//! Places: coordinates, distances, and the gazetteer of airports, cities, countries and regions
//! that rule locations and flight routes are written in. The gazetteer is compiled in
//! (`data/*.tsv`, OurAirports, public domain; regenerate with `scripts/gen-places`).

use crate::account::InvalidValue;
use crate::query::fold;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::OnceLock;

/// A point on Earth in decimal degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "GeoPointJson", into = "GeoPointJson")]
pub struct GeoPoint {
    lat: f64,
    lon: f64,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GeoPointJson {
    pub lat: f64,
    pub lon: f64,
}

impl TryFrom<GeoPointJson> for GeoPoint {
    type Error = InvalidValue;
    fn try_from(value: GeoPointJson) -> Result<Self, Self::Error> {
        GeoPoint::new(value.lat, value.lon)
    }
}

impl From<GeoPoint> for GeoPointJson {
    fn from(value: GeoPoint) -> Self {
        GeoPointJson {
            lat: value.lat,
            lon: value.lon,
        }
    }
}

const EARTH_RADIUS_KM: f64 = 6371.0088;

impl GeoPoint {
    pub fn new(lat: f64, lon: f64) -> Result<Self, InvalidValue> {
        if !lat.is_finite() || !(-90.0..=90.0).contains(&lat) {
            return Err(InvalidValue("latitude must be between -90 and 90"));
        }
        if !lon.is_finite() || !(-180.0..=180.0).contains(&lon) {
            return Err(InvalidValue("longitude must be between -180 and 180"));
        }
        Ok(Self { lat, lon })
    }

    pub fn lat(&self) -> f64 {
        self.lat
    }
    pub fn lon(&self) -> f64 {
        self.lon
    }

    /// Great-circle distance (haversine).
    pub fn distance_km(&self, other: &GeoPoint) -> f64 {
        let (lat1, lat2) = (self.lat.to_radians(), other.lat.to_radians());
        let dlat = lat2 - lat1;
        let dlon = (other.lon - self.lon).to_radians();
        let a = (dlat / 2.0).sin().powi(2) + lat1.cos() * lat2.cos() * (dlon / 2.0).sin().powi(2);
        2.0 * EARTH_RADIUS_KM * a.sqrt().min(1.0).asin()
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DistanceUnit {
    Km,
    Mi,
}

/// A search radius as the user wrote it (value and unit are both kept for display).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "RadiusJson", into = "RadiusJson")]
pub struct Radius {
    value: f64,
    unit: DistanceUnit,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RadiusJson {
    pub value: f64,
    pub unit: DistanceUnit,
}

impl TryFrom<RadiusJson> for Radius {
    type Error = InvalidValue;
    fn try_from(value: RadiusJson) -> Result<Self, Self::Error> {
        Radius::new(value.value, value.unit)
    }
}

impl From<Radius> for RadiusJson {
    fn from(value: Radius) -> Self {
        RadiusJson {
            value: value.value,
            unit: value.unit,
        }
    }
}

impl Radius {
    pub fn new(value: f64, unit: DistanceUnit) -> Result<Self, InvalidValue> {
        let radius = Self { value, unit };
        if !value.is_finite() || value <= 0.0 || radius.km() > 20_000.0 {
            return Err(InvalidValue(
                "radius must be greater than 0 and at most 20000 km",
            ));
        }
        Ok(radius)
    }

    pub fn km(&self) -> f64 {
        match self.unit {
            DistanceUnit::Km => self.value,
            DistanceUnit::Mi => self.value * 1.609_344,
        }
    }
}

/// A continent, as used for "anywhere in Europe" flight routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Region {
    Africa,
    Antarctica,
    Asia,
    Europe,
    NorthAmerica,
    Oceania,
    SouthAmerica,
}

impl Region {
    const ALL: [(Region, &'static str, &'static str); 7] = [
        (Region::Africa, "AF", "africa"),
        (Region::Antarctica, "AN", "antarctica"),
        (Region::Asia, "AS", "asia"),
        (Region::Europe, "EU", "europe"),
        (Region::NorthAmerica, "NA", "north america"),
        (Region::Oceania, "OC", "oceania"),
        (Region::SouthAmerica, "SA", "south america"),
    ];

    fn from_code(code: &str) -> Option<Region> {
        Self::ALL
            .iter()
            .find(|(_, c, _)| *c == code)
            .map(|(region, _, _)| *region)
    }

    /// Accepts "Europe", "north_america", "North America".
    pub fn from_name(name: &str) -> Option<Region> {
        let wanted = fold(name).replace(['_', '-'], " ");
        let wanted = wanted.trim();
        Self::ALL
            .iter()
            .find(|(_, _, n)| *n == wanted)
            .map(|(region, _, _)| *region)
    }
}

/// An airport from the gazetteer.
#[derive(Debug, Clone, PartialEq)]
pub struct Airport {
    pub iata: String,
    pub name: String,
    pub city: String,
    pub country: String,
    pub region: Region,
    pub point: GeoPoint,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Country {
    pub code: String,
    pub name: String,
    pub region: Region,
}

/// The compiled-in gazetteer, parsed once.
pub struct Gazetteer {
    airports: HashMap<String, Airport>,
    /// Folded city name → airport codes serving it.
    cities: HashMap<String, Vec<String>>,
    countries: HashMap<String, Country>,
}

static GAZETTEER: OnceLock<Gazetteer> = OnceLock::new();

fn data_rows(text: &'static str) -> impl Iterator<Item = Vec<&'static str>> {
    text.lines()
        .filter(|line| !line.starts_with('#') && !line.trim().is_empty())
        .map(|line| line.split('\t').collect())
}

impl Gazetteer {
    pub fn get() -> &'static Gazetteer {
        GAZETTEER.get_or_init(|| {
            Self::parse(
                include_str!("../data/airports.tsv"),
                include_str!("../data/countries.tsv"),
            )
        })
    }

    /// Rows that do not parse are skipped; a unit test proves every shipped row parses.
    fn parse(airports_tsv: &'static str, countries_tsv: &'static str) -> Gazetteer {
        let mut airports = HashMap::new();
        let mut cities: HashMap<String, Vec<String>> = HashMap::new();
        for row in data_rows(airports_tsv) {
            let [iata, name, city, country, continent, lat, lon] = row[..] else {
                continue;
            };
            let (Some(region), Ok(lat), Ok(lon)) = (
                Region::from_code(continent),
                lat.parse::<f64>(),
                lon.parse::<f64>(),
            ) else {
                continue;
            };
            let Ok(point) = GeoPoint::new(lat, lon) else {
                continue;
            };
            if !city.is_empty() {
                cities.entry(fold(city)).or_default().push(iata.to_string());
            }
            airports.insert(
                iata.to_string(),
                Airport {
                    iata: iata.to_string(),
                    name: name.to_string(),
                    city: city.to_string(),
                    country: country.to_string(),
                    region,
                    point,
                },
            );
        }
        let mut countries = HashMap::new();
        for row in data_rows(countries_tsv) {
            let [code, name, continent] = row[..] else {
                continue;
            };
            if let Some(region) = Region::from_code(continent) {
                countries.insert(
                    code.to_string(),
                    Country {
                        code: code.to_string(),
                        name: name.to_string(),
                        region,
                    },
                );
            }
        }
        Gazetteer {
            airports,
            cities,
            countries,
        }
    }

    pub fn airport(&self, code: &str) -> Option<&Airport> {
        self.airports.get(&code.trim().to_ascii_uppercase())
    }

    pub fn country(&self, code: &str) -> Option<&Country> {
        self.countries.get(&code.trim().to_ascii_uppercase())
    }

    /// Airports serving a city, optionally only in one country; largest list first is not
    /// implied, the order is the gazetteer's (by IATA code).
    pub fn city_airports(&self, city: &str, country: Option<&str>) -> Vec<&Airport> {
        let mut found: Vec<&Airport> = self
            .cities
            .get(&fold(city.trim()))
            .into_iter()
            .flatten()
            .filter_map(|code| self.airports.get(code))
            .filter(|a| country.is_none_or(|c| a.country.eq_ignore_ascii_case(c)))
            .collect();
        found.sort_by(|a, b| a.iata.cmp(&b.iata));
        found
    }

    pub fn airport_count(&self) -> usize {
        self.airports.len()
    }
}

/// Where a flight starts or ends: an airport, every airport of a city, a country or a region.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "code")]
pub enum FlightPlace {
    Airport(String),
    /// Folded city name and the country it is in.
    City(String, String),
    Country(String),
    Region(Region),
}

/// A flight place as a client writes it: `"BOS"`, `"Europe"`, `"Paris"`, `"Paris, FR"`, or an
/// object with exactly one of `airport`, `city` (optionally with `country`), `country`, `region`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum FlightPlaceInput {
    Text(String),
    Object(FlightPlaceObject),
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlightPlaceObject {
    pub airport: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
    pub region: Option<String>,
}

impl FlightPlace {
    pub fn resolve(input: &FlightPlaceInput) -> Result<FlightPlace, String> {
        let places = Gazetteer::get();
        match input {
            FlightPlaceInput::Object(object) => match object {
                FlightPlaceObject {
                    airport: Some(airport),
                    city: None,
                    country: None,
                    region: None,
                } => places
                    .airport(airport)
                    .map(|a| FlightPlace::Airport(a.iata.clone()))
                    .ok_or_else(|| format!("unknown airport code {}", clip(airport))),
                FlightPlaceObject {
                    airport: None,
                    city: Some(city),
                    country,
                    region: None,
                } => city_place(city, country.as_deref()),
                FlightPlaceObject {
                    airport: None,
                    city: None,
                    country: Some(country),
                    region: None,
                } => places
                    .country(country)
                    .map(|c| FlightPlace::Country(c.code.clone()))
                    .ok_or_else(|| format!("unknown country code {}", clip(country))),
                FlightPlaceObject {
                    airport: None,
                    city: None,
                    country: None,
                    region: Some(region),
                } => Region::from_name(region)
                    .map(FlightPlace::Region)
                    .ok_or_else(|| format!("unknown region {}", clip(region))),
                _ => Err(
                    "give exactly one of airport, city (with optional country), country or region"
                        .into(),
                ),
            },
            FlightPlaceInput::Text(text) => {
                let text = text.trim();
                if text.len() == 3 && text.chars().all(|c| c.is_ascii_uppercase()) {
                    return places
                        .airport(text)
                        .map(|a| FlightPlace::Airport(a.iata.clone()))
                        .ok_or_else(|| format!("unknown airport code {}", clip(text)));
                }
                if let Some(region) = Region::from_name(text) {
                    return Ok(FlightPlace::Region(region));
                }
                match text.rsplit_once(',') {
                    Some((city, country)) => city_place(city, Some(country.trim())),
                    None => city_place(text, None),
                }
            }
        }
    }

    /// Whether a flight touching `airport_code` starts or ends in this place.
    pub fn contains(&self, airport_code: &str) -> bool {
        let places = Gazetteer::get();
        let Some(airport) = places.airport(airport_code) else {
            return false;
        };
        match self {
            FlightPlace::Airport(code) => *code == airport.iata,
            FlightPlace::City(city, country) => {
                fold(&airport.city) == *city && airport.country == *country
            }
            FlightPlace::Country(code) => *code == airport.country,
            FlightPlace::Region(region) => *region == airport.region,
        }
    }
}

fn clip(text: &str) -> String {
    text.chars().take(40).collect()
}

fn city_place(city: &str, country: Option<&str>) -> Result<FlightPlace, String> {
    let airports = Gazetteer::get().city_airports(city, country);
    let Some(first) = airports.first() else {
        return Err(format!(
            "no airport serves a city called {}{}",
            clip(city.trim()),
            country
                .map(|c| format!(" in {}", clip(c)))
                .unwrap_or_default()
        ));
    };
    let countries: std::collections::BTreeSet<&str> =
        airports.iter().map(|a| a.country.as_str()).collect();
    if countries.len() > 1 {
        return Err(format!(
            "{} is a city in several countries ({}); add the country, e.g. \"{}, {}\"",
            clip(city.trim()),
            countries.into_iter().collect::<Vec<_>>().join(", "),
            clip(city.trim()),
            first.country
        ));
    }
    Ok(FlightPlace::City(fold(city.trim()), first.country.clone()))
}

/// A resolved search centre for marketplace listings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Location {
    pub label: String,
    pub point: GeoPoint,
}

/// A search centre as a client writes it: `lat` and `lon` (with an optional `label`), or an
/// `airport`, or a `city` with an optional `country`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub label: Option<String>,
    pub airport: Option<String>,
    pub city: Option<String>,
    pub country: Option<String>,
}

impl Location {
    pub fn resolve(input: &LocationInput) -> Result<Location, String> {
        let places = Gazetteer::get();
        match input {
            LocationInput {
                lat: Some(lat),
                lon: Some(lon),
                label,
                airport: None,
                city: None,
                country: None,
            } => {
                let point = GeoPoint::new(*lat, *lon).map_err(|e| e.0.to_string())?;
                let label = label
                    .as_deref()
                    .map(str::trim)
                    .filter(|l| !l.is_empty())
                    .map(|l| l.chars().take(100).collect())
                    .unwrap_or_else(|| format!("{lat:.4}, {lon:.4}"));
                Ok(Location { label, point })
            }
            LocationInput {
                lat: None,
                lon: None,
                label: None,
                airport: Some(airport),
                city: None,
                country: None,
            } => places
                .airport(airport)
                .map(|a| Location {
                    label: format!("{} ({})", a.name, a.iata),
                    point: a.point,
                })
                .ok_or_else(|| format!("unknown airport code {}", clip(airport))),
            LocationInput {
                lat: None,
                lon: None,
                label: None,
                airport: None,
                city: Some(city),
                country,
            } => {
                let FlightPlace::City(_, country) = city_place(city, country.as_deref())? else {
                    return Err("not a city".into());
                };
                let airports = places.city_airports(city, Some(&country));
                // The city centre is approximated by the mean position of its airports.
                let count = airports.len().max(1) as f64;
                let lat = airports.iter().map(|a| a.point.lat()).sum::<f64>() / count;
                let lon = airports.iter().map(|a| a.point.lon()).sum::<f64>() / count;
                let point = GeoPoint::new(lat, lon).map_err(|e| e.0.to_string())?;
                let name = airports
                    .first()
                    .map(|a| a.city.clone())
                    .unwrap_or_else(|| city.trim().to_string());
                Ok(Location {
                    label: format!("{name}, {country}"),
                    point,
                })
            }
            _ => Err(
                "give lat and lon (with an optional label), or an airport, or a city with an optional country"
                    .into(),
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_row_parses() {
        let airports = include_str!("../data/airports.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        assert_eq!(Gazetteer::get().airport_count(), airports);
        let countries = include_str!("../data/countries.tsv")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .count();
        assert_eq!(Gazetteer::get().countries.len(), countries);
        assert!(airports > 3000);
    }

    #[test]
    fn places_resolve_from_codes_names_and_regions() {
        let text = |t: &str| FlightPlace::resolve(&FlightPlaceInput::Text(t.into()));
        assert_eq!(text("BOS"), Ok(FlightPlace::Airport("BOS".into())));
        assert_eq!(text("Europe"), Ok(FlightPlace::Region(Region::Europe)));
        assert_eq!(
            text("north_america"),
            Ok(FlightPlace::Region(Region::NorthAmerica))
        );
        assert_eq!(
            text("paris, fr"),
            Ok(FlightPlace::City("paris".into(), "FR".into()))
        );
        assert!(text("ZZZ")
            .unwrap_err()
            .contains("unknown airport code ZZZ"));
        assert!(text("Atlantis").is_err());
        let europe = FlightPlace::Region(Region::Europe);
        assert!(europe.contains("CDG") && europe.contains("LHR") && !europe.contains("BOS"));
        let paris = text("Paris, FR").unwrap();
        assert!(paris.contains("CDG") && paris.contains("ORY") && !paris.contains("LHR"));
    }

    #[test]
    fn distances_and_radius_units() {
        let boston = Gazetteer::get().airport("BOS").unwrap().point;
        let new_york = Gazetteer::get().airport("JFK").unwrap().point;
        let km = boston.distance_km(&new_york);
        assert!((295.0..305.0).contains(&km), "{km}");
        let radius = Radius::new(50.0, DistanceUnit::Mi).unwrap();
        assert!((radius.km() - 80.467).abs() < 0.01);
        assert!(Radius::new(0.0, DistanceUnit::Km).is_err());
        assert!(Radius::new(f64::NAN, DistanceUnit::Km).is_err());
        assert!(GeoPoint::new(91.0, 0.0).is_err());
    }

    #[test]
    fn locations_resolve_from_points_cities_and_airports() {
        let location = Location::resolve(&LocationInput {
            city: Some("Boston".into()),
            country: Some("US".into()),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(location.label, "Boston, US");
        let airport = Location::resolve(&LocationInput {
            airport: Some("lhr".into()),
            ..Default::default()
        })
        .unwrap();
        assert!(airport.label.contains("LHR"));
        assert!(Location::resolve(&LocationInput {
            lat: Some(10.0),
            lon: Some(200.0),
            ..Default::default()
        })
        .is_err());
        assert!(Location::resolve(&LocationInput {
            lat: Some(10.0),
            ..Default::default()
        })
        .is_err());
    }
}
