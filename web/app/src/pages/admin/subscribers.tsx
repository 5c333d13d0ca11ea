// Newsletter subscribers (GET /api/v1/admin/subscribers): totals per state, search by address
// prefix, filter by state; and a CSV import (POST /api/v1/admin/subscribers/import, a raw
// text/csv body) with its per-row report.
import { useRef, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Field, Loaded, Notice, PageTitle, Pager, Panel, SelectField, messageOf, useCursorPages } from "../../components";
import { apiRaw } from "../../lib/api";
import { Cell, StatCard, StatGrid, Table, TextArea, count, toneOf, useDebounced } from "./shared";

interface Subscriber {
  email: string;
  name: string | null;
  status: string;
  source: string;
  created_at: string;
  confirmed_at: string | null;
  unsubscribed_at: string | null;
}

interface SubscriberList {
  items: Subscriber[];
  next_cursor: string | null;
  totals: { pending: number; confirmed: number; unsubscribed: number };
}

interface ImportReport {
  rows: number;
  imported: number;
  duplicate: number;
  invalid: number;
  problems: { line: number; result: string; reason: string }[];
  problems_truncated: boolean;
}

/** The API's limit (MAX_IMPORT_BYTES); larger lists go through the CLI. */
const MAX_IMPORT_BYTES = 64 * 1024 * 1024;

export function SubscribersView() {
  return (
    <>
      <PageTitle>Newsletter subscribers</PageTitle>
      <SubscriberListView />
      <Import />
    </>
  );
}

