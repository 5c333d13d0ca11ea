// The admin overview: accounts, rules and alerts (GET /api/v1/admin/stats, also as CSV), revenue
// (GET /api/v1/admin/billing), system health (GET /api/v1/admin/system) and user behaviour by
// week and cohort (GET /api/v1/admin/analytics/behaviour). Totals are stat cards; per-day,
// per-week and per-month figures are charts, each also readable as a table.
import { useMemo, useState } from "react";
import { useMutation, useQuery } from "@tanstack/react-query";
import { api, download, queryString } from "../../lib/api";
import { dateTime, money, relative, type Money } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Loaded, Notice, PageTitle, Panel, SelectField, messageOf } from "../../components";
import {
  Cell,
  Chart,
  StatCard,
  StatGrid,
  Table,
  count,
  daySeconds,
  monthSeconds,
  percent,
  toneOf,
  type ChartSeries,
} from "./shared";

interface DayCount {
  day: string;
  count: number;
}

interface AdminStats {
  generated_at: string;
  users: {
    total: number;
    verified: number;
    suspended: number;
    new_7d: number;
    new_30d: number;
    activated_7d: number;
    activated_30d: number;
  };
  rules: number;
  watches: number;
  alerts: { sent_24h: number; failed_24h: number; sent_24h_by_channel: Record<string, number> };
  series: { signups: DayCount[]; alerts_sent: DayCount[]; alerts_failed: DayCount[] };
}

export interface RevenueSummary {
  mrr: Money[];
  subscriptions_by_plan: Record<string, number>;
  months: { month: string; revenue: Money[]; invoices: number }[];
}

interface QueueHealth {
  depth: number | null;
  status: string;
}

interface SystemHealth {
  deliveries: QueueHealth;
  dead_letters: QueueHealth;
  jobs: {
    job: string;
    last_run_at: string | null;
    last_error_at: string | null;
    runs_2d: number;
    errors_2d: number;
    runs_total: number;
  }[];
  suppressed: Record<string, number>;
}

interface Behaviour {
  weeks: number;
  activity: { week: string; signups: number; activations: number; alerts_sent: number; clicks: number }[];
  cohorts: {
    cohort: string;
    signups: number;
    activated: number;
    activation_percent: number | null;
    retention: { week_offset: number; active: number; percent: number | null }[];
  }[];
}

/** Chart colours; second and later series are dashed too, so lines differ by more than colour. */
const COLOURS = ["#1d4ed8", "#b91c1c", "#15803d", "#7e22ce", "#b45309", "#334155"];

function line(index: number, label: string, values: (number | null)[]): ChartSeries {
  return {
    label,
    values,
    colour: COLOURS[index % COLOURS.length],
    dash: index === 0 ? undefined : [8, 4 + index * 2],
    points: values.length < 16,
  };
}

/** Counts; axis ticks between whole numbers keep a decimal so small scales do not repeat a label. */
const wholeNumber = (value: number) => value.toLocaleString(undefined, { maximumFractionDigits: 1 });
const amount = (value: number) => value.toLocaleString(undefined, { maximumFractionDigits: 2 });

export function StatsView() {
  const stats = useQuery({
    queryKey: ["admin", "stats"],
    queryFn: () => api<AdminStats>("GET", "/api/v1/admin/stats"),
    refetchInterval: 60_000,
  });
  const csv = useMutation({
    mutationFn: () =>
      download("/api/v1/admin/stats.csv", `dealpulse-stats-${new Date().toISOString().slice(0, 10)}.csv`),
  });
  return (
    <>
      <PageTitle
        actions={
          <Button busy={csv.isPending} onClick={() => csv.mutate()}>
            Download stats as CSV
          </Button>
        }
      >
        Admin stats
      </PageTitle>
      {csv.isError && <Notice kind="error">The CSV could not be downloaded: {messageOf(csv.error)}</Notice>}
      <Loaded query={stats} what="the stats">
        {(data) => <Overview stats={data} />}
      </Loaded>
      <Revenue />
      <System />
      <BehaviourPanel />
    </>
  );
}

