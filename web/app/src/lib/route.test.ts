import { describe, expect, it } from "vitest";
import { routeOf } from "./route";

describe("routeOf", () => {
  it("reads the hash route and its query", () => {
    const route = routeOf({ hash: "#/rules?q=oled%20tv", pathname: "/", search: "" });
    expect(route.path).toBe("/rules");
    expect(route.query.get("q")).toBe("oled tv");
  });
  it("falls back to the path for e-mailed links", () => {
    const route = routeOf({ hash: "", pathname: "/verify-email", search: "?token=a.b" });
    expect(route.path).toBe("/verify-email");
    expect(route.query.get("token")).toBe("a.b");
  });
  it("prefers the hash once the app navigated", () => {
    expect(routeOf({ hash: "#/log-in", pathname: "/verify-email", search: "?token=x" }).path).toBe("/log-in");
  });
  it("is the dashboard at the root", () => {
    expect(routeOf({ hash: "", pathname: "/", search: "" }).path).toBe("/");
  });
});
