// Accounts (GET /api/v1/admin/users): search by e-mail or name, filter by status, verification,
// plan and role; open one (`#/admin/users?id=…`, GET /api/v1/admin/users/{id}) to see what it
// owns, its activity and latest audit events, and suspend or reactivate it.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Field, Loaded, Notice, PageTitle, Pager, SelectField, messageOf, useCursorPages } from "../../components";
import { AuditTable, type AuditEntry } from "./audit";
import { Cell, DetailPanel, Facts, Table, TextArea, confirmed, toneOf, useDebounced } from "./shared";

export interface AdminUser {
  id: string;
  email: string;
  display_name: string | null;
  role: string;
  status: string;
  plan: string;
  email_verified_at: string | null;
  created_at: string;
  timezone: string;
}

interface AdminUserList {
  items: AdminUser[];
  next_cursor: string | null;
  total: number;
}

interface AdminUserDetail {
  user: AdminUser;
  rules: number;
  watches: number;
  live_sessions: number;
  api_keys: number;
  activated_at: string | null;
  last_active_week: string | null;
  recent_audit: AuditEntry[];
}

export const PLANS = ["free", "pro", "business"] as const;

export function UsersView({ selected }: { selected: string | null }) {
  return (
    <>
      <PageTitle>Users</PageTitle>
      {selected && <UserDetail key={selected} id={selected} />}
      <UserList selected={selected} />
    </>
  );
}

function UserList({ selected }: { selected: string | null }) {
  const [search, setSearch] = useState("");
  const [status, setStatus] = useState("");
  const [verified, setVerified] = useState("");
  const [plan, setPlan] = useState("");
  const [role, setRole] = useState("");
  const q = useDebounced(search.trim());
  const filters = { q, status, verified, plan, role };
  const pages = useCursorPages(filters);
  const params = { ...filters, limit: 20, cursor: pages.cursor };
  const users = useQuery({
    queryKey: ["admin", "users", params],
    queryFn: () => api<AdminUserList>("GET", `/api/v1/admin/users${queryString(params)}`),
  });
  const filtered = Boolean(q || status || verified || plan || role);
  return (
    <section aria-label="Accounts">
      <div className="mb-2 grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-5">
        <Field label="Search e-mail or name" name="users-q" type="search" value={search} onChange={setSearch} />
        <SelectField label="Status" name="users-status" value={status} onChange={setStatus} options={[["", "Any status"], ["active", "Active"], ["suspended", "Suspended"]]} />
        <SelectField label="E-mail verified" name="users-verified" value={verified} onChange={setVerified} options={[["", "Either"], ["true", "Verified"], ["false", "Not verified"]]} />
        <SelectField label="Plan" name="users-plan" value={plan} onChange={setPlan} options={[["", "Any plan"], ...PLANS.map((p) => [p, label(p)] as [string, string])]} />
        <SelectField label="Role" name="users-role" value={role} onChange={setRole} options={[["", "Any role"], ["user", "User"], ["admin", "Administrator"]]} />
      </div>
      <Loaded
        query={users}
        what="the accounts"
        empty={(data) => data.items.length === 0 && !data.next_cursor}
        emptyText={filtered ? "No account matches these filters." : "There are no accounts yet."}
      >
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">
              {data.total.toLocaleString()} accounts in all{filtered ? "; those matching the filters, newest first:" : ", newest first:"}
            </p>
            {data.items.length === 0 ? (
              <Notice kind="info">No match among the accounts examined so far; older accounts may still match — try the next page.</Notice>
            ) : (
              <Table caption="Accounts, newest first" head={["Account", "Status", "Role", "Plan", "E-mail verified", "Signed up"]}>
                {data.items.map((user) => (
                  <tr key={user.id} className={user.id === selected ? "bg-blue-50" : undefined}>
                    <Cell>
                      <a
                        href={`#/admin/users?id=${encodeURIComponent(user.id)}`}
                        aria-current={user.id === selected ? "true" : undefined}
                        className="font-medium break-all text-blue-700 underline"
                      >
                        {user.email}
                      </a>
                      {user.display_name && <span className="block text-xs text-slate-600">{user.display_name}</span>}
                    </Cell>
                    <Cell>
                      <Badge tone={toneOf(user.status)}>{user.status}</Badge>
                    </Cell>
                    <Cell>{user.role === "admin" ? <Badge tone="blue">admin</Badge> : "user"}</Cell>
                    <Cell>{label(user.plan)}</Cell>
                    <Cell>{user.email_verified_at ? "yes" : "no"}</Cell>
                    <Cell className="whitespace-nowrap">{dateTime(user.created_at)}</Cell>
                  </tr>
                ))}
              </Table>
            )}
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </section>
  );
}