function Overview({ stats }: { stats: AdminStats }) {
  const { users, alerts } = stats;
  const channels = Object.entries(alerts.sent_24h_by_channel)
    .map(([channel, sent]) => `${label(channel)} ${count(sent)}`)
    .join(" · ");
  const signups = useMemo(() => {
    const times = stats.series.signups.map((d) => daySeconds(d.day));
    return { times, series: [line(0, "Sign-ups", stats.series.signups.map((d) => d.count))] };
  }, [stats]);
  const deliveries = useMemo(() => {
    const times = stats.series.alerts_sent.map((d) => daySeconds(d.day));
    const failed = new Map(stats.series.alerts_failed.map((d) => [d.day, d.count]));
    return {
      times,
      series: [
        line(0, "Sent", stats.series.alerts_sent.map((d) => d.count)),
        line(1, "Failed for good", stats.series.alerts_sent.map((d) => failed.get(d.day) ?? 0)),
      ],
    };
  }, [stats]);
  return (
    <>
      <p className="mb-3 text-sm text-slate-600">Figures as of {dateTime(stats.generated_at)}; they refresh every minute.</p>
      <StatGrid label="Accounts">
        <StatCard label="Accounts" value={count(users.total)} hint={`${count(users.verified)} verified · ${count(users.suspended)} suspended`} />
        <StatCard label="New accounts, 7 days" value={count(users.new_7d)} hint={`${count(users.new_30d)} in 30 days`} />
        <StatCard
          label="Activated, 7 days"
          value={count(users.activated_7d)}
          hint={`${count(users.activated_30d)} in 30 days (first rule or watch saved)`}
        />
        <StatCard label="Rules and watches" value={`${count(stats.rules)} / ${count(stats.watches)}`} hint="saved rules / watched products, all accounts" />
      </StatGrid>
      <StatGrid label="Alerts">
        <StatCard label="Alerts sent, 24 hours" value={count(alerts.sent_24h)} hint={channels || "none sent"} />
        <StatCard
          label="Failed for good, 24 hours"
          value={count(alerts.failed_24h)}
          hint={
            alerts.failed_24h > 0 ? (
              <a href="#/admin/deliveries" className="text-blue-700 underline">
                Review failed deliveries
              </a>
            ) : (
              "none"
            )
          }
        />
      </StatGrid>
      <div className="grid grid-cols-1 gap-x-6 lg:grid-cols-2">
        <Panel title="Sign-ups per day (30 days, UTC)">
          <Chart title="Sign-ups per day" times={signups.times} series={signups.series} format={wholeNumber} />
        </Panel>
        <Panel title="Alerts per day (30 days, UTC)">
          <Chart title="Alerts sent and failed per day" times={deliveries.times} series={deliveries.series} format={wholeNumber} />
        </Panel>
      </div>
    </>
  );
}

function Revenue() {
  const billing = useQuery({
    queryKey: ["admin", "billing"],
    queryFn: () => api<RevenueSummary>("GET", "/api/v1/admin/billing"),
    refetchInterval: 300_000,
  });
  return (
    <Panel title="Revenue">
      <Loaded query={billing} what="the revenue">
        {(data) => <RevenueFigures revenue={data} />}
      </Loaded>
    </Panel>
  );
}

