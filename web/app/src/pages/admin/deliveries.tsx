// Deliveries that did not go out: those that failed for good, each retried once its cause is
// fixed (GET /api/v1/admin/deliveries/failed, POST …/failed/{id}/retry), and the messages in
// the dead-letter queue, moved back to the delivery queue in one go
// (GET …/dead-letters, POST …/dead-letters/redrive).
import { useState } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, queryString } from "../../lib/api";
import { dateTime } from "../../lib/format";
import { label } from "../../lib/vocabulary";
import { Badge, Button, Field, Loaded, Notice, PageTitle, Pager, Panel, SelectField, fieldError, messageOf, useCursorPages } from "../../components";
import { Cell, Table, UserLink, confirmed } from "./shared";

interface FailedDelivery {
  id: string;
  user_id: string;
  channel: string;
  reason: string;
  failed_at: string;
  title: string | null;
}

interface FailedDeliveryList {
  items: FailedDelivery[];
  next_cursor: string | null;
  total: number;
}

interface DeadLetter {
  message_id: string;
  receive_count: number;
  delivery_id: string | null;
  user_id: string | null;
  channel: string | null;
  title: string | null;
}

interface RedriveResult {
  moved: string[];
  kept: string[];
}

export function DeliveriesView() {
  return (
    <>
      <PageTitle>Deliveries that did not go out</PageTitle>
      <FailedDeliveries />
      <DeadLetters />
    </>
  );
}

function FailedDeliveries() {
  const pages = useCursorPages(null);
  const [outcome, setOutcome] = useState<string | null>(null);
  const client = useQueryClient();
  const params = { limit: 20, cursor: pages.cursor };
  const failed = useQuery({
    queryKey: ["admin", "deliveries", "failed", params],
    queryFn: () => api<FailedDeliveryList>("GET", `/api/v1/admin/deliveries/failed${queryString(params)}`),
    refetchInterval: 30_000,
  });
  const retry = useMutation({
    mutationFn: (delivery: FailedDelivery) =>
      api<FailedDelivery>("POST", `/api/v1/admin/deliveries/failed/${encodeURIComponent(delivery.id)}/retry`),
    onSuccess: (_, delivery) => {
      setOutcome(`The ${label(delivery.channel)} delivery${delivery.title ? ` of “${delivery.title}”` : ""} is queued again.`);
      client.invalidateQueries({ queryKey: ["admin", "deliveries", "failed"] });
      client.invalidateQueries({ queryKey: ["admin", "system"] });
    },
  });
  const ask = (delivery: FailedDelivery) => {
    setOutcome(null);
    retry.mutate(delivery);
  };
  return (
    <Panel title="Failed for good">
      <p className="mb-3 text-sm text-slate-600">Retry a delivery once what made it fail (an address, a webhook, a provider outage) is fixed.</p>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {retry.isError && <Notice kind="error">The delivery was not retried: {messageOf(retry.error)}</Notice>}
      <Loaded query={failed} what="the failed deliveries" empty={(data) => data.items.length === 0 && pages.page === 1} emptyText="No delivery has failed for good.">
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">Failed deliveries: {data.total.toLocaleString()}, newest first.</p>
            <Table caption="Failed deliveries, newest first" head={["Failed", "Channel", "Deal", "Account", "Why", "Action"]}>
              {data.items.map((delivery) => (
                <tr key={delivery.id}>
                  <Cell className="whitespace-nowrap">{dateTime(delivery.failed_at)}</Cell>
                  <Cell>{label(delivery.channel)}</Cell>
                  <Cell className="break-words">{delivery.title ?? <span className="text-slate-600">—</span>}</Cell>
                  <Cell>
                    <UserLink id={delivery.user_id} />
                  </Cell>
                  <Cell className="max-w-xs text-xs break-words">{delivery.reason}</Cell>
                  <Cell>
                    <Button
                      busy={retry.isPending && retry.variables?.id === delivery.id}
                      label={`Retry: ${label(delivery.channel)} delivery${delivery.title ? ` of ${delivery.title}` : ""}`}
                      onClick={() => ask(delivery)}
                    >
                      Retry
                    </Button>
                  </Cell>
                </tr>
              ))}
            </Table>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </Panel>
  );
}