function UserDetail({ id }: { id: string }) {
  const detail = useQuery({
    queryKey: ["admin", "user", id],
    queryFn: () => api<AdminUserDetail>("GET", `/api/v1/admin/users/${encodeURIComponent(id)}`),
  });
  return (
    <Loaded query={detail} what="the account">
      {(data) => (
        <DetailPanel title={data.user.email} closeHref="#/admin/users" closeText="Back to all accounts">
          <Facts
            items={[
              ["Name", data.user.display_name ?? "—"],
              ["Status", <Badge tone={toneOf(data.user.status)}>{data.user.status}</Badge>],
              ["Role", data.user.role],
              ["Plan", label(data.user.plan)],
              ["E-mail verified", data.user.email_verified_at ? dateTime(data.user.email_verified_at) : "not verified"],
              ["Signed up", dateTime(data.user.created_at)],
              ["Time zone", data.user.timezone],
              ["Activated (first rule or watch)", data.activated_at ? dateTime(data.activated_at) : "not yet"],
              ["Last active", data.last_active_week ? `week of ${data.last_active_week}` : "never"],
              ["Rules / watches", `${data.rules} / ${data.watches}`],
              ["Live sessions", String(data.live_sessions)],
              ["API keys", String(data.api_keys)],
              ["Account id", <span className="font-mono text-xs">{data.user.id}</span>],
            ]}
          />
          <StatusChange id={data.user.id} email={data.user.email} status={data.user.status} />
          <div className="mb-2 flex flex-wrap items-center justify-between gap-2">
            <h3 className="font-medium">Latest audit events</h3>
            <a href={`#/admin/audit?user=${encodeURIComponent(data.user.id)}`} className="text-sm text-blue-700 underline">
              Search this account's audit log
            </a>
          </div>
          {data.recent_audit.length === 0 ? (
            <p className="text-sm text-slate-600">No audit events.</p>
          ) : (
            <AuditTable items={data.recent_audit} caption={`Latest audit events of ${data.user.email}`} showAccount={false} />
          )}
        </DetailPanel>
      )}
    </Loaded>
  );
}

function StatusChange({ id, email, status }: { id: string; email: string; status: string }) {
  const [reason, setReason] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const client = useQueryClient();
  const suspending = status !== "suspended";
  const change = useMutation({
    mutationFn: () =>
      api<AdminUser>("POST", `/api/v1/admin/users/${encodeURIComponent(id)}/${suspending ? "suspend" : "activate"}`, {
        reason: reason.trim() || undefined,
      }),
    onSuccess: (user) => {
      setReason("");
      setOutcome(
        user.status === "suspended"
          ? `${email} is suspended: its sessions were ended and it can no longer sign in.`
          : `${email} is active again.`,
      );
      client.invalidateQueries({ queryKey: ["admin", "users"] });
      client.invalidateQueries({ queryKey: ["admin", "user", id] });
      client.invalidateQueries({ queryKey: ["admin", "stats"] });
    },
  });
  const submit = () => {
    setOutcome(null);
    if (suspending && !confirmed(`Suspend ${email}? Its sessions end now and its alerts stop.`)) return;
    change.mutate();
  };
  return (
    <div className="mb-4 rounded border border-slate-300 p-3">
      <h3 className="mb-2 font-medium">{suspending ? "Suspend this account" : "Lift the suspension"}</h3>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {change.isError && <Notice kind="error">{messageOf(change.error)}</Notice>}
      <TextArea
        label="Reason, for the audit log (optional)"
        name="status-reason"
        value={reason}
        onChange={setReason}
        maxLength={500}
        rows={2}
        hint="At most 500 characters."
      />
      <Button kind={suspending ? "danger" : "primary"} busy={change.isPending} onClick={submit}>
        {suspending ? "Suspend account" : "Activate account"}
      </Button>
    </div>
  );
}
