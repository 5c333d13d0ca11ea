// The deals feed: recent listings from every source, with category facets, sorting, search and
// pages; each deal can be watched or reported.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../lib/api";
import { navigate } from "../lib/route";
import { dateTime, money, type Money, externalHref } from "../lib/format";
import { label } from "../lib/vocabulary";
import { Badge, Button, Field, Loaded, PageTitle, Pager, ScoreBadge, SelectField, messageOf, useCursorPages, useDebounced } from "../components";

interface Deal {
  id: string;
  title: string;
  url: string;
  source: string;
  price: Money;
  was_price: Money | null;
  discount_percent: number | null;
  category: string | null;
  condition: string | null;
  score: number | null;
  seen_at: string;
}

interface DealFeed {
  items: Deal[];
  total: number;
  next_cursor: string | null;
  categories: { category: string; count: number }[];
}

export function DealsPage({ query }: { query: URLSearchParams }) {
  const [typed, setTyped] = useState(query.get("q") ?? "");
  const search = useDebounced(typed);
  const [category, setCategory] = useState(query.get("category") ?? "");
  const [sort, setSort] = useState("date");
  const [days, setDays] = useState("7");
  const pages = useCursorPages([search, category, sort, days]);
  const params = { q: search.trim(), category, sort, days, limit: 24, cursor: pages.cursor };
  const feed = useQuery({
    queryKey: ["deals", params],
    queryFn: () => api<DealFeed>("GET", `/api/v1/deals${queryString(params)}`),
    placeholderData: (previous) => previous,
  });
  return (
    <>
      <PageTitle>Deals</PageTitle>
      <div className="mb-2 grid grid-cols-1 gap-x-4 sm:grid-cols-3">
        <Field label="Search deals" name="deal-search" type="search" value={typed} onChange={setTyped} />
        <SelectField
          label="Sort by"
          name="deal-sort"
          value={sort}
          onChange={setSort}
          options={[["date", "Newest"], ["price", "Lowest price"], ["score", "Best score"], ["discount", "Biggest discount"]]}
        />
        <SelectField label="Seen in the last" name="deal-days" value={days} onChange={setDays} options={[["1", "day"], ["7", "7 days"], ["30", "30 days"]]} />
      </div>
      {feed.data && (
        <div role="group" aria-label="Category" className="mb-4 flex flex-wrap gap-1">
          <button type="button" aria-pressed={category === ""} onClick={() => setCategory("")} className={CHIP}>
            All
          </button>
          {feed.data.categories.map((facet) => (
            <button
              key={facet.category}
              type="button"
              aria-pressed={category === facet.category}
              onClick={() => setCategory(facet.category)}
              className={CHIP}
            >
              {label(facet.category)} ({facet.count})
            </button>
          ))}
        </div>
      )}
      <Loaded query={feed} what="deals" empty={(data) => data.items.length === 0} emptyText="No deal matches. Try another search or a longer period.">
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600" aria-live="polite">
              {data.total} deals
            </p>
            <ul className="grid grid-cols-1 gap-3 sm:grid-cols-2 lg:grid-cols-3">
              {data.items.map((deal) => (
                <DealCard key={deal.id} deal={deal} />
              ))}
            </ul>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}

const CHIP = "rounded-full border border-slate-400 bg-white px-3 py-1 text-sm aria-pressed:border-blue-700 aria-pressed:bg-blue-700 aria-pressed:text-white";

export function DealCard({ deal }: { deal: Deal }) {
  const client = useQueryClient();
  const [reason, setReason] = useState("");
  const watch = useMutation({
    mutationFn: () => api<{ id: string }>("POST", "/api/v1/watchlist/items", { listing_id: deal.id, trigger: { kind: "any_drop" } }),
    onSuccess: (watch) => {
      client.invalidateQueries({ queryKey: ["watchlist"] });
      navigate(`/watchlist/${watch.id}`);
    },
  });
  const report = useMutation({ mutationFn: () => api("POST", `/api/v1/deals/${deal.id}/reports`, { reason }) });
  return (
    <li className="flex flex-col rounded-lg bg-white p-4 shadow">
      <a href={externalHref(deal.url)} target="_blank" rel="noreferrer" className="font-medium text-blue-700 underline" data-testid="deal-title">
        {deal.title}
      </a>
      <p className="mt-1 flex flex-wrap items-center gap-2">
        <span className="text-lg font-semibold">{money(deal.price)}</span>
        {deal.was_price && <s className="text-sm text-slate-600">{money(deal.was_price)}</s>}
        {deal.discount_percent != null && <Badge tone="green">−{deal.discount_percent}%</Badge>}
        <ScoreBadge score={deal.score} />
      </p>
      <p className="text-xs text-slate-600">
        {deal.source} · {deal.category ? label(deal.category) : "uncategorised"}
        {deal.condition ? ` · ${label(deal.condition)}` : ""} · {dateTime(deal.seen_at)}
      </p>
      <div className="mt-auto flex flex-wrap items-end gap-2 pt-3">
        <Button busy={watch.isPending} onClick={() => watch.mutate()} label={`Watch ${deal.title}`}>
          Watch
        </Button>
        <label className="sr-only" htmlFor={`report-${deal.id}`}>
          Report {deal.title}
        </label>
        <select
          id={`report-${deal.id}`}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
          className="rounded border border-slate-400 bg-white px-2 py-1 text-sm"
        >
          <option value="">Report…</option>
          <option value="wrong_price">Wrong price</option>
          <option value="expired">Expired</option>
          <option value="spam">Spam</option>
        </select>
        {reason && (
          <Button kind="secondary" busy={report.isPending} onClick={() => report.mutate()}>
            Send report
          </Button>
        )}
      </div>
      {watch.isError && <p className="text-sm text-red-700">{messageOf(watch.error)}</p>}
      {report.isError && <p className="text-sm text-red-700">{messageOf(report.error)}</p>}
      {report.isSuccess && <p role="status" className="text-sm text-green-800">Thanks, the report was sent.</p>}
    </li>
  );
}
