// The alert log: every alert with each channel's delivery status, filterable by channel.
import { useState } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, queryString } from "../lib/api";
import { dateTime, money, externalHref } from "../lib/format";
import { CHANNELS, label } from "../lib/vocabulary";
import { Badge, Loaded, PageTitle, Pager, SelectField, useCursorPages } from "../components";

interface Delivery {
  channel: string;
  target: string | null;
  status: string;
  reason: string | null;
  provider_id: string | null;
  until: string | null;
  updated_at?: string | null;
}

export interface AlertView {
  id: string;
  created_at: string;
  title: string;
  url: string;
  price: string;
  was_price: string | null;
  currency: string;
  reasons: string[];
  score: number | null;
  urgent: boolean;
  deliveries: Delivery[];
}

interface AlertList {
  items: AlertView[];
  next_cursor: string | null;
  total: number;
}

const TONES: Record<string, "green" | "amber" | "red" | "slate" | "blue"> = {
  sent: "green",
  queued: "blue",
  sending: "blue",
  retrying: "amber",
  held: "amber",
  digest: "blue",
  failed: "red",
  skipped: "slate",
};

export function DeliveryBadge({ delivery }: { delivery: Delivery }) {
  const detail = [delivery.reason, delivery.until && `until ${dateTime(delivery.until)}`].filter(Boolean).join(", ");
  return (
    <span title={detail || undefined}>
      <Badge tone={TONES[delivery.status] ?? "slate"}>
        {label(delivery.channel)}: {delivery.status}
      </Badge>
      {detail && <span className="ml-1 text-xs text-slate-600">{detail}</span>}
    </span>
  );
}

export function AlertsPage() {
  const [channel, setChannel] = useState("");
  const pages = useCursorPages(channel);
  const alerts = useQuery({
    queryKey: ["alerts", channel, pages.cursor],
    queryFn: () => api<AlertList>("GET", `/api/v1/alerts${queryString({ channel, limit: 20, cursor: pages.cursor })}`),
    refetchInterval: 15_000,
  });
  return (
    <>
      <PageTitle>Alerts</PageTitle>
      <div className="max-w-xs">
        <SelectField
          label="Channel"
          name="alert-channel"
          value={channel}
          onChange={setChannel}
          options={[["", "All channels"], ...CHANNELS.map((c) => [c, label(c)] as [string, string])]}
        />
      </div>
      <Loaded query={alerts} what="your alerts" empty={(data) => data.items.length === 0} emptyText="No alerts yet. They are listed here with each channel's delivery as soon as a rule or watch matches.">
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">{data.total} alerts</p>
            <ul className="space-y-2" data-testid="alert-log">
              {data.items.map((alert) => (
                <li key={alert.id} className="rounded-lg bg-white p-3 shadow">
                  <a href={externalHref(alert.url)} target="_blank" rel="noreferrer" className="font-medium text-blue-700 underline">
                    {alert.title}
                  </a>{" "}
                  <span className="font-semibold">{money({ amount: alert.price, currency: alert.currency })}</span>
                  {alert.was_price && (
                    <s className="ml-1 text-sm text-slate-600">{money({ amount: alert.was_price, currency: alert.currency })}</s>
                  )}
                  {alert.urgent && (
                    <span className="ml-1">
                      <Badge tone="red">urgent</Badge>
                    </span>
                  )}
                  <p className="text-xs text-slate-600">
                    {dateTime(alert.created_at)} · {alert.reasons.join(", ")}
                  </p>
                  <div className="mt-1 flex flex-wrap gap-2">
                    {alert.deliveries.map((delivery, i) => (
                      <DeliveryBadge key={`${delivery.channel}-${delivery.target ?? i}`} delivery={delivery} />
                    ))}
                  </div>
                </li>
              ))}
            </ul>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}