function RevenueFigures({ revenue }: { revenue: RevenueSummary }) {
  const thisMonth = revenue.months[revenue.months.length - 1];
  const plans = Object.entries(revenue.subscriptions_by_plan);
  const live = plans.reduce((sum, [, n]) => sum + n, 0);
  const chart = useMemo(() => {
    const currencies = [...new Set(revenue.months.flatMap((m) => m.revenue.map((r) => r.currency)))].sort();
    return {
      times: revenue.months.map((m) => monthSeconds(m.month)),
      series: currencies.map((currency, i) =>
        line(
          i,
          `Revenue (${currency})`,
          revenue.months.map((m) => Number(m.revenue.find((r) => r.currency === currency)?.amount ?? 0)),
        ),
      ),
    };
  }, [revenue]);
  return (
    <>
      <StatGrid label="Revenue figures">
        <StatCard label="Monthly recurring revenue" value={revenue.mrr.length ? revenue.mrr.map(money).join(" + ") : "—"} />
        <StatCard
          label="Live subscriptions"
          value={count(live)}
          hint={plans.length ? plans.map(([plan, n]) => `${label(plan)} ${count(n)}`).join(" · ") : "none"}
        />
        <StatCard
          label="Revenue this month"
          value={thisMonth?.revenue.length ? thisMonth.revenue.map(money).join(" + ") : "—"}
          hint={thisMonth ? `${count(thisMonth.invoices)} invoices paid in ${thisMonth.month}` : undefined}
        />
      </StatGrid>
      <h3 className="mb-2 font-medium">Revenue per month (12 months, this month last)</h3>
      {chart.series.length === 0 ? (
        <p className="text-slate-600">No paid invoices in the last twelve months.</p>
      ) : (
        <Chart title="Revenue per month" times={chart.times} series={chart.series} format={amount} />
      )}
    </>
  );
}

function System() {
  const system = useQuery({
    queryKey: ["admin", "system"],
    queryFn: () => api<SystemHealth>("GET", "/api/v1/admin/system"),
    refetchInterval: 30_000,
  });
  return (
    <Panel title="System health">
      <Loaded query={system} what="the system health">
        {(data) => (
          <>
            <StatGrid label="Queues and suppressed addresses">
              <StatCard label="Delivery queue" value={queueDepth(data.deliveries)} hint="messages waiting or in flight" />
              <StatCard
                label="Dead letters"
                value={queueDepth(data.dead_letters)}
                hint={
                  (data.dead_letters.depth ?? 0) > 0 ? (
                    <a href="#/admin/deliveries" className="text-blue-700 underline">
                      Look at them and redrive
                    </a>
                  ) : (
                    "deliveries that ran out of attempts"
                  )
                }
              />
              {Object.entries(data.suppressed).map(([reason, n]) => (
                <StatCard key={reason} label={`Suppressed (${label(reason)})`} value={count(n)} hint="addresses no mail goes to" />
              ))}
            </StatGrid>
            {data.jobs.length === 0 ? (
              <p className="text-slate-600">No background job has run yet.</p>
            ) : (
              <Table
                caption="Background jobs"
                head={["Job", "Last run", "Last error", "Runs (2 days)", "Errors (2 days)", "Runs in all"]}
              >
                {data.jobs.map((job) => (
                  <tr key={job.job}>
                    <Cell className="font-medium">{label(job.job)}</Cell>
                    <Cell>
                      <span title={dateTime(job.last_run_at)}>{relative(job.last_run_at)}</span>
                    </Cell>
                    <Cell>
                      <span title={dateTime(job.last_error_at)}>{job.last_error_at ? relative(job.last_error_at) : "none"}</span>
                    </Cell>
                    <Cell>{count(job.runs_2d)}</Cell>
                    <Cell>
                      {job.errors_2d > 0 ? <Badge tone="red">{count(job.errors_2d)} errors</Badge> : "0"}
                    </Cell>
                    <Cell>{count(job.runs_total)}</Cell>
                  </tr>
                ))}
              </Table>
            )}
          </>
        )}
      </Loaded>
    </Panel>
  );
}

function queueDepth(queue: QueueHealth) {
  if (queue.status !== "ok" || queue.depth == null) return <Badge tone={toneOf("unavailable")}>not available</Badge>;
  return count(queue.depth);
}

