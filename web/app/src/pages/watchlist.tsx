// The watchlist: add a product page by URL (the page is read first and what was found is shown
// before saving), items with price, trigger and deal score, and each item's page with the
// price-history chart (target line and all-time low marked), trigger/re-arm editing, check-now
// and removal.
import { lazy, Suspense, useMemo, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiProblem, download, queryString } from "../lib/api";
import { navigate } from "../lib/route";
import { dateTime, money, relative, type Money, externalHref } from "../lib/format";
import {
  Badge,
  Button,
  Field,
  Loaded,
  Notice,
  PageTitle,
  Pager,
  Panel,
  ScoreBadge,
  SelectField,
  fieldError,
  messageOf,
  useCursorPages, submitting
} from "../components";

import type { Series } from "../charts/TimeChart";
const TimeChart = lazy(() => import("../charts/TimeChart"));

export interface ProductView {
  id: string;
  url: string;
  host: string;
  title: string | null;
  current_price: Money | null;
  in_stock: boolean | null;
  last_checked_at: string | null;
}

type Trigger =
  | { kind: "target_price"; price: Money }
  | { kind: "percent_drop"; percent: number }
  | { kind: "any_drop" }
  | { kind: "lowest_in_days"; days: number }
  | { kind: "all_time_low" }
  | { kind: "back_in_stock" };

type Rearm = { kind: "when_condition_clears" } | { kind: "after_cooldown"; minutes: number };

export interface WatchView {
  id: string;
  product: ProductView | null;
  listing_id: string | null;
  label: string | null;
  trigger: Trigger;
  trigger_description: string;
  rearm: Rearm;
  rearm_description: string;
  check_interval_minutes: number;
  price_when_watched: Money | null;
  armed: boolean;
  enabled: boolean;
  last_fired_at: string | null;
  created_at: string;
  version: number;
}

interface WatchList {
  items: WatchView[];
  next_cursor: string | null;
  total: number;
}

interface DealScore {
  score: number;
  confidence: string;
  all_time_low: boolean;
  observations: number;
}

export interface ProductHistory {
  points: { at: string; price: Money; in_stock: boolean }[];
  lowest: Money | null;
  highest: Money | null;
  score: DealScore | null;
  observations: number;
}

/** The price as steps, with the watch's target price and the lowest recorded price (the
 * all-time low when the summary covers the whole history) as flat reference lines. */
export function priceChart(points: ProductHistory["points"], target: number | null, lowest: number | null): { times: number[]; series: Series[] } {
  const times = points.map((p) => Math.floor(new Date(p.at).getTime() / 1000));
  const series: Series[] = [{ label: "Price", values: points.map((p) => Number(p.price.amount)), colour: "#1d4ed8", stepped: true, points: true }];
  if (target !== null) series.push({ label: "Target", values: points.map(() => target), colour: "#15803d", dash: [6, 4] });
  if (lowest !== null) series.push({ label: "Lowest recorded", values: points.map(() => lowest), colour: "#b45309", dash: [2, 3] });
  return { times, series };
}

export interface ProductDetail extends ProductView {
  last_result: string | null;
  last_failure: string | null;
  next_check_at: string | null;
  check_interval_minutes: number;
}

/** The longest range the history API serves (five years): the whole recorded history of any
 * product DealPulse tracks, for the all-time low. */
const ALL_TIME = new Date(Date.now() - 5 * 365 * 86_400_000).toISOString();

function useProductSummary(productId: string | undefined) {
  return useQuery({
    queryKey: ["product-summary", productId],
    enabled: productId !== undefined,
    queryFn: () => api<ProductHistory>("GET", `/api/v1/products/${productId}/history${queryString({ from: ALL_TIME, points: 2 })}`),
  });
}

export function WatchlistPage({ id }: { id: string | null }) {
  if (id === "new") return <AddWatch />;
  if (id) return <WatchDetail id={id} />;
  return <WatchListView />;
}

