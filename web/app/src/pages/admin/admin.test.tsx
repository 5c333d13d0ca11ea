import { afterEach, describe, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import AdminPage from "../admin";
import { apiRaw } from "../../lib/api";

// uPlot needs a real layout; the chart's own table stands in for it here.
vi.mock("../../charts/TimeChart", () => ({
  default: (props: { title: string; times: number[] }) => (
    <p data-testid="chart">
      {props.title}: {props.times.length} points
    </p>
  ),
}));

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": "application/json" } });
}

const USER = {
  id: "0193a1b2-0000-7000-8000-000000000002",
  email: "buyer@example.com",
  display_name: "Buyer",
  role: "user",
  status: "active",
  plan: "pro",
  email_verified_at: "2026-11-01T10:00:00Z",
  created_at: "2026-11-01T09:00:00Z",
  timezone: "Europe/Paris",
};

const REPORT = {
  id: "0193a1b2-0000-7000-8000-000000000001:0193a1b2-0000-7000-8000-000000000002",
  listing_id: "0193a1b2-0000-7000-8000-000000000001",
  reporter_id: USER.id,
  reason: "wrong_price",
  note: "Checkout says $799.",
  title: "OLED TV 65 inch",
  url: "https://deals.example.com/oled-tv",
  price: "79.99 USD",
  status: "open",
  resolution: null,
  admin_note: null,
  created_at: "2026-11-25T10:00:00Z",
  updated_at: "2026-11-25T10:00:00Z",
  closed_by: null,
};

