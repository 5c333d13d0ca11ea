// The rule form's model: what the form edits, how a stored rule becomes a draft, and how a
// draft becomes the API's request body. Kept apart from the page so it is unit-tested.
import type { Money } from "./format";

export interface FlightPlace {
  kind: "airport" | "city" | "country" | "region";
  code: string | [string, string];
}

export interface Rule {
  id: string;
  name: string;
  query: { all_of: string[]; any_of: string[][]; none_of: string[] };
  query_text: string;
  min_price: Money | null;
  max_price: Money | null;
  categories: string[];
  conditions: string[];
  location: { label: string; lat: number; lon: number } | null;
  radius: { value: number; unit: "km" | "mi" } | null;
  min_score: number | null;
  sources: string[];
  flight: {
    origins: FlightPlace[];
    destinations: FlightPlace[];
    depart: { from: string; to: string } | null;
    return_window: { from: string; to: string } | null;
    trip_type: "one_way" | "round_trip" | null;
    max_stops: number | null;
    cabins: string[];
  } | null;
  channels: string[] | null;
  frequency: string | null;
  enabled: boolean;
  cooldown_minutes: number;
  created_at: string;
  updated_at: string;
  last_triggered_at: string | null;
  version: number;
}

export type LocationKind = "none" | "city" | "airport" | "coordinates";

export interface RuleDraft {
  name: string;
  queryMode: "keywords" | "text";
  queryText: string;
  allOf: string[];
  anyOf: string[];
  noneOf: string[];
  currency: string;
  minPrice: string;
  maxPrice: string;
  categories: string[];
  conditions: string[];
  locationKind: LocationKind;
  city: string;
  country: string;
  airport: string;
  lat: string;
  lon: string;
  locationLabel: string;
  radius: string;
  radiusUnit: "km" | "mi";
  minScore: number;
  sources: string[];
  isFlight: boolean;
  origins: string[];
  destinations: string[];
  departFrom: string;
  departTo: string;
  returnFrom: string;
  returnTo: string;
  tripType: "" | "one_way" | "round_trip";
  maxStops: string;
  cabins: string[];
  useDefaultChannels: boolean;
  channels: string[];
  frequency: string;
  cooldownMinutes: string;
  enabled: boolean;
}

export function emptyDraft(currency = "USD"): RuleDraft {
  return {
    name: "",
    queryMode: "keywords",
    queryText: "",
    allOf: [],
    anyOf: [],
    noneOf: [],
    currency,
    minPrice: "",
    maxPrice: "",
    categories: [],
    conditions: [],
    locationKind: "none",
    city: "",
    country: "",
    airport: "",
    lat: "",
    lon: "",
    locationLabel: "",
    radius: "50",
    radiusUnit: "km",
    minScore: 0,
    sources: [],
    isFlight: false,
    origins: [],
    destinations: [],
    departFrom: "",
    departTo: "",
    returnFrom: "",
    returnTo: "",
    tripType: "",
    maxStops: "",
    cabins: [],
    useDefaultChannels: true,
    channels: ["email"],
    frequency: "",
    cooldownMinutes: "60",
    enabled: true,
  };
}

/** A flight place as the API reads it back from text: `BOS`, `Europe`, `Paris, FR`. */
export function placeText(place: FlightPlace): string {
  if (Array.isArray(place.code)) return `${place.code[0]}, ${place.code[1]}`;
  if (place.kind === "region") return place.code.replace(/_/g, " ");
  return place.code;
}

/** Quotes a term that holds spaces, so it stays one phrase in query text. */
function quoted(term: string): string {
  return /\s/.test(term) ? `"${term}"` : term;
}

/** The boolean query the keyword chips stand for: `a b (c OR d) -e`. */
export function keywordsToText(allOf: string[], anyOf: string[], noneOf: string[]): string {
  const parts = allOf.map(quoted);
  if (anyOf.length === 1) parts.push(quoted(anyOf[0]));
  if (anyOf.length > 1) parts.push(`(${anyOf.map(quoted).join(" OR ")})`);
  parts.push(...noneOf.map((t) => `-${quoted(t)}`));
  return parts.join(" ");
}

