// Notification preferences: channels (Discord/Slack/webhook endpoints with a test send, SMS
// with a verified phone, browser push through the service worker and the VAPID key), frequency
// and digest time, quiet hours and time zone, daily cap, category filter, click tracking.
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api } from "../lib/api";
import { dateTime } from "../lib/format";
import { CATEGORIES, CHANNELS, FREQUENCIES, WEEKDAYS, label } from "../lib/vocabulary";
import { browserEndpoint, pushSupported, subscribeBrowser, unsubscribeBrowser } from "../lib/push";
import { Badge, Button, CheckboxGroup, Field, Loaded, Notice, PageTitle, Panel, SelectField, fieldError, messageOf, submitting } from "../components";

interface ChannelState {
  enabled: boolean;
  available: boolean;
  configured: boolean;
}

interface Summary {
  plan: string;
  channels: Record<string, ChannelState>;
  frequency: string;
  digest_hour: number;
  digest_weekday: string;
  quiet_hours: { start: string; end: string; crosses_midnight: boolean } | null;
  max_alerts_per_day: number | null;
  categories: string[];
  click_tracking: boolean;
  timezone: string;
  language: string;
  phone: { number: string; verified: boolean; verified_at: string | null; pending: boolean; code_expires_at: string | null } | null;
  endpoints: number;
  push_subscriptions: number;
  version: number;
}

interface Endpoint {
  id: string;
  kind: string;
  url: string;
  label: string | null;
  enabled: boolean;
  secret_hint: string | null;
  created_at: string;
  last_tested_at: string | null;
  signing_secret?: string | null;
}

const SUMMARY = ["preferences"];

export function PreferencesPage() {
  const summary = useQuery({ queryKey: SUMMARY, queryFn: () => api<Summary>("GET", "/api/v1/notification-preferences/summary") });
  return (
    <>
      <PageTitle>Preferences</PageTitle>
      <Loaded query={summary} what="your preferences">
        {(data) => (
          <>
            <Channels summary={data} />
            <Endpoints />
            <Phone summary={data} />
            <Push summary={data} />
            <Frequency summary={data} />
            <QuietHours summary={data} />
          </>
        )}
      </Loaded>
    </>
  );
}

function useSaveSummary() {
  const client = useQueryClient();
  return (stored: Summary) => client.setQueryData(SUMMARY, stored);
}

function Channels({ summary }: { summary: Summary }) {
  const saved = useSaveSummary();
  const change = useMutation({
    mutationFn: (patch: Record<string, boolean>) => api<Summary>("PATCH", "/api/v1/notification-preferences/channels", patch),
    onSuccess: saved,
  });
  return (
    <Panel title="Channels">
      <p className="mb-3 text-sm text-slate-700">Your {summary.plan} plan. Alerts go to every channel that is on and set up.</p>
      {change.isError && <Notice kind="error">{messageOf(change.error)}</Notice>}
      <ul className="grid grid-cols-1 gap-2 sm:grid-cols-3">
        {CHANNELS.map((channel) => {
          const state = summary.channels[channel];
          if (!state) return null;
          return (
            <li key={channel} className="rounded border border-slate-200 p-2">
              <label className="flex items-center gap-2 font-medium">
                <input
                  type="checkbox"
                  checked={state.enabled}
                  disabled={!state.available || change.isPending}
                  onChange={(e) => change.mutate({ [channel]: e.target.checked })}
                />
                {label(channel)}
              </label>
              <p className="text-xs text-slate-600">
                {!state.available ? "not in your plan" : state.configured ? "set up" : "needs setting up below"}
              </p>
            </li>
          );
        })}
      </ul>
    </Panel>
  );
}

