import { describe, expect, it } from "vitest";
import { draftOf, emptyDraft, keywordsToText, placeText, requestOf, type Rule } from "./rules";

const stored: Rule = {
  id: "r1",
  name: "Flights to Europe",
  query: { all_of: ["cheap"], any_of: [["paris", "rome"]], none_of: ["bus"] },
  query_text: "cheap (paris OR rome) -bus",
  min_price: null,
  max_price: { amount: "400.00", currency: "USD" },
  categories: ["flights"],
  conditions: [],
  location: null,
  radius: null,
  min_score: 60,
  sources: ["demo"],
  flight: {
    origins: [{ kind: "airport", code: "BOS" }],
    destinations: [{ kind: "region", code: "europe" }, { kind: "city", code: ["paris", "FR"] }],
    depart: { from: "2027-03-01", to: "2027-03-31" },
    return_window: null,
    trip_type: "round_trip",
    max_stops: 1,
    cabins: ["economy"],
  },
  channels: null,
  frequency: "immediate",
  enabled: true,
  cooldown_minutes: 120,
  created_at: "2026-12-01T00:00:00Z",
  updated_at: "2026-12-01T00:00:00Z",
  last_triggered_at: null,
  version: 1,
};

describe("rule form model", () => {
  it("writes keyword chips as the boolean query they mean", () => {
    expect(keywordsToText(["gaming", "rtx 4070"], ["pc", "desktop"], ["mac"])).toBe('gaming "rtx 4070" (pc OR desktop) -mac');
    expect(keywordsToText([], ["tv"], [])).toBe("tv");
    expect(keywordsToText([], [], [])).toBe("");
  });

  it("reads flight places back as the text the API accepts", () => {
    expect(placeText({ kind: "airport", code: "BOS" })).toBe("BOS");
    expect(placeText({ kind: "city", code: ["paris", "FR"] })).toBe("paris, FR");
    expect(placeText({ kind: "region", code: "north_america" })).toBe("north america");
  });

  it("round-trips a stored rule through the form without losing criteria", () => {
    const body = requestOf(draftOf(stored));
    expect(body).toMatchObject({
      name: "Flights to Europe",
      query: { all_of: ["cheap"], any_of: [["paris", "rome"]], none_of: ["bus"] },
      min_price: null,
      max_price: { amount: "400.00", currency: "USD" },
      categories: ["flights"],
      min_score: 60,
      sources: ["demo"],
      channels: null,
      frequency: "immediate",
      cooldown_minutes: 120,
      location: null,
      radius: null,
    });
    expect(body.flight).toEqual({
      origins: ["BOS"],
      destinations: ["europe", "paris, FR"],
      depart: { from: "2027-03-01", to: "2027-03-31" },
      return_window: null,
      trip_type: "round_trip",
      max_stops: 1,
      cabins: ["economy"],
    });
  });

  it("sends clears for criteria the user emptied, and a one-sided date window as one day", () => {
    const draft = { ...emptyDraft(), name: " TV ", queryMode: "text" as const, queryText: "oled -refurbished", isFlight: true, origins: ["BOS"], departFrom: "2027-01-05" };
    const body = requestOf(draft);
    expect(body.name).toBe("TV");
    expect(body.query).toBe("oled -refurbished");
    expect(body.min_price).toBeNull();
    expect(body.min_score).toBeNull();
    expect((body.flight as { depart: unknown }).depart).toEqual({ from: "2027-01-05", to: "2027-01-05" });
  });

  it("keeps a rule's own channels and a location with its radius", () => {
    const draft = { ...emptyDraft("EUR"), name: "Bike", useDefaultChannels: false, channels: ["email", "push"], locationKind: "city" as const, city: "Berlin", country: "DE", radius: "25", radiusUnit: "km" as const, minPrice: "100" };
    const body = requestOf(draft);
    expect(body.channels).toEqual(["email", "push"]);
    expect(body.location).toEqual({ city: "Berlin", country: "DE" });
    expect(body.radius).toEqual({ value: 25, unit: "km" });
    expect(body.min_price).toEqual({ amount: "100", currency: "EUR" });
  });

  it("opens a query with several OR groups in the text box, which is the only exact way to edit it", () => {
    const complex = { ...stored, query: { all_of: [], any_of: [["a", "b"], ["c", "d"]], none_of: [] }, query_text: "(a OR b) (c OR d)" };
    const draft = draftOf(complex);
    expect(draft.queryMode).toBe("text");
    expect(requestOf(draft).query).toBe("(a OR b) (c OR d)");
  });
});
