// Tracked products by domain health: every host the scraper visits with its check results
// (GET /api/v1/ingest/hosts), worst first, and one domain's products with their last check
// (`#/admin/products?domain=…`, GET /api/v1/admin/products?domain=…).
import { useMemo, useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { navigate } from "../../lib/route";
import { dateTime, money, relative, type Money, externalHref } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Field, Loaded, PageTitle, Pager, SelectField, useCursorPages } from "../../components";
import { Cell, DetailPanel, Facts, Table, count, percent, toneOf } from "./shared";

interface HostHealth {
  host: string;
  /** Checks per result since the host was first seen. */
  results: Record<string, number>;
  last_checked_at: string | null;
  last_failure_at: string | null;
  last_failure: string | null;
  last_failure_reason: string | null;
}

interface AdminProduct {
  id: string;
  url: string;
  title: string | null;
  current_price: Money | null;
  in_stock: boolean | null;
  last_checked_at: string | null;
  next_check_at: string | null;
  last_result: string | null;
  last_reason: string | null;
  failures_in_a_row: number;
}

interface AdminProductList {
  domain: string;
  health: HostHealth | null;
  items: AdminProduct[];
  next_cursor: string | null;
}

/** Results that reached the page and learnt its state (CheckResult::succeeded). */
const SUCCEEDED = new Set(["ok", "not_modified", "out_of_stock"]);

interface Tally {
  total: number;
  failed: number;
  /** Failed share in percent, null before the first check. */
  failedPercent: number | null;
  health: "unchecked" | "healthy" | "degraded" | "failing";
  lastCheckFailed: boolean;
}

/** Milliseconds of an RFC 3339 time (0 for none): texts do not compare, their fractions vary. */
function time(iso: string | null): number {
  return iso ? Date.parse(iso) || 0 : 0;
}

function tally(host: HostHealth): Tally {
  const entries = Object.entries(host.results);
  const total = entries.reduce((sum, [, n]) => sum + n, 0);
  const failed = entries.filter(([result]) => !SUCCEEDED.has(result)).reduce((sum, [, n]) => sum + n, 0);
  const share = total > 0 ? (failed * 100) / total : null;
  const health = share == null ? "unchecked" : share >= 50 ? "failing" : share >= 10 ? "degraded" : "healthy";
  const lastCheckFailed =
    host.last_failure_at != null && host.last_checked_at != null && time(host.last_failure_at) >= time(host.last_checked_at);
  return { total, failed, failedPercent: share, health, lastCheckFailed };
}

const HEALTH_TONES = { unchecked: "slate", healthy: "green", degraded: "amber", failing: "red" } as const;

function HealthBadges({ tally }: { tally: Tally }) {
  return (
    <span className="flex flex-wrap gap-1">
      <Badge tone={HEALTH_TONES[tally.health]}>{tally.health}</Badge>
      {tally.lastCheckFailed && <Badge tone="red">last check failed</Badge>}
    </span>
  );
}

function failuresText(host: HostHealth): string {
  const failures = Object.entries(host.results).filter(([result, n]) => !SUCCEEDED.has(result) && n > 0);
  return failures.length ? failures.map(([result, n]) => `${label(result)} ${count(n)}`).join(" · ") : "none";
}

function domainHref(host: string): string {
  return `#/admin/products?domain=${encodeURIComponent(host)}`;
}

export function ProductsView({ domain }: { domain: string | null }) {
  return (
    <>
      <PageTitle>Products by domain</PageTitle>
      {domain && <DomainProducts key={domain} domain={domain} />}
      <HostList selected={domain} />
    </>
  );
}

type Sort = "failing" | "checks" | "recent-failure" | "host";

function HostList({ selected }: { selected: string | null }) {
  const [filter, setFilter] = useState("");
  const [sort, setSort] = useState<Sort>("failing");
  const [open, setOpen] = useState("");
  const hosts = useQuery({
    queryKey: ["admin", "hosts"],
    queryFn: () => api<{ items: HostHealth[] }>("GET", "/api/v1/ingest/hosts"),
    refetchInterval: 60_000,
  });
  const openDomain = (event: FormEvent) => {
    event.preventDefault();
    const host = open.trim().toLowerCase();
    if (host) navigate(`/admin/products?domain=${encodeURIComponent(host)}`);
  };
  return (
    <section aria-label="Domains">
      <div className="mb-2 grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-3">
        <Field label="Filter domains" name="hosts-filter" type="search" value={filter} onChange={setFilter} />
        <SelectField
          label="Sort by"
          name="hosts-sort"
          value={sort}
          onChange={(v) => setSort(v as Sort)}
          options={[
            ["failing", "Highest failure share first"],
            ["recent-failure", "Most recent failure first"],
            ["checks", "Most checks first"],
            ["host", "Domain name"],
          ]}
        />
        <form onSubmit={openDomain} className="flex items-end gap-2">
          <div className="min-w-0 flex-1">
            <Field label="Open a domain" name="hosts-open" value={open} onChange={setOpen} placeholder="shop.example.com" />
          </div>
          <div className="mb-4">
            <Button type="submit">Open</Button>
          </div>
        </form>
      </div>
      <Loaded query={hosts} what="the domains" empty={(data) => data.items.length === 0} emptyText="No domain has been checked yet.">
        {(data) => <HostTable hosts={data.items} filter={filter} sort={sort} selected={selected} />}
      </Loaded>
    </section>
  );
}