function SubscriberListView() {
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const q = useDebounced(search.trim());
  const filters = { q, status };
  const pages = useCursorPages(filters);
  const params = { ...filters, limit: 25, cursor: pages.cursor };
  const subscribers = useQuery({
    queryKey: ["admin", "subscribers", params],
    queryFn: () => api<SubscriberList>("GET", `/api/v1/admin/subscribers${queryString(params)}`),
  });
  return (
    <section aria-label="Subscribers">
      {subscribers.data && (
        <StatGrid label="Subscribers by state">
          <StatCard label="Confirmed" value={count(subscribers.data.totals.confirmed)} hint="receive the weekly top deals" />
          <StatCard label="Pending" value={count(subscribers.data.totals.pending)} hint="have not confirmed their address yet" />
          <StatCard label="Unsubscribed" value={count(subscribers.data.totals.unsubscribed)} />
        </StatGrid>
      )}
      <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-3">
        <Field label="Address starts with" name="subscribers-q" type="search" value={search} onChange={setSearch} />
        <SelectField
          label="State"
          name="subscribers-status"
          value={status}
          onChange={setStatus}
          options={[["", "Any state"], ["confirmed", "Confirmed"], ["pending", "Pending"], ["unsubscribed", "Unsubscribed"]]}
        />
      </div>
      <Loaded
        query={subscribers}
        what="the subscribers"
        empty={(data) => data.items.length === 0 && pages.page === 1}
        emptyText={q || status ? "No subscriber matches these filters." : "No one has subscribed yet."}
      >
        {(data) => (
          <>
            <Table caption="Subscribers in address order" head={["Address", "State", "Source", "Subscribed", "Confirmed", "Unsubscribed"]}>
              {data.items.map((subscriber) => (
                <tr key={subscriber.email}>
                  <Cell>
                    <span className="break-all">{subscriber.email}</span>
                    {subscriber.name && <span className="block text-xs text-slate-600">{subscriber.name}</span>}
                  </Cell>
                  <Cell>
                    <Badge tone={toneOf(subscriber.status)}>{subscriber.status}</Badge>
                  </Cell>
                  <Cell>{label(subscriber.source)}</Cell>
                  <Cell className="whitespace-nowrap">{dateTime(subscriber.created_at)}</Cell>
                  <Cell className="whitespace-nowrap">{dateTime(subscriber.confirmed_at)}</Cell>
                  <Cell className="whitespace-nowrap">{dateTime(subscriber.unsubscribed_at)}</Cell>
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

function Import() {
  const [file, setFile] = useState<File | null>(null);
  const [pasted, setPasted] = useState("");
  const [problem, setProblem] = useState<string | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const client = useQueryClient();
  const upload = useMutation({
    mutationFn: (body: Blob | string) => apiRaw<ImportReport>("POST", "/api/v1/admin/subscribers/import", body, "text/csv"),
    onSuccess: () => {
      setFile(null);
      setPasted("");
      if (fileInput.current) fileInput.current.value = "";
    },
    onSettled: () => client.invalidateQueries({ queryKey: ["admin", "subscribers"] }),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    setProblem(null);
    upload.reset();
    if (file) {
      if (file.size > MAX_IMPORT_BYTES) {
        setProblem("The file is larger than 64 MB; import it with the command-line tool instead.");
        return;
      }
      upload.mutate(file);
    } else if (pasted.trim()) {
      upload.mutate(pasted);
    } else {
      setProblem("Choose a CSV file or paste rows first.");
    }
  };
  const report = upload.data;
  return (
    <Panel title="Import subscribers from CSV">
      <p className="mb-3 text-sm text-slate-600">
        One subscriber a row: <code>email</code> or <code>email,name</code>, with an optional <code>email,name</code> header. Imported
        addresses count as confirmed; addresses already known, in any state, are left alone and reported as duplicates.
      </p>
      <form onSubmit={submit} aria-label="Import subscribers">
        <div className="mb-4">
          <label htmlFor="field-import-file" className="mb-1 block text-sm font-medium">
            CSV file
          </label>
          <input
            id="field-import-file"
            ref={fileInput}
            type="file"
            accept=".csv,text/csv,text/plain"
            aria-describedby="field-import-file-hint"
            onChange={(e) => setFile(e.target.files?.[0] ?? null)}
            className="block w-full text-sm file:mr-3 file:rounded file:border file:border-slate-400 file:bg-white file:px-3 file:py-1.5 file:text-sm"
          />
          <p id="field-import-file-hint" className="mt-1 text-xs text-slate-600">
            Up to 64 MB. A chosen file is imported instead of pasted rows.
          </p>
        </div>
        <TextArea
          label="Or paste rows"
          name="import-pasted"
          value={pasted}
          onChange={setPasted}
          rows={4}
          hint="For example: ann@example.com,Ann"
        />
        {problem && <Notice kind="error">{problem}</Notice>}
        {upload.isError && (
          <Notice kind="error">
            The import stopped: {messageOf(upload.error)}
            <span className="block">
              Rows before the problem may have been imported; importing the same file again reports them as duplicates.
            </span>
          </Notice>
        )}
        <Button type="submit" kind="primary" busy={upload.isPending}>
          Import
        </Button>
      </form>
      {report && <ImportOutcome report={report} />}
    </Panel>
  );
}

function ImportOutcome({ report }: { report: ImportReport }) {
  return (
    <div className="mt-4" aria-live="polite">
      <Notice kind={report.invalid ? "info" : "success"}>
        {count(report.rows)} rows read: {count(report.imported)} imported, {count(report.duplicate)} already known,{" "}
        {count(report.invalid)} invalid.
      </Notice>
      {report.problems.length > 0 && (
        <>
          <h3 className="mb-2 font-medium">Rows not imported</h3>
          <Table caption="Rows not imported" head={["Line", "Result", "Why"]}>
            {report.problems.map((row) => (
              <tr key={row.line}>
                <Cell>{row.line}</Cell>
                <Cell>
                  <Badge tone={row.result === "invalid" ? "red" : "slate"}>{row.result}</Badge>
                </Cell>
                <Cell className="break-words">{row.reason}</Cell>
              </tr>
            ))}
          </Table>
          {report.problems_truncated && (
            <p className="mt-2 text-sm text-slate-600">Only the first {report.problems.length} such rows are listed; the totals count them all.</p>
          )}
        </>
      )}
    </div>
  );
}
