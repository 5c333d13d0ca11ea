// Subscriptions (GET /api/v1/admin/subscriptions) by status, plan and pending cancellation, and
// cancelling one at the end of its period or taking that back
// (POST /api/v1/admin/subscriptions/{user id}/cancel). Stripe confirms through its webhook, so
// the list shows the change once that arrives.
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime, money, type Money } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Loaded, Notice, PageTitle, Pager, SelectField, messageOf, useCursorPages } from "../../components";
import { PLANS } from "./users";
import { Cell, Table, UserLink, confirmed, toneOf } from "./shared";

interface SubscriptionView {
  user_id: string;
  email: string | null;
  plan: string;
  subscription: string;
  status: string;
  price: string | null;
  monthly: Money | null;
  period_end: string | null;
  cancel_at_period_end: boolean;
  payment_failed_at: string | null;
}

interface SubscriptionList {
  items: SubscriptionView[];
  next_cursor: string | null;
  total: number;
}

interface CancelAnswer {
  subscription: string;
  cancel_at_period_end: boolean;
}

const STATUSES = ["active", "trialing", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired", "paused"];
/** Statuses that entitle to the plan; only these can be cancelled. */
const LIVE = new Set(["active", "trialing", "past_due"]);

interface CancelRequest {
  user: string;
  who: string;
  atPeriodEnd: boolean;
}

export function SubscriptionsView() {
  const [status, setStatus] = useState("live");
  const [plan, setPlan] = useState("");
  const [cancelling, setCancelling] = useState("");
  const [outcome, setOutcome] = useState<string | null>(null);
  const filters = { status, plan, cancelling };
  const pages = useCursorPages(filters);
  const params = { ...filters, limit: 25, cursor: pages.cursor };
  const client = useQueryClient();
  const subscriptions = useQuery({
    queryKey: ["admin", "subscriptions", params],
    queryFn: () => api<SubscriptionList>("GET", `/api/v1/admin/subscriptions${queryString(params)}`),
  });
  const cancel = useMutation({
    mutationFn: (request: CancelRequest) =>
      api<CancelAnswer>("POST", `/api/v1/admin/subscriptions/${encodeURIComponent(request.user)}/cancel`, {
        at_period_end: request.atPeriodEnd,
      }),
    onSuccess: (answer, request) => {
      setOutcome(
        answer.cancel_at_period_end
          ? `Stripe was asked to end ${request.who}'s subscription ${answer.subscription} when its paid period ends. The list shows it once Stripe confirms.`
          : `Stripe was asked to keep ${request.who}'s subscription ${answer.subscription} renewing. The list shows it once Stripe confirms.`,
      );
      client.invalidateQueries({ queryKey: ["admin", "subscriptions"] });
      client.invalidateQueries({ queryKey: ["admin", "billing"] });
    },
  });
  const ask = (request: CancelRequest) => {
    setOutcome(null);
    cancel.reset();
    if (request.atPeriodEnd && !confirmed(`Cancel ${request.who}'s subscription at the end of its paid period?`)) return;
    cancel.mutate(request);
  };
  return (
    <>
      <PageTitle>Subscriptions</PageTitle>
      <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-3">
        <SelectField
          label="Status"
          name="subscriptions-status"
          value={status}
          onChange={setStatus}
          options={[["", "Any status"], ["live", "Live (active, trialing, past due)"], ...STATUSES.map((s) => [s, label(s)] as [string, string])]}
        />
        <SelectField label="Plan" name="subscriptions-plan" value={plan} onChange={setPlan} options={[["", "Any plan"], ...PLANS.map((p) => [p, label(p)] as [string, string])]} />
        <SelectField
          label="Cancellation"
          name="subscriptions-cancelling"
          value={cancelling}
          onChange={setCancelling}
          options={[["", "Either"], ["true", "Ends with its period"], ["false", "Renews"]]}
        />
      </div>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {cancel.isError && <Notice kind="error">{messageOf(cancel.error)}</Notice>}
      <Loaded query={subscriptions} what="the subscriptions" empty={(data) => data.items.length === 0} emptyText="No subscription matches these filters.">
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">Matching subscriptions: {data.total.toLocaleString()}.</p>
            <Table caption="Subscriptions" head={["Account", "Plan", "Status", "Per month", "Period ends", "Renewal", "Action"]}>
              {data.items.map((row) => {
                const who = row.email ?? "a deleted account";
                const busy = cancel.isPending && cancel.variables?.user === row.user_id;
                return (
                  <tr key={row.user_id}>
                    <Cell>
                      {row.email ? <UserLink id={row.user_id}>{row.email}</UserLink> : <span className="text-slate-600">deleted account</span>}
                      <span className="block font-mono text-xs text-slate-600">{row.subscription}</span>
                    </Cell>
                    <Cell>{label(row.plan)}</Cell>
                    <Cell>
                      <Badge tone={toneOf(row.status)}>{label(row.status)}</Badge>
                      {row.payment_failed_at && (
                        <span className="mt-1 block text-xs text-red-800">payment failed {dateTime(row.payment_failed_at)}</span>
                      )}
                    </Cell>
                    <Cell className="whitespace-nowrap">{money(row.monthly)}</Cell>
                    <Cell className="whitespace-nowrap">{dateTime(row.period_end)}</Cell>
                    <Cell>{row.cancel_at_period_end ? <Badge tone="amber">ends with period</Badge> : "renews"}</Cell>
                    <Cell>
                      {LIVE.has(row.status) ? (
                        row.cancel_at_period_end ? (
                          <Button busy={busy} label={`Keep renewing: ${who}`} onClick={() => ask({ user: row.user_id, who, atPeriodEnd: false })}>
                            Keep renewing
                          </Button>
                        ) : (
                          <Button kind="danger" busy={busy} label={`Cancel at period end: ${who}`} onClick={() => ask({ user: row.user_id, who, atPeriodEnd: true })}>
                            Cancel at period end
                          </Button>
                        )
                      ) : (
                        <span className="text-xs text-slate-600">not live</span>
                      )}
                    </Cell>
                  </tr>
                );
              })}
            </Table>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}
