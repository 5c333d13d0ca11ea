import { describe, expect, it } from "vitest";
import { discount, externalHref, money, relative } from "./format";

describe("formatting", () => {
  it("computes the discount only for a higher earlier price in the same currency", () => {
    expect(discount({ amount: "75", currency: "USD" }, { amount: "100", currency: "USD" })).toBe(25);
    expect(discount({ amount: "100", currency: "USD" }, { amount: "100", currency: "USD" })).toBeNull();
    expect(discount({ amount: "75", currency: "USD" }, { amount: "100", currency: "EUR" })).toBeNull();
    expect(discount({ amount: "75", currency: "USD" }, null)).toBeNull();
  });

  it("shows money with its currency, and a dash for none", () => {
    expect(money({ amount: "12.50", currency: "EUR" })).toMatch(/12[.,]50/);
    expect(money(null)).toBe("—");
    expect(money({ amount: "3", currency: "NOT-A-CODE" })).toBe("3 NOT-A-CODE");
  });

  it("says how long ago in the largest whole unit", () => {
    const now = Date.parse("2026-12-04T12:00:00Z");
    expect(relative("2026-12-04T11:57:00Z", now)).toMatch(/3 minutes ago/);
    expect(relative("2026-12-02T12:00:00Z", now)).toMatch(/2 days ago/);
    expect(relative(null, now)).toBe("never");
  });
});

describe("externalHref", () => {
  it("keeps http(s) addresses and drops every other scheme", () => {
    expect(externalHref("https://shop.example/p/1?x=1")).toBe("https://shop.example/p/1?x=1");
    expect(externalHref("http://shop.example/")).toBe("http://shop.example/");
    expect(externalHref("javascript:alert(1)")).toBeUndefined();
    expect(externalHref(" JavaScript:alert(1)")).toBeUndefined();
    expect(externalHref("data:text/html,<script>alert(1)</script>")).toBeUndefined();
    expect(externalHref("vbscript:msgbox(1)")).toBeUndefined();
    expect(externalHref("/relative")).toBeUndefined();
    expect(externalHref(null)).toBeUndefined();
  });
});
