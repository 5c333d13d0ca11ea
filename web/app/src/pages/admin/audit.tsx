// The audit log search (GET /api/v1/admin/audit): newest first between two UTC days (default
// the last 7, at most 92 per search), optionally one account, an action prefix or an IP. One
// request examines a bounded number of events, so a page may be short, or even empty, and still
// have a next page.
import { useState, type FormEvent } from "react";
import { useQuery } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime } from "../../lib/format";
import { Button, Field, Loaded, Notice, PageTitle, Pager, fieldError, useCursorPages } from "../../components";
import { Cell, Table, UserLink } from "./shared";

export interface AuditEntry {
  id: string;
  at: string;
  user_id: string | null;
  actor: string | null;
  action: string;
  ip: string | null;
  detail: unknown;
}

interface AuditList {
  items: AuditEntry[];
  next_cursor: string | null;
}

interface Filters {
  from: string;
  to: string;
  user: string;
  action: string;
  ip: string;
}

function filtersOf(query: URLSearchParams): Filters {
  return {
    from: query.get("from") ?? "",
    to: query.get("to") ?? "",
    user: query.get("user") ?? "",
    action: query.get("action") ?? "",
    ip: query.get("ip") ?? "",
  };
}

/** `admin:<id>` → a link to that administrator; other actors as written. */
function Actor({ actor }: { actor: string | null }) {
  if (!actor) return <span className="text-slate-600">—</span>;
  const [kind, id] = actor.split(":", 2);
  if (kind === "admin" && id) return <>admin <UserLink id={id} /></>;
  return <span className="break-all">{actor}</span>;
}

function Detail({ detail }: { detail: unknown }) {
  if (detail == null || (typeof detail === "object" && Object.keys(detail).length === 0))
    return <span className="text-slate-600">—</span>;
  const text = JSON.stringify(detail);
  return <code className="block max-w-md min-w-40 text-xs break-words whitespace-pre-wrap">{text}</code>;
}

/** Audit events as a table (the search here, and an account's latest events). */
export function AuditTable({ items, caption, showAccount = true }: { items: AuditEntry[]; caption: string; showAccount?: boolean }) {
  const head = ["When (your time)", "Action", "By", ...(showAccount ? ["Account"] : []), "IP", "Detail"];
  return (
    <Table caption={caption} head={head}>
      {items.map((event) => (
        <tr key={event.id}>
          <Cell className="whitespace-nowrap">{dateTime(event.at)}</Cell>
          <Cell className="font-mono text-xs">{event.action}</Cell>
          <Cell>
            <Actor actor={event.actor} />
          </Cell>
          {showAccount && <Cell>{event.user_id ? <UserLink id={event.user_id} /> : "—"}</Cell>}
          <Cell className="font-mono text-xs">{event.ip ?? "—"}</Cell>
          <Cell>
            <Detail detail={event.detail} />
          </Cell>
        </tr>
      ))}
    </Table>
  );
}

export function AuditView({ initial }: { initial: URLSearchParams }) {
  const [draft, setDraft] = useState<Filters>(() => filtersOf(initial));
  const [filters, setFilters] = useState<Filters>(draft);
  const pages = useCursorPages(filters);
  const params = {
    from: filters.from,
    to: filters.to,
    user: filters.user.trim(),
    action: filters.action.trim(),
    ip: filters.ip.trim(),
    limit: 50,
    cursor: pages.cursor,
  };
  const audit = useQuery({
    queryKey: ["admin", "audit", params],
    queryFn: () => api<AuditList>("GET", `/api/v1/admin/audit${queryString(params)}`),
  });
  const set = (key: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [key]: value }));
  const search = (event: FormEvent) => {
    event.preventDefault();
    if (JSON.stringify(draft) === JSON.stringify(filters)) audit.refetch();
    else setFilters({ ...draft });
  };
  const error = (field: string) => fieldError(audit.error, field);
  return (
    <>
      <PageTitle>Audit log</PageTitle>
      <form onSubmit={search} aria-label="Search the audit log" className="mb-2 rounded-lg bg-white p-4 shadow">
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-3">
          <Field label="From day (UTC)" name="audit-from" type="date" value={draft.from} onChange={set("from")} error={error("from")} hint="Default: 6 days before the last day" />
          <Field label="To day (UTC)" name="audit-to" type="date" value={draft.to} onChange={set("to")} error={error("to")} hint="Default: today; at most 92 days per search" />
          <Field label="Account id" name="audit-user" value={draft.user} onChange={set("user")} error={error("user")} />
          <Field label="Action starts with" name="audit-action" value={draft.action} onChange={set("action")} placeholder="admin.user" />
          <Field label="IP address" name="audit-ip" value={draft.ip} onChange={set("ip")} />
        </div>
        <div className="flex flex-wrap gap-2">
          <Button type="submit" kind="primary">
            Search
          </Button>
          <Button
            onClick={() => {
              const empty = filtersOf(new URLSearchParams());
              setDraft(empty);
              setFilters(empty);
            }}
          >
            Clear filters
          </Button>
        </div>
      </form>
      <p className="mb-4 text-xs text-slate-600">Days are UTC; times below are shown in your time zone.</p>
      <Loaded
        query={audit}
        what="the audit log"
        empty={(data) => data.items.length === 0 && !data.next_cursor}
        emptyText="No audit event matches this search."
      >
        {(data) => (
          <>
            {data.items.length === 0 ? (
              <Notice kind="info">No match among the events examined so far; older events may still match — try the next page.</Notice>
            ) : (
              <AuditTable items={data.items} caption="Audit events, newest first" />
            )}
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}