/** Answers by path, from the examples in the API's schema. */
function answer(path: string, init?: RequestInit): Response {
  const url = new URL(path, "http://localhost");
  switch (decodeURIComponent(url.pathname)) {
    case "/api/v1/admin/stats":
      return json({
        generated_at: "2026-11-25T12:00:00Z",
        users: { total: 120, verified: 100, suspended: 1, new_7d: 9, new_30d: 31, activated_7d: 6, activated_30d: 22 },
        rules: 340,
        watches: 512,
        alerts: { sent_24h: 870, failed_24h: 3, sent_24h_by_channel: { email: 600, discord: 270 } },
        revenue: { mrr: [], subscriptions_by_plan: {}, months: [] },
        series: {
          signups: [{ day: "2026-11-24", count: 1 }, { day: "2026-11-25", count: 2 }],
          alerts_sent: [{ day: "2026-11-24", count: 10 }, { day: "2026-11-25", count: 12 }],
          alerts_failed: [{ day: "2026-11-25", count: 1 }],
        },
      });
    case "/api/v1/admin/billing":
      return json({
        mrr: [{ amount: "90.00", currency: "USD" }],
        subscriptions_by_plan: { pro: 10 },
        months: [
          { month: "2026-10", revenue: [], invoices: 0 },
          { month: "2026-11", revenue: [{ amount: "90.00", currency: "USD" }], invoices: 10 },
        ],
      });
    case "/api/v1/admin/system":
      return json({
        deliveries: { depth: 3, status: "ok" },
        dead_letters: { depth: null, status: "unavailable" },
        jobs: [{ job: "scrape", last_run_at: "2026-11-25T08:00:00Z", last_error_at: null, runs_2d: 1440, errors_2d: 2, runs_total: 90210 }],
        suppressed: { bounce: 4, complaint: 1 },
      });
    case "/api/v1/admin/analytics/behaviour":
      return json({
        weeks: 2,
        activity: [
          { week: "2026-11-16", signups: 20, activations: 11, alerts_sent: 300, clicks: 30 },
          { week: "2026-11-23", signups: 12, activations: 7, alerts_sent: 340, clicks: 41 },
        ],
        cohorts: [
          { cohort: "2026-11-16", signups: 20, activated: 11, activation_percent: 55.0, retention: [{ week_offset: 0, active: 18, percent: 90.0 }, { week_offset: 1, active: 9, percent: 45.0 }] },
          { cohort: "2026-11-23", signups: 12, activated: 7, activation_percent: 58.3, retention: [{ week_offset: 0, active: 12, percent: 100.0 }] },
        ],
      });
    case "/api/v1/admin/users":
      return json({ items: [USER], next_cursor: null, total: 120 });
    case `/api/v1/admin/users/${USER.id}`:
      return json({
        user: USER,
        rules: 2,
        watches: 3,
        live_sessions: 1,
        api_keys: 0,
        activated_at: "2026-11-02T09:00:00Z",
        last_active_week: "2026-11-23",
        recent_audit: [{ id: "a1", at: "2026-11-25T10:00:00Z", user_id: USER.id, actor: null, action: "auth.login", ip: "192.0.2.1", detail: {} }],
      });
    case `/api/v1/admin/users/${USER.id}/suspend`:
      return json({ ...USER, status: "suspended" });
    case "/api/v1/admin/subscriptions":
      return json({
        items: [{ user_id: USER.id, email: USER.email, plan: "pro", subscription: "sub_1Q", status: "active", price: "price_pro_month", monthly: { amount: "12.00", currency: "USD" }, period_end: "2026-12-25T00:00:00Z", cancel_at_period_end: false, payment_failed_at: null }],
        next_cursor: null,
        total: 1,
      });
    case `/api/v1/admin/subscriptions/${USER.id}/cancel`:
      return json({ subscription: "sub_1Q", cancel_at_period_end: JSON.parse(String(init?.body)).at_period_end }, 202);
    case "/api/v1/ingest/hosts":
      return json({
        items: [
          { host: "shop.example.com", results: { ok: 90, blocked: 10 }, last_checked_at: "2026-11-25T10:00:00Z", last_failure_at: "2026-11-25T10:00:00Z", last_failure: "blocked", last_failure_reason: "403" },
          { host: "fine.example.com", results: { ok: 10 }, last_checked_at: "2026-11-25T10:00:00Z", last_failure_at: null, last_failure: null, last_failure_reason: null },
        ],
      });
    case "/api/v1/admin/products":
      return json({
        domain: "shop.example.com",
        health: null,
        items: [{ id: "p1", url: "https://shop.example.com/tv", title: "OLED TV 65 inch", current_price: { amount: "899.00", currency: "USD" }, in_stock: true, last_checked_at: "2026-12-04T10:00:00Z", next_check_at: "2026-12-04T11:00:00Z", last_result: "ok", last_reason: null, failures_in_a_row: 0 }],
        next_cursor: null,
      });
    case "/api/v1/admin/deliveries/failed":
      return json({ items: [{ id: "f".repeat(64), user_id: USER.id, channel: "webhook", reason: "HTTP 500", failed_at: "2026-11-25T10:00:00Z", title: "OLED TV" }], next_cursor: null, total: 1 });
    case "/api/v1/admin/deliveries/dead-letters":
      return json({ items: [{ message_id: "m1", receive_count: 5, delivery_id: null, user_id: null, channel: "email", title: null }] });
    case "/api/v1/admin/deliveries/dead-letters/redrive":
      return json({ moved: ["m1"], kept: [] });
    case "/api/v1/admin/reports":
      return json({ items: [REPORT], next_cursor: null, total: 1 });
    case `/api/v1/admin/reports/${REPORT.id}`:
      return json(REPORT);
    case `/api/v1/admin/reports/${REPORT.id}/close`:
      return json({ ...REPORT, status: "closed", resolution: "confirmed" });
    case "/api/v1/admin/subscribers":
      return json({ items: [{ email: "reader@example.com", name: "Ann", status: "confirmed", source: "form", created_at: "2026-11-25T10:00:00Z", confirmed_at: "2026-11-25T10:05:00Z", unsubscribed_at: null }], next_cursor: null, totals: { pending: 12, confirmed: 5400, unsubscribed: 80 } });
    case "/api/v1/admin/subscribers/import":
      return json({ rows: 2, imported: 1, duplicate: 1, invalid: 0, problems: [{ line: 3, result: "duplicate", reason: "already confirmed" }], problems_truncated: false });
    case "/api/v1/admin/audit":
      return json({ items: [{ id: "a1", at: "2026-11-25T10:00:00Z", user_id: USER.id, actor: `admin:${USER.id}`, action: "admin.user.suspend", ip: "192.0.2.1", detail: { reason: "fraud" } }], next_cursor: null });
  }
  return json({ title: "Not Found", status: 404 }, 404);
}

