import { afterEach, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider, useQuery } from "@tanstack/react-query";
import { priceChart, WatchSettings, type WatchView } from "./watchlist";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

const fired: WatchView = {
  id: "w-1",
  product: null,
  listing_id: null,
  label: "Espresso",
  trigger: { kind: "target_price", price: { amount: "249.00", currency: "EUR" } },
  trigger_description: "when the price is 249.00 EUR or less",
  rearm: { kind: "when_condition_clears" },
  rearm_description: "fires once, then re-arms when the condition no longer holds",
  check_interval_minutes: 720,
  price_when_watched: null,
  armed: false,
  enabled: true,
  last_fired_at: "2026-12-05T10:00:00Z",
  created_at: "2026-12-01T10:00:00Z",
  version: 3,
};

/** The watch page's own wiring: settings render the cached watch, which their saves replace. */
function Settings({ client }: { client: QueryClient }) {
  const watch = useQuery({ queryKey: ["watch", fired.id], queryFn: () => fired, initialData: fired }, client);
  return <WatchSettings watch={watch.data} />;
}

it("re-arms a fired watch at once with armed: true", async () => {
  const sent: { method?: string; path: string; body: unknown }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (path: string, init?: RequestInit) => {
    sent.push({ method: init?.method, path, body: JSON.parse(String(init?.body)) });
    return new Response(JSON.stringify({ ...fired, armed: true, version: 4 }), { status: 200, headers: { "content-type": "application/json" } });
  }));
  const client = new QueryClient();
  render(
    <QueryClientProvider client={client}>
      <Settings client={client} />
    </QueryClientProvider>,
  );
  expect(screen.getByText(/waiting to re-arm/)).toBeTruthy();
  fireEvent.click(screen.getByRole("button", { name: "Re-arm now" }));
  await screen.findByText(/Re-armed: the next price that meets the trigger alerts you/);
  expect(sent).toEqual([{ method: "PATCH", path: "/api/v1/watchlist/items/w-1", body: { armed: true } }]);
  expect(screen.queryByRole("button", { name: "Re-arm now" })).toBeNull();
});

it("offers no re-arm for an armed watch", () => {
  render(
    <QueryClientProvider client={new QueryClient()}>
      <WatchSettings watch={{ ...fired, armed: true }} />
    </QueryClientProvider>,
  );
  expect(screen.getByText(/Armed\./)).toBeTruthy();
  expect(screen.queryByRole("button", { name: "Re-arm now" })).toBeNull();
});

it("draws the price as steps with the target and the lowest price as flat lines", () => {
  const points = [
    { at: "2026-12-01T00:00:00Z", price: { amount: "279.00", currency: "EUR" }, in_stock: true },
    { at: "2026-12-02T00:00:00Z", price: { amount: "259.00", currency: "EUR" }, in_stock: true },
  ];
  const chart = priceChart(points, 249, 259);
  expect(chart.times).toEqual([1796083200, 1796083200 + 86_400]);
  expect(chart.series.map((s) => [s.label, s.values])).toEqual([
    ["Price", [279, 259]],
    ["Target", [249, 249]],
    ["Lowest recorded", [259, 259]],
  ]);
  expect(chart.series[0].stepped).toBe(true);
  expect(priceChart(points, null, null).series.map((s) => s.label)).toEqual(["Price"]);
});
