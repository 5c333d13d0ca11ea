// The signed-in user's overview (GET /api/v1/me/dashboard): rules and watches, alerts sent per
// channel, savings from followed deals, the newest alerts and the next digest.
import { useQuery } from "@tanstack/react-query";
import { api } from "../lib/api";
import { Badge, Notice, PageTitle, Panel, StatCard, messageOf } from "../components";
import { money, relative, type Money, externalHref } from "../lib/format";
import { DeliveryBadge } from "./alerts";
import { watchName, type ProductDetail, type WatchView } from "./watchlist";


interface AlertView {
  id: string;
  created_at: string;
  title: string;
  url: string;
  price: string;
  currency: string;
  reasons: string[];
  deliveries: { channel: string; status: string }[];
}

interface Dashboard {
  rules: { active: number; total: number };
  watches: { active: number; total: number };
  alerts_sent: Record<string, number>;
  clicks: number;
  savings: Money[];
  click_tracking: boolean;
  recent_alerts: AlertView[];
  next_digest: { at: string; waiting: number; deals: { title: string; url: string; price: Money }[] } | null;
}

export function DashboardPage() {
  const query = useQuery({
    queryKey: ["dashboard"],
    queryFn: () => api<Dashboard>("GET", "/api/v1/me/dashboard"),
  });
  if (query.isPending)
    return (
      <>
        <PageTitle>Dashboard</PageTitle>
        <p role="status">Loading your dashboard…</p>
      </>
    );
  if (query.isError)
    return (
      <>
        <PageTitle>Dashboard</PageTitle>
        <Notice kind="error">{messageOf(query.error)}</Notice>
      </>
    );
  const data = query.data;
  const sent = Object.values(data.alerts_sent).reduce((sum, n) => sum + n, 0);
  const channels = Object.entries(data.alerts_sent)
    .map(([channel, count]) => `${channel} ${count}`)
    .join(" · ");
  return (
    <div className="space-y-6">
      <PageTitle>Dashboard</PageTitle>
      <dl className="grid grid-cols-1 gap-4 sm:grid-cols-2 lg:grid-cols-4">
        <StatCard label="Active rules" value={`${data.rules.active}`} hint={`${data.rules.total} in all`} />
        <StatCard label="Active watches" value={`${data.watches.active}`} hint={`${data.watches.total} in all`} />
        <StatCard label="Alerts sent" value={`${sent}`} hint={channels || "none yet"} />
        <StatCard
          label="Saved on deals you opened"
          value={data.savings.length ? data.savings.map(money).join(" + ") : "—"}
          hint={data.click_tracking ? `${data.clicks} deals opened` : "link tracking is off"}
        />
      </dl>
      <section aria-labelledby="recent-alerts" className="rounded-lg bg-white p-4 shadow">
        <h2 id="recent-alerts" className="mb-3 text-lg font-semibold">Recent alerts</h2>
        {data.recent_alerts.length === 0 ? (
          <p className="text-slate-600">No alerts yet. They appear here when a rule or watch matches.</p>
        ) : (
          <ul className="divide-y">
            {data.recent_alerts.map((alert) => (
              <li key={alert.id} className="py-2">
                <a href={externalHref(alert.url)} className="font-medium text-blue-700 underline" rel="noreferrer" target="_blank">
                  {alert.title}
                </a>{" "}
                <span className="font-semibold">{money({ amount: alert.price, currency: alert.currency })}</span>
                <div className="text-xs text-slate-600">
                  {new Date(alert.created_at).toLocaleString()} · {alert.reasons.join(", ")}
                </div>
                <div className="mt-1 flex flex-wrap gap-1">
                  {alert.deliveries.map((d, i) => (
                    <DeliveryBadge key={`${d.channel}-${i}`} delivery={{ target: null, reason: null, provider_id: null, until: null, ...d }} />
                  ))}
                </div>
              </li>
            ))}
          </ul>
        )}
      </section>
      <section aria-labelledby="next-digest" className="rounded-lg bg-white p-4 shadow">
        <h2 id="next-digest" className="mb-3 text-lg font-semibold">Next digest</h2>
        {data.next_digest ? (
          <>
            <p className="mb-2 text-sm text-slate-600">
              {new Date(data.next_digest.at).toLocaleString()} · {data.next_digest.waiting} deals waiting
            </p>
            <ul className="list-disc pl-5">
              {data.next_digest.deals.map((deal) => (
                <li key={deal.url}>
                  {deal.title} — {money(deal.price)}
                </li>
              ))}
            </ul>
          </>
        ) : (
          <p className="text-slate-600">Nothing is waiting for a digest.</p>
        )}
      </section>
      <WatchHealth />
    </div>
  );
}

/** How the checks of the user's watched pages are going: the last result per product. */
function WatchHealth() {
  const watches = useQuery({
    queryKey: ["watchlist", "health"],
    queryFn: () => api<{ items: WatchView[] }>("GET", "/api/v1/watchlist?limit=100"),
  });
  return (
    <Panel title="Watched pages">
      {watches.isPending && <p role="status">Loading your watches…</p>}
      {watches.isError && <Notice kind="error">{messageOf(watches.error)}</Notice>}
      {watches.data && watches.data.items.length === 0 && (
        <p className="text-slate-600">
          You watch no product page. <a className="text-blue-700 underline" href="#/watchlist/new">Watch one</a>.
        </p>
      )}
      {watches.data && watches.data.items.length > 0 && (
        <ul className="divide-y" data-testid="watch-health">
          {watches.data.items.map((watch) => (
            <WatchHealthRow key={watch.id} watch={watch} />
          ))}
        </ul>
      )}
    </Panel>
  );
}

const HEALTHY = new Set(["ok", "not_modified", "out_of_stock"]);

function WatchHealthRow({ watch }: { watch: WatchView }) {
  const detail = useQuery({
    queryKey: ["product", watch.product?.id],
    enabled: watch.product !== null,
    queryFn: () => api<ProductDetail>("GET", `/api/v1/products/${watch.product?.id}`),
  });
  const result = detail.data?.last_result;
  return (
    <li className="flex flex-wrap items-center justify-between gap-2 py-2 text-sm">
      <a href={`#/watchlist/${watch.id}`} className="text-blue-700 underline">
        {watchName(watch)}
      </a>
      <span className="flex items-center gap-2">
        {result ? <Badge tone={HEALTHY.has(result) ? "green" : "red"}>{result.replace(/_/g, " ")}</Badge> : <Badge>not checked yet</Badge>}
        <span className="text-slate-600">
          checked {relative(detail.data?.last_checked_at)}
          {detail.data?.last_failure ? ` — ${detail.data.last_failure}` : ""}
        </span>
      </span>
    </li>
  );
}
