// Deal reports worked as tickets: the list by status and reason with bulk close / reopen
// (GET /api/v1/admin/reports, POST …/reports/bulk) and one report (`#/admin/reports?id=…`,
// GET …/reports/{id}) closed as confirmed (the listing stops matching) or rejected, or reopened.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime, externalHref } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Loaded, Notice, PageTitle, Pager, SelectField, fieldError, messageOf, useCursorPages } from "../../components";
import { Cell, DetailPanel, Facts, Table, TextArea, UserLink, confirmed, toneOf } from "./shared";

interface Report {
  id: string;
  listing_id: string;
  reporter_id: string;
  reason: string;
  note: string | null;
  title: string;
  url: string;
  price: string;
  status: string;
  resolution: string | null;
  admin_note: string | null;
  created_at: string;
  updated_at: string;
  closed_by: string | null;
}

interface ReportList {
  items: Report[];
  next_cursor: string | null;
  total: number;
}

interface BulkResult {
  results: { id: string; outcome: "updated" | "not_found" | "conflict" }[];
}

const REASONS = ["wrong_price", "expired", "spam"];

const RESOLUTIONS: [string, string][] = [
  ["confirmed", "Confirmed — the listing stops matching and is hidden"],
  ["rejected", "Rejected — the listing stays"],
];

function reportHref(id: string): string {
  return `#/admin/reports?id=${encodeURIComponent(id)}`;
}

function reportPath(id: string): string {
  return `/api/v1/admin/reports/${encodeURIComponent(id)}`;
}

function StatusBadges({ report }: { report: Report }) {
  return (
    <span className="flex flex-wrap gap-1">
      <Badge tone={toneOf(report.status)}>{report.status}</Badge>
      {report.resolution && <Badge tone={toneOf(report.resolution)}>{report.resolution}</Badge>}
    </span>
  );
}

export function ReportsView({ selected }: { selected: string | null }) {
  return (
    <>
      <PageTitle>Deal reports</PageTitle>
      {selected && <ReportDetail key={selected} id={selected} />}
      <ReportListView selected={selected} />
    </>
  );
}

type BulkAction = "confirm" | "reject" | "reopen";

const BULK: Record<BulkAction, { body: { status: string; resolution?: string }; done: string; question?: string }> = {
  confirm: { body: { status: "closed", resolution: "confirmed" }, done: "Closed as confirmed", question: "Close {n} reports as confirmed? Their listings stop matching." },
  reject: { body: { status: "closed", resolution: "rejected" }, done: "Closed as rejected", question: "Close {n} reports as rejected?" },
  reopen: { body: { status: "open" }, done: "Reopened" },
};