function DeadLetters() {
  const [limit, setLimit] = useState("20");
  const [max, setMax] = useState("100");
  const [outcome, setOutcome] = useState<RedriveResult | null>(null);
  const [maxProblem, setMaxProblem] = useState<string | undefined>();
  const client = useQueryClient();
  const letters = useQuery({
    queryKey: ["admin", "deliveries", "dead-letters", limit],
    queryFn: () => api<{ items: DeadLetter[] }>("GET", `/api/v1/admin/deliveries/dead-letters${queryString({ limit })}`),
    refetchInterval: 30_000,
  });
  const redrive = useMutation({
    mutationFn: () =>
      api<RedriveResult>("POST", "/api/v1/admin/deliveries/dead-letters/redrive", { max: Number(max) }),
    onSuccess: (result) => {
      setOutcome(result);
      client.invalidateQueries({ queryKey: ["admin", "deliveries"] });
      client.invalidateQueries({ queryKey: ["admin", "system"] });
    },
  });
  const submit = () => {
    setOutcome(null);
    redrive.reset();
    const most = Number(max.trim());
    if (!max.trim() || !Number.isInteger(most) || most < 1 || most > 1000) {
      setMaxProblem("Enter a whole number from 1 to 1000.");
      return;
    }
    setMaxProblem(undefined);
    if (confirmed(`Move up to ${most} dead letters back to the delivery queue? Deliveries already sent are not sent again.`)) redrive.mutate();
  };
  const maxError = maxProblem ?? fieldError(redrive.error, "max");
  return (
    <Panel title="Dead-letter queue">
      <p className="mb-3 text-sm text-slate-600">
        Delivery messages that ran out of attempts. Moving them back queues them again; deliveries already sent are not sent twice.
      </p>
      <form
        className="mb-4 flex flex-wrap items-start gap-x-3"
        onSubmit={(e) => {
          e.preventDefault();
          submit();
        }}
      >
        <div className="w-48">
          <Field label="Most messages to move" name="redrive-max" inputMode="numeric" value={max} onChange={setMax} error={maxError} hint="1 to 1000" />
        </div>
        <div className="mb-4 sm:mt-7">
          <Button type="submit" kind="danger" busy={redrive.isPending}>
            Move back to the delivery queue
          </Button>
        </div>
      </form>
      {outcome && (
        <Notice kind={outcome.kept.length ? "info" : "success"}>
          {outcome.moved.length} {outcome.moved.length === 1 ? "message was" : "messages were"} moved back to the delivery queue.
          {outcome.kept.length > 0 && (
            <span className="block">
              {outcome.kept.length} stayed (sending them back failed): <span className="font-mono text-xs break-all">{outcome.kept.join(", ")}</span>
            </span>
          )}
        </Notice>
      )}
      {redrive.isError && !fieldError(redrive.error, "max") && <Notice kind="error">Nothing was moved: {messageOf(redrive.error)}</Notice>}
      <div className="w-48">
        <SelectField label="Messages shown" name="dead-letters-limit" value={limit} onChange={setLimit} options={[["20", "20"], ["50", "50"], ["100", "100"]]} />
      </div>
      <Loaded query={letters} what="the dead letters" empty={(data) => data.items.length === 0} emptyText="The dead-letter queue is empty.">
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">
              Messages shown: {data.items.length} (read without taking them out of the queue).
            </p>
            <Table caption="Dead letters" head={["Message", "Received", "Channel", "Deal", "Account", "Delivery"]}>
              {data.items.map((letter) => (
                <tr key={letter.message_id}>
                  <Cell className="font-mono text-xs break-all">{letter.message_id}</Cell>
                  <Cell>
                    <Badge tone={letter.receive_count > 3 ? "amber" : "slate"}>{letter.receive_count} times</Badge>
                  </Cell>
                  <Cell>{letter.channel ? label(letter.channel) : "—"}</Cell>
                  <Cell className="break-words">{letter.title ?? "—"}</Cell>
                  <Cell>{letter.user_id ? <UserLink id={letter.user_id} /> : "—"}</Cell>
                  <Cell className="font-mono text-xs break-all">{letter.delivery_id ?? "—"}</Cell>
                </tr>
              ))}
            </Table>
          </>
        )}
      </Loaded>
    </Panel>
  );
}