function BehaviourPanel() {
  const [weeks, setWeeks] = useState("12");
  const behaviour = useQuery({
    queryKey: ["admin", "behaviour", weeks],
    queryFn: () => api<Behaviour>("GET", `/api/v1/admin/analytics/behaviour${queryString({ weeks })}`),
  });
  return (
    <Panel
      title="User behaviour by week"
      actions={
        <div className="w-40">
          <SelectField
            label="Weeks shown"
            name="behaviour-weeks"
            value={weeks}
            onChange={setWeeks}
            options={[["4", "4 weeks"], ["8", "8 weeks"], ["12", "12 weeks"], ["26", "26 weeks"]]}
          />
        </div>
      }
    >
      <Loaded query={behaviour} what="the user behaviour">
        {(data) => <BehaviourFigures behaviour={data} />}
      </Loaded>
    </Panel>
  );
}

function BehaviourFigures({ behaviour }: { behaviour: Behaviour }) {
  const charts = useMemo(() => {
    const times = behaviour.activity.map((w) => daySeconds(w.week));
    return {
      times,
      people: [
        line(0, "Sign-ups", behaviour.activity.map((w) => w.signups)),
        line(1, "Activations", behaviour.activity.map((w) => w.activations)),
        line(2, "Deal links followed", behaviour.activity.map((w) => w.clicks)),
      ],
      alerts: [line(0, "Alerts sent", behaviour.activity.map((w) => w.alerts_sent))],
    };
  }, [behaviour]);
  const offsets = behaviour.cohorts.reduce((most, c) => Math.max(most, c.retention.length), 0);
  return (
    <>
      <div className="grid grid-cols-1 gap-x-6 lg:grid-cols-2">
        <div className="mb-4">
          <h3 className="mb-2 font-medium">Sign-ups, activations and followed links per week</h3>
          <Chart title="Sign-ups, activations and followed links per week" times={charts.times} series={charts.people} format={wholeNumber} />
        </div>
        <div className="mb-4">
          <h3 className="mb-2 font-medium">Alerts sent per week</h3>
          <Chart title="Alerts sent per week" times={charts.times} series={charts.alerts} format={wholeNumber} />
        </div>
      </div>
      <h3 className="mb-1 font-medium">Retention by sign-up week</h3>
      <p className="mb-2 text-sm text-slate-600">
        Share of each week's new accounts active (signed in, refreshed a session or followed an alert) in each later week.
      </p>
      {behaviour.cohorts.length === 0 ? (
        <p className="text-slate-600">No cohorts yet.</p>
      ) : (
        <Table
          caption="Retention by weekly sign-up cohort"
          head={["Sign-up week", "Sign-ups", "Activated", ...Array.from({ length: offsets }, (_, i) => `Week ${i}`)]}
        >
          {behaviour.cohorts.map((cohort) => (
            <tr key={cohort.cohort}>
              <Cell className="whitespace-nowrap font-medium">{cohort.cohort}</Cell>
              <Cell>{count(cohort.signups)}</Cell>
              <Cell className="whitespace-nowrap">
                {count(cohort.activated)} ({percent(cohort.activation_percent)})
              </Cell>
              {Array.from({ length: offsets }, (_, i) => {
                const cell = cohort.retention[i];
                return (
                  <Cell key={i} className={`whitespace-nowrap ${shade(cell?.percent)}`}>
                    {cell ? <span title={`${count(cell.active)} active`}>{percent(cell.percent)}</span> : ""}
                  </Cell>
                );
              })}
            </tr>
          ))}
        </Table>
      )}
    </>
  );
}

/** A background that deepens with the share (the share is always written in the cell too). */
function shade(value: number | null | undefined): string {
  if (value == null) return "";
  if (value >= 60) return "bg-blue-200";
  if (value >= 30) return "bg-blue-100";
  if (value > 0) return "bg-blue-50";
  return "";
}