function ReportListView({ selected }: { selected: string | null }) {
  const [status, setStatus] = useState("open");
  const [reason, setReason] = useState("");
  const [checked, setChecked] = useState<string[]>([]);
  const [outcome, setOutcome] = useState<string | null>(null);
  const filters = { status, reason };
  const pages = useCursorPages(filters);
  const params = { ...filters, limit: 20, cursor: pages.cursor };
  const client = useQueryClient();
  const reports = useQuery({
    queryKey: ["admin", "reports", params],
    queryFn: () => api<ReportList>("GET", `/api/v1/admin/reports${queryString(params)}`),
  });
  const bulk = useMutation({
    mutationFn: (action: BulkAction) =>
      api<BulkResult>("POST", "/api/v1/admin/reports/bulk", { ids: checked, ...BULK[action].body }),
    onSuccess: (result, action) => {
      const tally = (outcome: string) => result.results.filter((r) => r.outcome === outcome).length;
      const parts = [`${tally("updated")} updated`];
      if (tally("not_found")) parts.push(`${tally("not_found")} not found`);
      if (tally("conflict")) parts.push(`${tally("conflict")} changed meanwhile (open them and try again)`);
      setOutcome(`${BULK[action].done}: ${parts.join(", ")}.`);
      setChecked([]);
      client.invalidateQueries({ queryKey: ["admin", "reports"] });
      client.invalidateQueries({ queryKey: ["admin", "report"] });
    },
  });
  const run = (action: BulkAction) => {
    setOutcome(null);
    bulk.reset();
    const question = BULK[action].question?.replace("{n}", String(checked.length));
    if (question && !confirmed(question)) return;
    bulk.mutate(action);
  };
  const changeFilter = (set: (value: string) => void) => (value: string) => {
    set(value);
    setChecked([]);
  };
  const toggle = (id: string, on: boolean) => setChecked((c) => (on ? [...c, id] : c.filter((x) => x !== id)));
  return (
    <section aria-label="Reports">
      <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-4">
        <SelectField label="Status" name="reports-status" value={status} onChange={changeFilter(setStatus)} options={[["open", "Open"], ["closed", "Closed"], ["", "Any status"]]} />
        <SelectField
          label="Reason"
          name="reports-reason"
          value={reason}
          onChange={changeFilter(setReason)}
          options={[["", "Any reason"], ...REASONS.map((r) => [r, label(r)] as [string, string])]}
        />
      </div>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {bulk.isError && <Notice kind="error">Nothing was changed: {messageOf(bulk.error)}</Notice>}
      <div className="mb-3 flex flex-wrap items-center gap-2" role="group" aria-label="Bulk actions">
        <span className="text-sm text-slate-700">{checked.length} selected</span>
        <Button kind="danger" disabled={!checked.length || checked.length > 100} busy={bulk.isPending} onClick={() => run("confirm")}>
          Close as confirmed
        </Button>
        <Button kind="danger" disabled={!checked.length || checked.length > 100} busy={bulk.isPending} onClick={() => run("reject")}>
          Close as rejected
        </Button>
        <Button disabled={!checked.length || checked.length > 100} busy={bulk.isPending} onClick={() => run("reopen")}>
          Reopen
        </Button>
        {checked.length > 100 && <span className="text-sm text-red-700">At most 100 at once.</span>}
      </div>
      <Loaded
        query={reports}
        what="the reports"
        empty={(data) => data.items.length === 0 && pages.page === 1}
        emptyText={status === "open" && !reason ? "No open report. Nothing to do." : "No report matches these filters."}
      >
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">Matching reports: {data.total.toLocaleString()}, newest first.</p>
            <Table caption="Deal reports, newest first" head={["Select", "Deal", "Reason", "Reported", "Status"]}>
              {data.items.map((report) => (
                <tr key={report.id} className={report.id === selected ? "bg-blue-50" : undefined}>
                  <Cell>
                    <input
                      type="checkbox"
                      className="mt-1"
                      aria-label={`Select the report on ${report.title}`}
                      checked={checked.includes(report.id)}
                      onChange={(e) => toggle(report.id, e.target.checked)}
                    />
                  </Cell>
                  <Cell>
                    <a href={reportHref(report.id)} aria-current={report.id === selected ? "true" : undefined} className="font-medium break-words text-blue-700 underline">
                      {report.title}
                    </a>
                    <span className="block text-xs text-slate-600">{report.price} when reported</span>
                    {report.note && <span className="mt-1 block max-w-md text-xs break-words text-slate-700">“{report.note}”</span>}
                  </Cell>
                  <Cell>
                    <Badge tone="amber">{label(report.reason)}</Badge>
                  </Cell>
                  <Cell className="whitespace-nowrap">{dateTime(report.created_at)}</Cell>
                  <Cell>
                    <StatusBadges report={report} />
                  </Cell>
                </tr>
              ))}
            </Table>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function ReportDetail({ id }: { id: string }) {
  const report = useQuery({
    queryKey: ["admin", "report", id],
    queryFn: () => api<Report>("GET", reportPath(id)),
  });
  return (
    <Loaded query={report} what="the report">
      {(data) => (
        <DetailPanel title={`Report: ${data.title}`} closeHref="#/admin/reports" closeText="Back to all reports">
          <Facts
            items={[
              ["Status", <StatusBadges report={data} />],
              ["Reason", label(data.reason)],
              ["Price when reported", data.price],
              ["Reported", dateTime(data.created_at)],
              ["Last changed", dateTime(data.updated_at)],
              ["Reported by", <UserLink id={data.reporter_id} />],
              ["Closed by", data.closed_by ? <UserLink id={data.closed_by} /> : "—"],
              [
                "Deal",
                <a href={externalHref(data.url)} target="_blank" rel="noreferrer" className="break-all text-blue-700 underline">
                  {data.url}
                </a>,
              ],
              ["Listing id", <span className="font-mono text-xs">{data.listing_id}</span>],
            ]}
          />
          <div className="mb-4 grid grid-cols-1 gap-4 md:grid-cols-2">
            <div>
              <h3 className="text-sm text-slate-600">Reporter's note</h3>
              <p className="break-words whitespace-pre-wrap">{data.note ?? "—"}</p>
            </div>
            <div>
              <h3 className="text-sm text-slate-600">Administrator's note</h3>
              <p className="break-words whitespace-pre-wrap">{data.admin_note ?? "—"}</p>
            </div>
          </div>
          <ReportActions report={data} />
        </DetailPanel>
      )}
    </Loaded>
  );
}

function ReportActions({ report }: { report: Report }) {
  const [resolution, setResolution] = useState("confirmed");
  const [note, setNote] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const client = useQueryClient();
  const open = report.status === "open";
  const change = useMutation({
    mutationFn: () =>
      open
        ? api<Report>("POST", `${reportPath(report.id)}/close`, { resolution, note: note.trim() || undefined })
        : api<Report>("POST", `${reportPath(report.id)}/reopen`, { note: note.trim() || undefined }),
    onSuccess: (stored) => {
      setOutcome(
        stored.status === "open"
          ? "The report is open again."
          : `The report is closed as ${stored.resolution}${stored.resolution === "confirmed" ? "; the listing no longer matches" : ""}.`,
      );
      setNote("");
      client.setQueryData(["admin", "report", report.id], stored);
      client.invalidateQueries({ queryKey: ["admin", "reports"] });
    },
  });
  const submit = () => {
    setOutcome(null);
    change.reset();
    if (open && !confirmed(`Close this report as ${resolution}?${resolution === "confirmed" ? " The listing stops matching and is hidden." : ""}`)) return;
    change.mutate();
  };
  const noteError = fieldError(change.error, "note");
  return (
    <form
      className="rounded border border-slate-300 p-3"
      onSubmit={(e) => {
        e.preventDefault();
        submit();
      }}
    >
      <h3 className="mb-2 font-medium">{open ? "Close this report" : "Reopen this report"}</h3>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {change.isError && !noteError && <Notice kind="error">{messageOf(change.error)}</Notice>}
      {open && (
        <SelectField label="Resolution" name="report-resolution" value={resolution} onChange={setResolution} options={RESOLUTIONS} error={fieldError(change.error, "resolution")} />
      )}
      <TextArea
        label={open ? "Note (optional; replaces the administrator's note)" : "Why reopen (optional; replaces the administrator's note)"}
        name="report-note"
        value={note}
        onChange={setNote}
        maxLength={1000}
        hint="At most 1,000 characters."
        error={noteError}
      />
      <Button type="submit" kind={open ? "danger" : "primary"} busy={change.isPending}>
        {open ? "Close report" : "Reopen report"}
      </Button>
    </form>
  );
}