function mount(view: string, query = "") {
  const fetchMock = vi.fn(async (path: string, init?: RequestInit) => answer(path, init));
  vi.stubGlobal("fetch", fetchMock);
  const client = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={client}>
      <AdminPage view={view} query={new URLSearchParams(query)} />
    </QueryClientProvider>,
  );
  return fetchMock;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe("admin console", () => {
  it("marks the current view in the sub-navigation", () => {
    mount("users");
    const nav = screen.getByRole("navigation", { name: "Admin" });
    expect(nav.querySelector('[aria-current="page"]')?.textContent).toBe("Users");
    expect(nav.querySelectorAll("a")).toHaveLength(8);
  });

  it("shows the stats as cards, charts and tables", async () => {
    mount("stats");
    expect(await screen.findByText("870")).toBeTruthy();
    expect(await screen.findByText("Sign-ups per day: 2 points")).toBeTruthy();
    expect(await screen.findAllByText(/90\.00/, { selector: "dd" })).toHaveLength(2);
    expect(await screen.findByText("2 errors")).toBeTruthy();
    expect(await screen.findByText("not available")).toBeTruthy();
    expect(await screen.findByText("Retention by sign-up week")).toBeTruthy();
  });

  it("opens an account and suspends it after asking", async () => {
    const fetchMock = mount("users", `id=${USER.id}`);
    vi.spyOn(window, "confirm").mockReturnValue(true);
    fireEvent.click(await screen.findByRole("button", { name: "Suspend account" }));
    expect(await screen.findByText(/is suspended/)).toBeTruthy();
    const call = fetchMock.mock.calls.find(([path]) => path.endsWith("/suspend"));
    expect(call?.[1]?.method).toBe("POST");
    expect(JSON.parse(String(call?.[1]?.body))).toEqual({});
  });

  it("does nothing when a destructive action is not confirmed", async () => {
    const fetchMock = mount("subscriptions");
    vi.spyOn(window, "confirm").mockReturnValue(false);
    fireEvent.click(await screen.findByRole("button", { name: `Cancel at period end: ${USER.email}` }));
    expect(fetchMock.mock.calls.some(([path]) => path.endsWith("/cancel"))).toBe(false);
  });

  it("lists domains worst first and a domain's products", async () => {
    mount("products", "domain=shop.example.com");
    expect(await screen.findByRole("heading", { name: "Products on shop.example.com" })).toBeTruthy();
    expect(await screen.findByText("last check failed")).toBeTruthy();
    const links = await screen.findAllByRole("link", { name: /example\.com$/ });
    expect(links.map((l) => l.textContent)).toEqual(["shop.example.com", "fine.example.com"]);
  });

  it("redrives dead letters and reports the outcome", async () => {
    mount("deliveries");
    vi.spyOn(window, "confirm").mockReturnValue(true);
    fireEvent.click(await screen.findByRole("button", { name: "Move back to the delivery queue" }));
    expect(await screen.findByText(/1 message was moved back/)).toBeTruthy();
  });

  it("closes a report as confirmed", async () => {
    const fetchMock = mount("reports", `id=${encodeURIComponent(REPORT.id)}`);
    vi.spyOn(window, "confirm").mockReturnValue(true);
    fireEvent.click(await screen.findByRole("button", { name: "Close report" }));
    expect(await screen.findByText(/closed as confirmed/)).toBeTruthy();
    const call = fetchMock.mock.calls.find(([path]) => path.endsWith("/close"));
    expect(JSON.parse(String(call?.[1]?.body))).toEqual({ resolution: "confirmed" });
  });

  it("imports pasted CSV as a raw text/csv body", async () => {
    const fetchMock = mount("subscribers");
    fireEvent.change(await screen.findByLabelText("Or paste rows"), { target: { value: "email,name\nann@example.com,Ann" } });
    fireEvent.click(screen.getByRole("button", { name: "Import" }));
    expect(await screen.findByText(/2 rows read: 1 imported/)).toBeTruthy();
    const call = fetchMock.mock.calls.find(([path]) => path.endsWith("/import"));
    expect(call?.[1]?.body).toBe("email,name\nann@example.com,Ann");
    expect(new Headers(call?.[1]?.headers).get("content-type")).toBe("text/csv");
    expect(globalThis.fetch).toBe(fetchMock);
  });

  it("searches the audit log from the link's query", async () => {
    const fetchMock = mount("audit", `user=${USER.id}`);
    expect(await screen.findByText("admin.user.suspend")).toBeTruthy();
    expect(fetchMock.mock.calls[0][0]).toContain(`user=${USER.id}`);
  });
});

describe("apiRaw", () => {
  it("sends the raw body with its content type", async () => {
    const fetchMock = vi.fn(async (path: string, init?: RequestInit) => answer(path, init));
    vi.stubGlobal("fetch", fetchMock);
    const report = await apiRaw<{ imported: number }>("POST", "/api/v1/admin/subscribers/import", "a@example.com", "text/csv");
    expect(report.imported).toBe(1);
    const init = fetchMock.mock.calls[0][1] as RequestInit;
    expect(init.body).toBe("a@example.com");
    expect((init.headers as Record<string, string>)["content-type"]).toBe("text/csv");
  });
});