function WatchListView() {
  const pages = useCursorPages();
  const watches = useQuery({
    queryKey: ["watchlist", pages.cursor],
    queryFn: () => api<WatchList>("GET", `/api/v1/watchlist${queryString({ limit: 20, cursor: pages.cursor })}`),
  });
  return (
    <>
      <PageTitle
        actions={
          <a href="#/watchlist/new" className="rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800">
            Watch a product
          </a>
        }
      >
        Watchlist
      </PageTitle>
      <Loaded
        query={watches}
        what="your watchlist"
        empty={(data) => data.items.length === 0}
        emptyText={
          <>
            You watch no product yet. <a href="#/watchlist/new" className="text-blue-700 underline">Add one by its URL</a>.
          </>
        }
      >
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">{data.total} watched products</p>
            <ul className="grid grid-cols-1 gap-3 md:grid-cols-2">
              {data.items.map((watch) => (
                <WatchCard key={watch.id} watch={watch} />
              ))}
            </ul>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}

export function watchName(watch: WatchView): string {
  return watch.label || watch.product?.title || watch.product?.url || "Watched product";
}

function WatchCard({ watch }: { watch: WatchView }) {
  const summary = useProductSummary(watch.product?.id);
  return (
    <li className="rounded-lg bg-white p-4 shadow">
      <a href={`#/watchlist/${watch.id}`} className="font-medium text-blue-700 underline">
        {watchName(watch)}
      </a>
      <p className="text-xs text-slate-600">{watch.product?.host}</p>
      <p className="mt-2 flex flex-wrap items-center gap-2">
        <span className="text-xl font-semibold">{money(watch.product?.current_price)}</span>
        {summary.data?.score && <ScoreBadge score={summary.data.score.score} />}
        {summary.data?.score?.all_time_low && <Badge tone="green">all-time low</Badge>}
        {watch.product?.in_stock === false && <Badge tone="red">out of stock</Badge>}
        {!watch.enabled && <Badge>paused</Badge>}
        {watch.enabled && !watch.armed && <Badge tone="amber">fired, waiting to re-arm</Badge>}
      </p>
      <p className="text-sm">Alert {watch.trigger_description}</p>
      <p className="text-xs text-slate-600">
        Lowest recorded {money(summary.data?.lowest)} · checked {relative(watch.product?.last_checked_at)}
      </p>
    </li>
  );
}

interface Preview {
  url: string;
  host: string;
  title: string | null;
  price: Money | null;
  list_price: Money | null;
  in_stock: boolean | null;
  image: string | null;
  /** How the price was found: json_ld, microdata, open_graph, selectors, … */
  extracted_by: string | null;
  already_watching: boolean;
}

interface TriggerDraft {
  kind: Trigger["kind"];
  price: string;
  currency: string;
  percent: string;
  days: string;
}

function triggerDraftOf(trigger: Trigger | null, currency: string): TriggerDraft {
  return {
    kind: trigger?.kind ?? "target_price",
    price: trigger?.kind === "target_price" ? trigger.price.amount : "",
    currency: trigger?.kind === "target_price" ? trigger.price.currency : currency,
    percent: trigger?.kind === "percent_drop" ? String(trigger.percent) : "10",
    days: trigger?.kind === "lowest_in_days" ? String(trigger.days) : "30",
  };
}

function triggerOf(draft: TriggerDraft): Record<string, unknown> {
  switch (draft.kind) {
    case "target_price":
      return { kind: "target_price", price: { amount: draft.price.trim(), currency: draft.currency } };
    case "percent_drop":
      return { kind: "percent_drop", percent: Number(draft.percent) };
    case "lowest_in_days":
      return { kind: "lowest_in_days", days: Number(draft.days) };
    default:
      return { kind: draft.kind };
  }
}

function TriggerFields({ draft, onChange, error }: { draft: TriggerDraft; onChange: (d: TriggerDraft) => void; error?: string }) {
  const set = (key: keyof TriggerDraft) => (value: string) => onChange({ ...draft, [key]: value });
  return (
    <>
      <SelectField
        label="Alert me"
        name="trigger-kind"
        value={draft.kind}
        onChange={set("kind")}
        options={[
          ["target_price", "When the price reaches my target"],
          ["percent_drop", "When it drops by a percentage"],
          ["any_drop", "On any price drop"],
          ["lowest_in_days", "At the lowest price in a number of days"],
          ["all_time_low", "At a new all-time low"],
          ["back_in_stock", "When it is back in stock"],
        ]}
        error={error}
      />
      {draft.kind === "target_price" && (
        <div className="grid grid-cols-2 gap-x-4">
          <Field label="Target price" name="target-price" inputMode="decimal" value={draft.price} onChange={set("price")} />
          <SelectField label="Currency" name="target-currency" value={draft.currency} onChange={set("currency")} options={["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY"]} />
        </div>
      )}
      {draft.kind === "percent_drop" && <Field label="Drop of at least (%)" name="percent" inputMode="numeric" value={draft.percent} onChange={set("percent")} />}
      {draft.kind === "lowest_in_days" && <Field label="Lowest in how many days" name="days" inputMode="numeric" value={draft.days} onChange={set("days")} />}
    </>
  );
}

function RearmFields(props: { kind: string; minutes: string; onKind: (v: string) => void; onMinutes: (v: string) => void; error?: string }) {
  return (
    <>
      <SelectField
        label="After an alert"
        name="rearm"
        value={props.kind}
        onChange={props.onKind}
        options={[
          ["when_condition_clears", "Alert again once the condition clears and holds again"],
          ["after_cooldown", "Alert again after a pause"],
        ]}
        error={props.error}
      />
      {props.kind === "after_cooldown" && <Field label="Pause (minutes)" name="rearm-minutes" inputMode="numeric" value={props.minutes} onChange={props.onMinutes} />}
    </>
  );
}

function AddWatch() {
  const [url, setUrl] = useState("");
  const [preview, setPreview] = useState<Preview | null>(null);
  const [trigger, setTrigger] = useState<TriggerDraft>(triggerDraftOf(null, "USD"));
  const [rearm, setRearm] = useState("when_condition_clears");
  const [rearmMinutes, setRearmMinutes] = useState("1440");
  const [label, setLabel] = useState("");
  const client = useQueryClient();
  const read = useMutation({
    mutationFn: () => api<Preview>("POST", "/api/v1/watchlist/preview", { url: url.trim() }),
    onSuccess: (found) => {
      setPreview(found);
      if (found.price) {
        const target = (Number(found.price.amount) * 0.9).toFixed(2);
        setTrigger({ ...triggerDraftOf(null, found.price.currency), price: target });
      }
    },
  });
  const save = useMutation({
    mutationFn: () =>
      api<WatchView>("POST", "/api/v1/watchlist/items", {
        url: preview?.url ?? url.trim(),
        trigger: triggerOf(trigger),
        rearm: rearm === "after_cooldown" ? { kind: "after_cooldown", minutes: Number(rearmMinutes) } : { kind: "when_condition_clears" },
        label: label.trim() || undefined,
      }),
    onSuccess: (watch) => {
      client.invalidateQueries({ queryKey: ["watchlist"] });
      navigate(`/watchlist/${watch.id}`);
    },
  });
  const readPage = (event: FormEvent) => {
    event.preventDefault();
    setPreview(null);
    save.reset();
    read.mutate();
  };
  return (
    <>
      <PageTitle>Watch a product</PageTitle>
      <Panel title="1. The product page">
        <form onSubmit={readPage} noValidate className="flex flex-wrap items-end gap-2">
          <div className="min-w-64 flex-1">
            <Field label="Product page URL" name="url" type="url" value={url} onChange={setUrl} placeholder="https://shop.example.com/product" error={fieldError(read.error, "url")} required />
          </div>
          <div className="mb-4">
            <Button type="submit" kind="primary" busy={read.isPending}>
              Read the page
            </Button>
          </div>
        </form>
        {read.isError && !fieldError(read.error, "url") && <Notice kind="error">{messageOf(read.error)}</Notice>}
        {preview && (
          <div className="flex gap-4 rounded border border-slate-200 p-3" data-testid="extraction">
            {preview.image && <img src={preview.image} alt="" className="h-20 w-20 object-contain" />}
            <dl className="grid grid-cols-[auto_1fr] gap-x-3 text-sm">
              <dt className="font-medium">Title</dt>
              <dd>{preview.title ?? "not found"}</dd>
              <dt className="font-medium">Price</dt>
              <dd>{money(preview.price)}</dd>
              <dt className="font-medium">List price</dt>
              <dd>{money(preview.list_price)}</dd>
              <dt className="font-medium">In stock</dt>
              <dd>{preview.in_stock == null ? "unknown" : preview.in_stock ? "yes" : "no"}</dd>
              <dt className="font-medium">Shop</dt>
              <dd>{preview.host}</dd>
              <dt className="font-medium">Read from</dt>
              <dd>{preview.extracted_by ? preview.extracted_by.replace(/_/g, " ") : "—"}</dd>
            </dl>
          </div>
        )}
        {preview?.already_watching && <Notice kind="info">You already watch this product; change that item instead.</Notice>}
      </Panel>
      {preview && !preview.already_watching && (
        <Panel title="2. When to alert you">
          <form
            noValidate
            onSubmit={submitting(() => save.mutate())}
          >
            {save.isError && <Notice kind="error">{messageOf(save.error)}</Notice>}
            <TriggerFields draft={trigger} onChange={setTrigger} error={fieldError(save.error, "trigger")} />
            <RearmFields kind={rearm} minutes={rearmMinutes} onKind={setRearm} onMinutes={setRearmMinutes} error={fieldError(save.error, "rearm")} />
            <Field label="Label (optional)" name="label" value={label} onChange={setLabel} error={fieldError(save.error, "label")} />
            <Button type="submit" kind="primary" busy={save.isPending}>
              Start watching
            </Button>
          </form>
        </Panel>
      )}
    </>
  );
}

function WatchDetail({ id }: { id: string }) {
  const watch = useQuery({ queryKey: ["watch", id], queryFn: () => api<WatchView>("GET", `/api/v1/watchlist/items/${id}`) });
  return (
    <Loaded query={watch} what="the watch">
      {(data) => (
        <>
          <PageTitle>{watchName(data)}</PageTitle>
          {data.product && <ProductPanel watch={data} product={data.product} />}
          <WatchSettings watch={data} />
        </>
      )}
    </Loaded>
  );
}

const RANGES: [string, string][] = [
  ["30", "30 days"],
  ["90", "90 days"],
  ["365", "1 year"],
  ["all", "5 years"],
];

function ProductPanel({ watch, product }: { watch: WatchView; product: ProductView }) {
  const [range, setRange] = useState("90");
  const client = useQueryClient();
  const from = range === "all" ? ALL_TIME : new Date(Date.now() - Number(range) * 86_400_000).toISOString();
  const history = useQuery({
    queryKey: ["product-history", product.id, range],
    queryFn: () => api<ProductHistory>("GET", `/api/v1/products/${product.id}/history${queryString({ from, points: 400 })}`),
  });
  const summary = useProductSummary(product.id);
  const detail = useQuery({ queryKey: ["product", product.id], queryFn: () => api<ProductDetail>("GET", `/api/v1/products/${product.id}`) });
  const check = useMutation({
    mutationFn: () => api<{ next_check_at: string }>("POST", `/api/v1/watchlist/items/${watch.id}/check`),
    onSuccess: () => {
      setTimeout(() => {
        client.invalidateQueries({ queryKey: ["product", product.id] });
        client.invalidateQueries({ queryKey: ["product-history", product.id] });
        client.invalidateQueries({ queryKey: ["product-summary", product.id] });
        client.invalidateQueries({ queryKey: ["watch", watch.id] });
      }, 3000);
    },
  });
  const target = watch.trigger.kind === "target_price" ? Number(watch.trigger.price.amount) : null;
  const lowest = summary.data?.lowest ? Number(summary.data.lowest.amount) : null;
  const chart = useMemo(() => priceChart(history.data?.points ?? [], target, lowest), [history.data, target, lowest]);
  const currency = product.current_price?.currency ?? "USD";
  const format = useMemo(() => (value: number) => money({ amount: value.toFixed(2), currency }), [currency]);
  return (
    <Panel
      title="Price history"
      actions={
        <div className="flex flex-wrap gap-2">
          <Button busy={check.isPending} onClick={() => check.mutate()}>
            Check now
          </Button>
          <Button onClick={() => download(`/api/v1/products/${product.id}/history.csv`, `price-history-${product.id}.csv`)}>
            Download CSV
          </Button>
        </div>
      }
    >
      {check.isSuccess && <Notice kind="success">A check is queued; the page refreshes in a few seconds.</Notice>}
      {check.isError &&
        (check.error instanceof ApiProblem && check.error.status === 429 ? (
          <Notice kind="info">
            This page was checked moments ago. You can ask again in {check.error.retryAfter ?? 60} s.
          </Notice>
        ) : (
          <Notice kind="error">{messageOf(check.error)}</Notice>
        ))}
      <p className="mb-2 flex flex-wrap items-center gap-2">
        <span className="text-2xl font-semibold">{money(product.current_price)}</span>
        {summary.data?.score && <ScoreBadge score={summary.data.score.score} />}
        {summary.data?.score?.all_time_low && <Badge tone="green">all-time low</Badge>}
        <span className="text-sm text-slate-700">
          Lowest recorded {money(summary.data?.lowest)} · highest {money(summary.data?.highest)} ·{" "}
          <a href={externalHref(product.url)} target="_blank" rel="noreferrer" className="text-blue-700 underline">
            open the shop page
          </a>
        </span>
      </p>
      {detail.data && (
        <p className="mb-2 text-sm text-slate-700" data-testid="check-health">
          Last checked {relative(detail.data.last_checked_at)} ({detail.data.last_result ?? "not yet"}
          {detail.data.last_failure ? `: ${detail.data.last_failure}` : ""}) · next check {relative(detail.data.next_check_at)}
        </p>
      )}
      <div role="group" aria-label="Chart period" className="mb-2 flex gap-1">
        {RANGES.map(([value, text]) => (
          <button
            key={value}
            type="button"
            aria-pressed={range === value}
            onClick={() => setRange(value)}
            className="rounded border border-slate-400 px-2 py-1 text-sm aria-pressed:bg-blue-700 aria-pressed:text-white"
          >
            {text}
          </button>
        ))}
      </div>
      <Loaded query={history} what="the price history">
        {() => (
          <Suspense fallback={<p role="status">Drawing the chart…</p>}>
            <TimeChart title={`Price of ${watchName(watch)}`} times={chart.times} series={chart.series} format={format} />
          </Suspense>
        )}
      </Loaded>
    </Panel>
  );
}

export function WatchSettings({ watch }: { watch: WatchView }) {
  const currency = watch.product?.current_price?.currency ?? "USD";
  const [trigger, setTrigger] = useState(triggerDraftOf(watch.trigger, currency));
  const [rearm, setRearm] = useState<string>(watch.rearm.kind);
  const [rearmMinutes, setRearmMinutes] = useState(watch.rearm.kind === "after_cooldown" ? String(watch.rearm.minutes) : "1440");
  const [label, setLabel] = useState(watch.label ?? "");
  const [interval, setCheckEvery] = useState(String(watch.check_interval_minutes));
  const [enabled, setEnabled] = useState(watch.enabled);
  const client = useQueryClient();
  const save = useMutation({
    mutationFn: () =>
      api<WatchView>("PATCH", `/api/v1/watchlist/items/${watch.id}`, {
        trigger: triggerOf(trigger),
        rearm: rearm === "after_cooldown" ? { kind: "after_cooldown", minutes: Number(rearmMinutes) } : { kind: "when_condition_clears" },
        label: label.trim() || null,
        check_interval_minutes: Number(interval),
        enabled,
      }),
    onSuccess: (stored) => {
      client.setQueryData(["watch", watch.id], stored);
      client.invalidateQueries({ queryKey: ["watchlist"] });
    },
  });
  const rearmNow = useMutation({
    mutationFn: () => api<WatchView>("PATCH", `/api/v1/watchlist/items/${watch.id}`, { armed: true }),
    onSuccess: (stored) => {
      client.setQueryData(["watch", watch.id], stored);
      client.invalidateQueries({ queryKey: ["watchlist"] });
    },
  });
  const remove = useMutation({
    mutationFn: () => api("DELETE", `/api/v1/watchlist/items/${watch.id}`),
    onSuccess: () => {
      client.invalidateQueries({ queryKey: ["watchlist"] });
      navigate("/watchlist");
    },
  });
  return (
    <Panel title="Alert settings">
      <p className="mb-3 text-sm text-slate-700">
        Now: alert {watch.trigger_description}; {watch.rearm_description}.{" "}
        {watch.armed ? "Armed." : `Fired ${dateTime(watch.last_fired_at)}; waiting to re-arm.`}
      </p>
      {!watch.armed && (
        <div className="mb-3">
          <Button busy={rearmNow.isPending} onClick={() => rearmNow.mutate()}>
            Re-arm now
          </Button>
          {rearmNow.isError && <Notice kind="error">{messageOf(rearmNow.error)}</Notice>}
        </div>
      )}
      {rearmNow.isSuccess && watch.armed && <Notice kind="success">Re-armed: the next price that meets the trigger alerts you.</Notice>}
      <form
        noValidate
        onSubmit={submitting(() => save.mutate())}
      >
        {save.isError && <Notice kind="error">{messageOf(save.error)}</Notice>}
        {save.isSuccess && <Notice kind="success">Saved.</Notice>}
        <TriggerFields draft={trigger} onChange={setTrigger} error={fieldError(save.error, "trigger")} />
        <RearmFields kind={rearm} minutes={rearmMinutes} onKind={setRearm} onMinutes={setRearmMinutes} error={fieldError(save.error, "rearm")} />
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2">
          <Field label="Label" name="label" value={label} onChange={setLabel} error={fieldError(save.error, "label")} />
          <Field
            label="Check every (minutes)"
            name="interval"
            inputMode="numeric"
            value={interval}
            onChange={setCheckEvery}
            error={fieldError(save.error, "check_interval_minutes") ?? (save.error instanceof ApiProblem && save.error.status === 403 ? messageOf(save.error) : undefined)}
          />
        </div>
        <label className="mb-4 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={enabled} onChange={(e) => setEnabled(e.target.checked)} />
          Active
        </label>
        <div className="flex flex-wrap gap-2">
          <Button type="submit" kind="primary" busy={save.isPending}>
            Save
          </Button>
          <Button kind="danger" busy={remove.isPending} onClick={() => window.confirm("Stop watching this product?") && remove.mutate()}>
            Remove from watchlist
          </Button>
          <a href="#/watchlist" className="rounded border border-slate-400 bg-white px-3 py-1.5 text-sm">
            Back to the watchlist
          </a>
        </div>
        {remove.isError && <Notice kind="error">{messageOf(remove.error)}</Notice>}
      </form>
    </Panel>
  );
}