export function draftOf(rule: Rule): RuleDraft {
  const base = emptyDraft(rule.max_price?.currency ?? rule.min_price?.currency ?? "USD");
  const simpleAny = rule.query.any_of.length <= 1;
  const location = rule.location;
  return {
    ...base,
    name: rule.name,
    queryMode: simpleAny ? "keywords" : "text",
    queryText: rule.query_text,
    allOf: rule.query.all_of,
    anyOf: rule.query.any_of[0] ?? [],
    noneOf: rule.query.none_of,
    minPrice: rule.min_price?.amount ?? "",
    maxPrice: rule.max_price?.amount ?? "",
    categories: rule.categories,
    conditions: rule.conditions,
    locationKind: location ? "coordinates" : "none",
    lat: location ? String(location.lat) : "",
    lon: location ? String(location.lon) : "",
    locationLabel: location?.label ?? "",
    radius: rule.radius ? String(rule.radius.value) : base.radius,
    radiusUnit: rule.radius?.unit ?? "km",
    minScore: rule.min_score ?? 0,
    sources: rule.sources,
    isFlight: rule.flight !== null,
    origins: rule.flight?.origins.map(placeText) ?? [],
    destinations: rule.flight?.destinations.map(placeText) ?? [],
    departFrom: rule.flight?.depart?.from ?? "",
    departTo: rule.flight?.depart?.to ?? "",
    returnFrom: rule.flight?.return_window?.from ?? "",
    returnTo: rule.flight?.return_window?.to ?? "",
    tripType: rule.flight?.trip_type ?? "",
    maxStops: rule.flight?.max_stops == null ? "" : String(rule.flight.max_stops),
    cabins: rule.flight?.cabins ?? [],
    useDefaultChannels: rule.channels === null,
    channels: rule.channels ?? ["email"],
    frequency: rule.frequency ?? "",
    cooldownMinutes: String(rule.cooldown_minutes),
    enabled: rule.enabled,
  };
}

/** The query as the API takes it: text, or the keyword lists. */
export function queryOf(draft: RuleDraft): string | { all_of: string[]; any_of: string[][]; none_of: string[] } {
  if (draft.queryMode === "text") return draft.queryText;
  return { all_of: draft.allOf, any_of: draft.anyOf.length ? [draft.anyOf] : [], none_of: draft.noneOf };
}

function window(from: string, to: string) {
  return from || to ? { from: from || to, to: to || from } : null;
}

/** The request body for create (every field) or update (every field too: the form shows them
 * all, and `null` clears an optional criterion). The server validates; errors come back per
 * field. */
export function requestOf(draft: RuleDraft): Record<string, unknown> {
  const price = (amount: string) => (amount.trim() ? { amount: amount.trim(), currency: draft.currency } : null);
  const location = (() => {
    switch (draft.locationKind) {
      case "none":
        return null;
      case "city":
        return draft.country.trim() ? { city: draft.city.trim(), country: draft.country.trim() } : { city: draft.city.trim() };
      case "airport":
        return { airport: draft.airport.trim() };
      case "coordinates":
        return { lat: Number(draft.lat), lon: Number(draft.lon) };
    }
  })();
  return {
    name: draft.name.trim(),
    query: queryOf(draft),
    min_price: price(draft.minPrice),
    max_price: price(draft.maxPrice),
    categories: draft.categories,
    conditions: draft.conditions,
    location,
    radius: location ? { value: Number(draft.radius), unit: draft.radiusUnit } : null,
    min_score: draft.minScore > 0 ? draft.minScore : null,
    sources: draft.sources,
    flight: draft.isFlight
      ? {
          origins: draft.origins,
          destinations: draft.destinations,
          depart: window(draft.departFrom, draft.departTo),
          return_window: window(draft.returnFrom, draft.returnTo),
          trip_type: draft.tripType || null,
          max_stops: draft.maxStops === "" ? null : Number(draft.maxStops),
          cabins: draft.cabins,
        }
      : null,
    channels: draft.useDefaultChannels ? null : draft.channels,
    frequency: draft.frequency || null,
    enabled: draft.enabled,
    cooldown_minutes: Number(draft.cooldownMinutes),
  };
}