function Endpoints() {
  const client = useQueryClient();
  const endpoints = useQuery({
    queryKey: ["endpoints"],
    queryFn: () => api<{ items: Endpoint[] }>("GET", "/api/v1/notification-preferences/endpoints"),
  });
  const [kind, setKind] = useState("discord");
  const [url, setUrl] = useState("");
  const [name, setName] = useState("");
  const [secret, setSecret] = useState<string | null>(null);
  const refresh = () => {
    client.invalidateQueries({ queryKey: ["endpoints"] });
    client.invalidateQueries({ queryKey: SUMMARY });
  };
  const add = useMutation({
    mutationFn: () => api<Endpoint>("POST", "/api/v1/notification-preferences/endpoints", { kind, url: url.trim(), label: name.trim() || undefined }),
    onSuccess: (created) => {
      setSecret(created.signing_secret ?? null);
      setUrl("");
      setName("");
      refresh();
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <Panel title="Discord, Slack and webhooks">
      <Loaded query={endpoints} what="your endpoints" empty={(d) => d.items.length === 0} emptyText="No endpoint yet.">
        {(data) => (
          <ul className="mb-4 divide-y">
            {data.items.map((endpoint) => (
              <EndpointRow key={endpoint.id} endpoint={endpoint} onChange={refresh} />
            ))}
          </ul>
        )}
      </Loaded>
      {secret && (
        <Notice kind="success">
          Signing secret (shown once; deliveries carry an HMAC-SHA256 signature made with it): <code className="break-all">{secret}</code>
        </Notice>
      )}
      <form onSubmit={submit} noValidate className="grid grid-cols-1 gap-x-4 sm:grid-cols-4">
        <SelectField label="Kind" name="endpoint-kind" value={kind} onChange={setKind} options={[["discord", "Discord"], ["slack", "Slack"], ["webhook", "Webhook"]]} error={fieldError(add.error, "kind")} />
        <div className="sm:col-span-2">
          <Field label="Webhook URL" name="endpoint-url" type="url" value={url} onChange={setUrl} error={fieldError(add.error, "url")} />
        </div>
        <Field label="Label" name="endpoint-label" value={name} onChange={setName} error={fieldError(add.error, "label")} />
        <div className="sm:col-span-4">
          {add.isError && !fieldError(add.error, "url") && !fieldError(add.error, "kind") && <Notice kind="error">{messageOf(add.error)}</Notice>}
          <Button type="submit" kind="primary" busy={add.isPending}>
            Connect
          </Button>
        </div>
      </form>
    </Panel>
  );
}

function EndpointRow({ endpoint, onChange }: { endpoint: Endpoint; onChange: () => void }) {
  const test = useMutation({ mutationFn: () => api<unknown>("POST", `/api/v1/notification-preferences/endpoints/${endpoint.id}/test`), onSuccess: onChange });
  const toggle = useMutation({
    mutationFn: () => api("PATCH", `/api/v1/notification-preferences/endpoints/${endpoint.id}`, { enabled: !endpoint.enabled }),
    onSuccess: onChange,
  });
  const remove = useMutation({ mutationFn: () => api("DELETE", `/api/v1/notification-preferences/endpoints/${endpoint.id}`), onSuccess: onChange });
  const name = endpoint.label || `${label(endpoint.kind)} endpoint`;
  return (
    <li className="flex flex-wrap items-center gap-2 py-2">
      <div className="min-w-0 flex-1">
        <p className="font-medium">
          {name} <Badge>{endpoint.kind}</Badge> {!endpoint.enabled && <Badge tone="amber">off</Badge>}
        </p>
        <p className="truncate text-xs text-slate-600">{endpoint.url}</p>
        <p className="text-xs text-slate-600">Last test {endpoint.last_tested_at ? dateTime(endpoint.last_tested_at) : "never"}</p>
        {test.isSuccess && <p role="status" className="text-sm text-green-800">Test alert sent.</p>}
        {[test, toggle, remove].map((m, i) => m.isError && <p key={i} className="text-sm text-red-700">{messageOf(m.error)}</p>)}
      </div>
      <Button busy={test.isPending} onClick={() => test.mutate()} label={`Send a test to ${name}`}>
        Send test
      </Button>
      <Button busy={toggle.isPending} onClick={() => toggle.mutate()} label={`${endpoint.enabled ? "Turn off" : "Turn on"} ${name}`}>
        {endpoint.enabled ? "Turn off" : "Turn on"}
      </Button>
      <Button kind="danger" busy={remove.isPending} onClick={() => window.confirm(`Remove ${name}?`) && remove.mutate()} label={`Remove ${name}`}>
        Remove
      </Button>
    </li>
  );
}

function Phone({ summary }: { summary: Summary }) {
  const client = useQueryClient();
  const [number, setNumber] = useState("");
  const [code, setCode] = useState("");
  const refresh = () => client.invalidateQueries({ queryKey: SUMMARY });
  const send = useMutation({ mutationFn: () => api("POST", "/api/v1/notification-preferences/phone", { number: number.trim() }), onSuccess: refresh });
  const verify = useMutation({ mutationFn: () => api("POST", "/api/v1/notification-preferences/phone/verify", { code: code.trim() }), onSuccess: refresh });
  const remove = useMutation({ mutationFn: () => api("DELETE", "/api/v1/notification-preferences/phone"), onSuccess: refresh });
  const phone = summary.phone;
  if (summary.channels.sms && !summary.channels.sms.available)
    return (
      <Panel title="Phone (SMS)">
        <p className="text-sm text-slate-700">Text messages are not part of your plan.</p>
      </Panel>
    );
  return (
    <Panel title="Phone (SMS)">
      {phone && (
        <p className="mb-3 text-sm">
          {phone.number} {phone.verified ? <Badge tone="green">verified</Badge> : <Badge tone="amber">not verified</Badge>}{" "}
          <Button kind="danger" busy={remove.isPending} onClick={() => remove.mutate()}>
            Remove number
          </Button>
        </p>
      )}
      {phone?.pending ? (
        <form
          noValidate
          onSubmit={submitting(() => verify.mutate())}
          className="flex flex-wrap items-end gap-2"
        >
          <Field label={`Code we texted (valid until ${dateTime(phone.code_expires_at)})`} name="phone-code" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={setCode} error={fieldError(verify.error, "code")} />
          <div className="mb-4">
            <Button type="submit" kind="primary" busy={verify.isPending}>
              Verify
            </Button>
          </div>
        </form>
      ) : (
        <form
          noValidate
          onSubmit={submitting(() => send.mutate())}
          className="flex flex-wrap items-end gap-2"
        >
          <Field label={phone ? "Use another number" : "Mobile number (international format)"} name="phone-number" type="tel" autoComplete="tel" placeholder="+14155550123" value={number} onChange={setNumber} error={fieldError(send.error, "number")} />
          <div className="mb-4">
            <Button type="submit" kind="primary" busy={send.isPending}>
              Text me a code
            </Button>
          </div>
        </form>
      )}
      {[send, verify, remove].map((m, i) => m.isError && !fieldError(m.error, "code") && !fieldError(m.error, "number") && <Notice key={i} kind="error">{messageOf(m.error)}</Notice>)}
    </Panel>
  );
}

function Push({ summary }: { summary: Summary }) {
  const client = useQueryClient();
  const [here, setHere] = useState<string | null>(null);
  useEffect(() => {
    browserEndpoint().then(setHere, () => setHere(null));
  }, []);
  const refresh = () => client.invalidateQueries({ queryKey: SUMMARY });
  const enable = useMutation({
    mutationFn: async () => {
      const { public_key } = await api<{ public_key: string }>("GET", "/api/v1/push/vapid-public-key");
      const subscription = await subscribeBrowser(public_key);
      await api("POST", "/api/v1/push/subscriptions", subscription);
      return subscription.endpoint ?? null;
    },
    onSuccess: (endpoint) => {
      setHere(endpoint);
      refresh();
    },
  });
  const disable = useMutation({
    mutationFn: async () => {
      const endpoint = await unsubscribeBrowser();
      if (endpoint) await api("DELETE", "/api/v1/push/subscriptions", { endpoint });
    },
    onSuccess: () => {
      setHere(null);
      refresh();
    },
  });
  return (
    <Panel title="Browser notifications">
      <p className="mb-2 text-sm text-slate-700">{summary.push_subscriptions} browsers receive your alerts.</p>
      {!pushSupported() ? (
        <p className="text-sm text-slate-700">This browser cannot receive push notifications.</p>
      ) : here ? (
        <Button busy={disable.isPending} onClick={() => disable.mutate()}>
          Stop notifications in this browser
        </Button>
      ) : (
        <Button kind="primary" busy={enable.isPending} onClick={() => enable.mutate()}>
          Notify me in this browser
        </Button>
      )}
      {enable.isError && <Notice kind="error">{enable.error instanceof Error && !("status" in enable.error) ? enable.error.message : messageOf(enable.error)}</Notice>}
      {disable.isError && <Notice kind="error">{messageOf(disable.error)}</Notice>}
    </Panel>
  );
}

function Frequency({ summary }: { summary: Summary }) {
  const saved = useSaveSummary();
  const [frequency, setFrequency] = useState(summary.frequency);
  const [hour, setHour] = useState(String(summary.digest_hour));
  const [weekday, setWeekday] = useState(summary.digest_weekday);
  const [cap, setCap] = useState(summary.max_alerts_per_day == null ? "" : String(summary.max_alerts_per_day));
  const [categories, setCategories] = useState(summary.categories);
  const [tracking, setTracking] = useState(summary.click_tracking);
  const save = useMutation({
    mutationFn: () =>
      api<Summary>("PATCH", "/api/v1/notification-preferences/frequency", {
        frequency,
        digest_hour: Number(hour),
        digest_weekday: weekday,
        max_alerts_per_day: cap.trim() === "" ? null : Number(cap),
        categories,
        click_tracking: tracking,
      }),
    onSuccess: saved,
  });
  return (
    <Panel title="How often">
      <form
        noValidate
        onSubmit={submitting(() => save.mutate())}
      >
        {save.isSuccess && <Notice kind="success">Saved.</Notice>}
        {save.isError && <Notice kind="error">{messageOf(save.error)}</Notice>}
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-4">
          <SelectField label="Alerts" name="frequency" value={frequency} onChange={setFrequency} options={FREQUENCIES.map((f) => [f, f === "immediate" ? "As they happen" : `${label(f)} digest`] as [string, string])} error={fieldError(save.error, "frequency")} />
          <SelectField
            label={`Digest hour (${summary.timezone})`}
            name="digest-hour"
            value={hour}
            onChange={setHour}
            options={Array.from({ length: 24 }, (_, h) => [String(h), `${String(h).padStart(2, "0")}:00`] as [string, string])}
            error={fieldError(save.error, "digest_hour")}
          />
          <SelectField label="Weekly digest day" name="digest-weekday" value={weekday} onChange={setWeekday} options={WEEKDAYS.map((d) => [d, label(d)] as [string, string])} />
          <Field label="Most immediate alerts a day (empty: no cap)" name="cap" inputMode="numeric" value={cap} onChange={setCap} error={fieldError(save.error, "max_alerts_per_day")} />
        </div>
        <CheckboxGroup legend="Only alert me about these categories (none: all)" name="pref-categories" options={CATEGORIES} selected={categories} onChange={setCategories} describe={label} error={fieldError(save.error, "categories")} />
        <label className="mb-4 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={tracking} onChange={(e) => setTracking(e.target.checked)} />
          Count the deals I open (needed for the savings on the dashboard)
        </label>
        <Button type="submit" kind="primary" busy={save.isPending}>
          Save frequency
        </Button>
      </form>
    </Panel>
  );
}

function timeZones(current: string): string[] {
  const supported = (Intl as { supportedValuesOf?: (key: string) => string[] }).supportedValuesOf?.("timeZone") ?? [];
  return supported.includes(current) ? supported : [current, ...supported];
}

function QuietHours({ summary }: { summary: Summary }) {
  const saved = useSaveSummary();
  const [on, setOn] = useState(summary.quiet_hours !== null);
  const [start, setStart] = useState(summary.quiet_hours?.start ?? "22:00");
  const [end, setEnd] = useState(summary.quiet_hours?.end ?? "07:00");
  const [zone, setZone] = useState(summary.timezone);
  const save = useMutation({
    mutationFn: () =>
      api<Summary>("PATCH", "/api/v1/notification-preferences/quiet-hours", on ? { start, end, timezone: zone } : { start: null, end: null, timezone: zone }),
    onSuccess: saved,
  });
  return (
    <Panel title="Quiet hours and time zone">
      <form
        noValidate
        onSubmit={submitting(() => save.mutate())}
      >
        {save.isSuccess && <Notice kind="success">Saved.</Notice>}
        {save.isError && <Notice kind="error">{messageOf(save.error)}</Notice>}
        <label className="mb-3 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={on} onChange={(e) => setOn(e.target.checked)} />
          Hold alerts during quiet hours (urgent ones and digests wait until they end)
        </label>
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-3">
          {on && <Field label="From" name="quiet-start" type="time" value={start} onChange={setStart} error={fieldError(save.error, "start")} />}
          {on && <Field label="Until" name="quiet-end" type="time" value={end} onChange={setEnd} error={fieldError(save.error, "end")} />}
          <SelectField label="Time zone" name="timezone" value={zone} onChange={setZone} options={timeZones(summary.timezone)} error={fieldError(save.error, "timezone")} />
        </div>
        <Button type="submit" kind="primary" busy={save.isPending}>
          Save quiet hours
        </Button>
      </form>
    </Panel>
  );
}
