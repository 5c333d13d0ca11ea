// Pieces the admin views share: stat cards, responsive tables, a labelled text area, a debounced
// value, the lazily loaded chart and the tone of a status word. Badges always carry the word, so
// colour is never the only signal.
import { lazy, Suspense, useEffect, useId, useRef, type ComponentProps, type ReactNode } from "react";

/** uPlot loads with the first chart, not with the admin console. */
const LazyTimeChart = lazy(() => import("../../charts/TimeChart"));

export type ChartSeries = ComponentProps<typeof LazyTimeChart>["series"][number];

/** A time series chart; `times` and `series` must keep their identity between renders
 * (useMemo), or the chart is drawn again on every render. */
export function Chart(props: ComponentProps<typeof LazyTimeChart>) {
  return (
    <Suspense fallback={<p role="status">Drawing the chart…</p>}>
      <LazyTimeChart {...props} />
    </Suspense>
  );
}

/** `2026-11-25` (UTC) → unix seconds. */
export function daySeconds(day: string): number {
  return Date.parse(`${day}T00:00:00Z`) / 1000;
}

/** `2026-11` (UTC) → unix seconds of its first day. */
export function monthSeconds(month: string): number {
  return daySeconds(`${month}-01`);
}

/** Whole numbers with the locale's grouping. */
export function count(value: number | null | undefined): string {
  return value == null ? "—" : value.toLocaleString();
}

export function percent(value: number | null | undefined): string {
  return value == null ? "—" : `${value.toLocaleString(undefined, { maximumFractionDigits: 1 })} %`;
}

export function StatGrid({ label, children }: { label: string; children: ReactNode }) {
  return (
    <dl aria-label={label} className="mb-6 grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
      {children}
    </dl>
  );
}

/** A table that scrolls sideways on narrow screens instead of squeezing its columns; the
 * scrolling box is focusable (and named by the caption) so the keyboard can scroll it too. */
export function Table({ caption, head, children }: { caption: string; head: string[]; children: ReactNode }) {
  const id = useId();
  return (
    <div
      role="region"
      aria-labelledby={id}
      tabIndex={0}
      className="overflow-x-auto rounded-lg bg-white shadow focus:outline-2 focus:outline-blue-600"
    >
      <table className="w-full min-w-[36rem] text-left text-sm">
        <caption id={id} className="sr-only">
          {caption}
        </caption>
        <thead className="border-b border-slate-300 bg-slate-50">
          <tr>
            {head.map((title, i) => (
              <th key={`${title}-${i}`} scope="col" className="px-3 py-2 font-medium whitespace-nowrap">
                {title}
              </th>
            ))}
          </tr>
        </thead>
        <tbody className="divide-y divide-slate-200">{children}</tbody>
      </table>
    </div>
  );
}

/** A table cell with the house padding. */
export function Cell({ children, className = "" }: { children?: ReactNode; className?: string }) {
  return <td className={`px-3 py-2 align-top ${className}`}>{children}</td>;
}


/** Cursor pages that start again at the first page whenever `filters` (any JSON-able value)
 * change — in the same render, so no request goes out with a cursor of the old filters. */

type Tone = "slate" | "green" | "amber" | "red" | "blue";

const TONES: Record<string, Tone> = {
  active: "green",
  ok: "green",
  confirmed: "green",
  trialing: "blue",
  pending: "blue",
  open: "blue",
  not_modified: "green",
  out_of_stock: "amber",
  past_due: "amber",
  incomplete: "amber",
  paused: "amber",
  unpaid: "red",
  suspended: "red",
  blocked: "red",
  error: "red",
  price_missing: "red",
  not_found: "red",
  gone: "red",
  unavailable: "red",
  rejected: "slate",
  canceled: "slate",
  incomplete_expired: "slate",
  unsubscribed: "slate",
  closed: "slate",
};

/** The badge tone of a status word; the badge shows the word itself. */
export function toneOf(word: string | null | undefined): Tone {
  return (word && TONES[word]) || "slate";
}

/** Asks before a destructive action. */
export function confirmed(question: string): boolean {
  return window.confirm(question);
}

/** A link to one account in the users view. */
export function UserLink({ id, children }: { id: string; children?: ReactNode }) {
  return (
    <a href={`#/admin/users?id=${encodeURIComponent(id)}`} className="text-blue-700 underline">
      {children ?? <span className="font-mono text-xs">{id}</span>}
    </a>
  );
}

/** The panel of one opened item (an account, a report, a domain) with a link that closes it.
 * Its heading takes the focus when it opens, so keyboard and screen reader users land on it. */
export function DetailPanel(props: { title: ReactNode; closeHref: string; closeText: string; children: ReactNode }) {
  const id = useId();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    heading.current?.scrollIntoView?.({ block: "nearest" });
  }, []);
  return (
    <section aria-labelledby={id} className="mb-6 rounded-lg border-2 border-blue-200 bg-white p-4 shadow">
      <div className="mb-3 flex flex-wrap items-start justify-between gap-2">
        <h2 id={id} ref={heading} tabIndex={-1} className="min-w-0 text-lg font-semibold break-words focus:outline-2 focus:outline-blue-600">
          {props.title}
        </h2>
        <a href={props.closeHref} className="rounded border border-slate-400 bg-white px-3 py-1.5 text-sm hover:bg-slate-100">
          {props.closeText}
        </a>
      </div>
      {props.children}
    </section>
  );
}

/** A definition list of label/value pairs in columns that collapse on narrow screens. */
export function Facts({ items }: { items: [string, ReactNode][] }) {
  return (
    <dl className="mb-4 grid grid-cols-2 gap-x-6 gap-y-2 text-sm lg:grid-cols-3">
      {items.map(([name, value]) => (
        <div key={name}>
          <dt className="text-slate-600">{name}</dt>
          <dd className="font-medium break-words">{value}</dd>
        </div>
      ))}
    </dl>
  );
}

export { StatCard, TextArea, useDebounced } from "../../components";