function HostTable({ hosts, filter, sort, selected }: { hosts: HostHealth[]; filter: string; sort: Sort; selected: string | null }) {
  const rows = useMemo(() => {
    const needle = filter.trim().toLowerCase();
    const tallied = hosts.filter((h) => h.host.includes(needle)).map((host) => ({ host, tally: tally(host) }));
    const by: Record<Sort, (a: (typeof tallied)[number], b: (typeof tallied)[number]) => number> = {
      failing: (a, b) => (b.tally.failedPercent ?? -1) - (a.tally.failedPercent ?? -1) || b.tally.failed - a.tally.failed,
      "recent-failure": (a, b) => time(b.host.last_failure_at) - time(a.host.last_failure_at),
      checks: (a, b) => b.tally.total - a.tally.total,
      host: () => 0,
    };
    return tallied.sort((a, b) => by[sort](a, b) || a.host.host.localeCompare(b.host.host));
  }, [hosts, filter, sort]);
  if (rows.length === 0) return <p className="text-slate-600">No domain matches “{filter}”.</p>;
  return (
    <>
      <p className="mb-2 text-sm text-slate-600">
        {rows.length} of {hosts.length} domains. Counts are every check since the domain was first seen.
      </p>
      <Table caption="Domains and their scrape health" head={["Domain", "Health", "Checks", "Failed", "Failures by result", "Last checked", "Last failure"]}>
        {rows.map(({ host, tally }) => (
          <tr key={host.host} className={host.host === selected ? "bg-blue-50" : undefined}>
            <Cell>
              <a href={domainHref(host.host)} aria-current={host.host === selected ? "true" : undefined} className="font-medium break-all text-blue-700 underline">
                {host.host}
              </a>
            </Cell>
            <Cell>
              <HealthBadges tally={tally} />
            </Cell>
            <Cell>{count(tally.total)}</Cell>
            <Cell className="whitespace-nowrap">{percent(tally.failedPercent)}</Cell>
            <Cell className="text-xs">{failuresText(host)}</Cell>
            <Cell className="whitespace-nowrap">
              <span title={dateTime(host.last_checked_at)}>{relative(host.last_checked_at)}</span>
            </Cell>
            <Cell>
              {host.last_failure ? (
                <>
                  <Badge tone={toneOf(host.last_failure)}>{label(host.last_failure)}</Badge>{" "}
                  <span className="text-xs" title={dateTime(host.last_failure_at)}>
                    {relative(host.last_failure_at)}
                  </span>
                  {host.last_failure_reason && <span className="mt-1 block max-w-xs text-xs break-words text-slate-700">{host.last_failure_reason}</span>}
                </>
              ) : (
                "none"
              )}
            </Cell>
          </tr>
        ))}
      </Table>
    </>
  );
}

function DomainProducts({ domain }: { domain: string }) {
  const pages = useCursorPages(domain);
  const params = { domain, limit: 25, cursor: pages.cursor };
  const products = useQuery({
    queryKey: ["admin", "products", params],
    queryFn: () => api<AdminProductList>("GET", `/api/v1/admin/products${queryString(params)}`),
  });
  return (
    <DetailPanel title={`Products on ${domain}`} closeHref="#/admin/products" closeText="Back to all domains">
      <Loaded query={products} what={`the products on ${domain}`}>
        {(data) => (
          <>
            {data.health ? (
              <DomainHealth health={data.health} />
            ) : (
              <p className="mb-3 text-sm text-slate-600">This domain has never been checked.</p>
            )}
            {data.items.length === 0 ? (
              <p className="text-slate-600">{pages.page > 1 ? "No more products." : "No product is tracked on this domain."}</p>
            ) : (
              <Table caption={`Tracked products on ${domain}, page ${pages.page}`} head={["Product", "Price", "In stock", "Last check", "Failures in a row", "Next check"]}>
                {data.items.map((product) => (
                  <tr key={product.id}>
                    <Cell>
                      <a href={externalHref(product.url)} target="_blank" rel="noreferrer" className="break-all text-blue-700 underline">
                        {product.title || product.url}
                      </a>
                      {product.title && <span className="block text-xs break-all text-slate-600">{product.url}</span>}
                    </Cell>
                    <Cell className="whitespace-nowrap">{money(product.current_price)}</Cell>
                    <Cell>{product.in_stock == null ? "—" : product.in_stock ? "yes" : "no"}</Cell>
                    <Cell>
                      {product.last_result ? <Badge tone={toneOf(product.last_result)}>{label(product.last_result)}</Badge> : <Badge>not checked</Badge>}{" "}
                      <span className="text-xs whitespace-nowrap" title={dateTime(product.last_checked_at)}>
                        {relative(product.last_checked_at)}
                      </span>
                      {product.last_reason && <span className="mt-1 block max-w-xs text-xs break-words text-slate-700">{product.last_reason}</span>}
                    </Cell>
                    <Cell>{product.failures_in_a_row > 0 ? <Badge tone="red">{product.failures_in_a_row}</Badge> : "0"}</Cell>
                    <Cell className="whitespace-nowrap">
                      <span title={dateTime(product.next_check_at)}>{product.next_check_at ? `due ${relative(product.next_check_at)}` : "as soon as possible"}</span>
                    </Cell>
                  </tr>
                ))}
              </Table>
            )}
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </DetailPanel>
  );
}

function DomainHealth({ health }: { health: HostHealth }) {
  const summary = tally(health);
  return (
    <Facts
      items={[
        ["Health", <HealthBadges tally={summary} />],
        ["Checks", `${count(summary.total)} (${percent(summary.failedPercent)} failed)`],
        ["Failures by result", failuresText(health)],
        ["Last checked", dateTime(health.last_checked_at)],
        [
          "Last failure",
          health.last_failure
            ? `${label(health.last_failure)} ${relative(health.last_failure_at)}${health.last_failure_reason ? `: ${health.last_failure_reason}` : ""}`
            : "none",
        ],
      ]}
    />
  );
}
