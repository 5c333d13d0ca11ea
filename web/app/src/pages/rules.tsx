// Deal alert rules: the list (search, filters, sort, bulk pause/resume/delete), the create/edit
// form with every criterion of the rule model, live feedback on the boolean query, and the
// dry run that shows what would have matched in the last days and why the rest did not.
import { useEffect, useState, type FormEvent } from "react";
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { api, ApiProblem, queryString } from "../lib/api";
import { navigate } from "../lib/route";
import { dateTime, money, relative, type Money, externalHref } from "../lib/format";
import { CABINS, CATEGORIES, CHANNELS, CONDITIONS, FREQUENCIES, label } from "../lib/vocabulary";
import { draftOf, emptyDraft, keywordsToText, requestOf, type Rule, type RuleDraft } from "../lib/rules";
import {
  Badge,
  Button,
  CheckboxGroup,
  ChipsInput,
  Field,
  INPUT_CLASS,
  Loaded,
  Notice,
  PageTitle,
  Pager,
  Panel,
  ScoreBadge,
  SelectField,
  fieldError,
  messageOf,
  useCursorPages, submitting
} from "../components";

interface RuleList {
  items: Rule[];
  next_cursor: string | null;
  total: number;
}

export function RulesPage({ id, query }: { id: string | null; query: URLSearchParams }) {
  if (id === "new") return <RuleEditor rule={null} />;
  if (id) return <RuleDetail id={id} created={query.has("created")} />;
  return <RuleListView />;
}

function RuleListView() {
  const [search, setSearch] = useState("");
  const [state, setState] = useState("");
  const [category, setCategory] = useState("");
  const [sort, setSort] = useState("-created_at");
  const [selected, setSelected] = useState<string[]>([]);
  const [outcome, setOutcome] = useState<string | null>(null);
  const pages = useCursorPages([search, state, category, sort]);
  const client = useQueryClient();
  const params = { q: search.trim(), enabled: state, category, sort, limit: 20, cursor: pages.cursor };
  const rules = useQuery({
    queryKey: ["rules", params],
    queryFn: () => api<RuleList>("GET", `/api/v1/deal-alert-rules${queryString(params)}`),
  });
  const bulk = useMutation({
    mutationFn: (action: string) =>
      api<{ results: { id: string; status: string }[] }>("POST", "/api/v1/deal-alert-rules/bulk", { action, ids: selected }),
    onSuccess: (result, action) => {
      const done = result.results.filter((r) => r.status !== "not_found").length;
      setOutcome(`${label(action)}: ${done} of ${result.results.length} rules.`);
      setSelected([]);
      client.invalidateQueries({ queryKey: ["rules"] });
    },
  });
  const toggle = (id: string, on: boolean) => setSelected((s) => (on ? [...s, id] : s.filter((x) => x !== id)));
  return (
    <>
      <PageTitle
        actions={
          <a href="#/rules/new" className="rounded bg-blue-700 px-3 py-1.5 text-sm font-medium text-white hover:bg-blue-800">
            New rule
          </a>
        }
      >
        Deal alert rules
      </PageTitle>
      <div className="mb-4 grid grid-cols-1 gap-x-4 sm:grid-cols-2 lg:grid-cols-4">
        <Field label="Search by name" name="rule-search" type="search" value={search} onChange={setSearch} />
        <SelectField
          label="State"
          name="rule-state"
          value={state}
          onChange={setState}
          options={[["", "All"], ["true", "Active"], ["false", "Paused"]]}
        />
        <SelectField
          label="Category"
          name="rule-category"
          value={category}
          onChange={setCategory}
          options={[["", "Any category"], ...CATEGORIES.map((c) => [c, label(c)] as [string, string])]}
        />
        <SelectField
          label="Sort by"
          name="rule-sort"
          value={sort}
          onChange={setSort}
          options={[
            ["-created_at", "Newest first"],
            ["created_at", "Oldest first"],
            ["name", "Name"],
            ["-updated_at", "Recently changed"],
            ["-last_triggered_at", "Recently matched"],
          ]}
        />
      </div>
      {outcome && <Notice kind="success">{outcome}</Notice>}
      {bulk.isError && <Notice kind="error">{messageOf(bulk.error)}</Notice>}
      <div className="mb-3 flex flex-wrap items-center gap-2" role="group" aria-label="Bulk actions">
        <span className="text-sm text-slate-700">{selected.length} selected</span>
        <Button disabled={!selected.length} busy={bulk.isPending} onClick={() => bulk.mutate("pause")}>
          Pause selected
        </Button>
        <Button disabled={!selected.length} busy={bulk.isPending} onClick={() => bulk.mutate("resume")}>
          Resume selected
        </Button>
        <Button
          kind="danger"
          disabled={!selected.length}
          busy={bulk.isPending}
          onClick={() => window.confirm(`Delete ${selected.length} rules?`) && bulk.mutate("delete")}
        >
          Delete selected
        </Button>
      </div>
      <Loaded
        query={rules}
        what="your rules"
        empty={(data) => data.items.length === 0}
        emptyText={
          search || state || category ? (
            "No rule matches these filters."
          ) : (
            <>
              You have no rules yet. <a className="text-blue-700 underline" href="#/rules/new">Create your first rule</a> to be
              alerted about deals.
            </>
          )
        }
      >
        {(data) => (
          <>
            <p className="mb-2 text-sm text-slate-600">{data.total} rules</p>
            <ul className="space-y-2">
              {data.items.map((rule) => (
                <RuleRow key={rule.id} rule={rule} selected={selected.includes(rule.id)} onSelect={(on) => toggle(rule.id, on)} />
              ))}
            </ul>
            <Pager pages={pages} next={data.next_cursor} />
          </>
        )}
      </Loaded>
    </>
  );
}

function criteria(rule: Rule): string {
  const parts: string[] = [];
  if (rule.query_text) parts.push(`“${rule.query_text}”`);
  if (rule.min_price || rule.max_price)
    parts.push(`${rule.min_price ? money(rule.min_price) : "any"} – ${rule.max_price ? money(rule.max_price) : "any"}`);
  if (rule.categories.length) parts.push(rule.categories.map(label).join(", "));
  if (rule.location) parts.push(`within ${rule.radius?.value ?? "?"} ${rule.radius?.unit ?? ""} of ${rule.location.label}`);
  if (rule.flight) parts.push(`flights from ${rule.flight.origins.map((p) => (Array.isArray(p.code) ? p.code[0] : p.code)).join("/")}`);
  if (rule.min_score) parts.push(`score ≥ ${rule.min_score}`);
  return parts.join(" · ") || "every deal";
}

function RuleRow({ rule, selected, onSelect }: { rule: Rule; selected: boolean; onSelect: (on: boolean) => void }) {
  const client = useQueryClient();
  const change = useMutation({
    mutationFn: (action: "pause" | "resume" | "delete") =>
      action === "delete"
        ? api("DELETE", `/api/v1/deal-alert-rules/${rule.id}`)
        : api("POST", `/api/v1/deal-alert-rules/${rule.id}/${action}`),
    onSuccess: () => client.invalidateQueries({ queryKey: ["rules"] }),
  });
  return (
    <li className="flex flex-wrap items-start gap-3 rounded-lg bg-white p-3 shadow">
      <input
        type="checkbox"
        className="mt-1.5"
        aria-label={`Select ${rule.name}`}
        checked={selected}
        onChange={(e) => onSelect(e.target.checked)}
      />
      <div className="min-w-0 flex-1">
        <a href={`#/rules/${rule.id}`} className="font-medium text-blue-700 underline">
          {rule.name}
        </a>{" "}
        {rule.enabled ? <Badge tone="green">active</Badge> : <Badge>paused</Badge>}
        <p className="truncate text-sm text-slate-700">{criteria(rule)}</p>
        <p className="text-xs text-slate-600">
          Last matched {relative(rule.last_triggered_at)} · {rule.channels ? rule.channels.join(", ") : "default channels"}
        </p>
        {change.isError && <p className="text-sm text-red-700">{messageOf(change.error)}</p>}
      </div>
      <div className="flex gap-2">
        <Button busy={change.isPending} onClick={() => change.mutate(rule.enabled ? "pause" : "resume")} label={`${rule.enabled ? "Pause" : "Resume"} ${rule.name}`}>
          {rule.enabled ? "Pause" : "Resume"}
        </Button>
        <Button
          kind="danger"
          busy={change.isPending}
          label={`Delete ${rule.name}`}
          onClick={() => window.confirm(`Delete the rule “${rule.name}”?`) && change.mutate("delete")}
        >
          Delete
        </Button>
      </div>
    </li>
  );
}

function RuleDetail({ id, created }: { id: string; created: boolean }) {
  const rule = useQuery({ queryKey: ["rule", id], queryFn: () => api<Rule>("GET", `/api/v1/deal-alert-rules/${id}`) });
  return (
    <Loaded query={rule} what="the rule">
      {(data) => (
        <>
          <RuleEditor rule={data} created={created} />
          <RuleTest id={data.id} />
        </>
      )}
    </Loaded>
  );
}

interface QueryCheck {
  valid: boolean;
  description?: string;
  error?: { message: string; start?: number; end?: number };
}

/** Asks the server to parse the query as the user types (debounced), so the feedback is the
 * real parser's. */
function useQueryCheck(query: string): QueryCheck | null {
  const [check, setCheck] = useState<QueryCheck | null>(null);
  useEffect(() => {
    if (!query.trim()) {
      setCheck(null);
      return;
    }
    let live = true;
    const timer = setTimeout(() => {
      api<QueryCheck>("POST", "/api/v1/deal-alert-rules/parse-query", { query })
        .then((result) => live && setCheck(result))
        .catch((error) => live && setCheck({ valid: false, error: { message: messageOf(error) } }));
    }, 300);
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [query]);
  return check;
}

export function QueryFeedback({ text }: { text: string }) {
  const check = useQueryCheck(text);
  if (!check) return null;
  if (check.valid)
    return (
      <p id="query-feedback" role="status" className="mt-1 text-sm text-green-800">
        ✓ {check.description}
      </p>
    );
  const { start, end } = check.error ?? {};
  return (
    <div id="query-feedback" role="status" className="mt-1 text-sm text-red-700">
      <p>✗ {check.error?.message}</p>
      {start !== undefined && (
        <p className="font-mono text-xs whitespace-pre-wrap">
          {text.slice(0, start)}
          <mark className="bg-red-200">{text.slice(start, Math.max(end ?? start + 1, start + 1)) || " "}</mark>
          {text.slice(Math.max(end ?? start + 1, start + 1))}
        </p>
      )}
    </div>
  );
}

function RuleEditor({ rule, created = false }: { rule: Rule | null; created?: boolean }) {
  const [draft, setDraft] = useState<RuleDraft>(() => (rule ? draftOf(rule) : emptyDraft()));
  const [saved, setSaved] = useState(false);
  const client = useQueryClient();
  const set = <K extends keyof RuleDraft>(key: K) => (value: RuleDraft[K]) => {
    setSaved(false);
    setDraft((d) => ({ ...d, [key]: value }));
  };
  const save = useMutation({
    mutationFn: () =>
      rule
        ? api<Rule>("PATCH", `/api/v1/deal-alert-rules/${rule.id}`, requestOf(draft))
        : api<Rule>("POST", "/api/v1/deal-alert-rules", requestOf(draft)),
    onSuccess: (stored) => {
      client.invalidateQueries({ queryKey: ["rules"] });
      client.setQueryData(["rule", stored.id], stored);
      setSaved(true);
      if (!rule) navigate(`/rules/${stored.id}?created`);
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    save.mutate();
  };
  const error = (field: string) => fieldError(save.error, field);
  const queryText = draft.queryMode === "text" ? draft.queryText : keywordsToText(draft.allOf, draft.anyOf, draft.noneOf);
  const otherErrors =
    save.error instanceof ApiProblem
      ? save.error.errors.filter((e) => !FORM_FIELDS.some((f) => e.field === f || e.field.startsWith(`${f}.`)))
      : [];
  return (
    <form onSubmit={submit} noValidate aria-labelledby="rule-form-title">
      <PageTitle>
        <span id="rule-form-title">{rule ? `Edit “${rule.name}”` : "New deal alert rule"}</span>
      </PageTitle>
      {save.isError && (
        <Notice kind="error">
          {save.error instanceof ApiProblem && save.error.errors.length
            ? "Some fields need a change — see the messages below."
            : messageOf(save.error)}
          {otherErrors.map((e) => (
            <span key={e.field} className="block">
              {e.field}: {e.message}
            </span>
          ))}
        </Notice>
      )}
      {saved && <Notice kind="success">Rule saved.</Notice>}
      {created && !saved && !save.isError && <Notice kind="success">Rule created. Run a test below to see what it would have matched.</Notice>}
      <Panel title="What to look for">
        <Field label="Name" name="name" value={draft.name} onChange={set("name")} error={error("name")} required />
        <fieldset className="mb-3">
          <legend className="mb-1 text-sm font-medium">Keywords</legend>
          <div className="flex gap-4 text-sm">
            <label className="flex items-center gap-1">
              <input
                type="radio"
                name="query-mode"
                checked={draft.queryMode === "keywords"}
                onChange={() => set("queryMode")("keywords")}
              />
              Keyword lists
            </label>
            <label className="flex items-center gap-1">
              <input
                type="radio"
                name="query-mode"
                checked={draft.queryMode === "text"}
                onChange={() => {
                  if (draft.queryMode === "keywords") set("queryText")(queryText);
                  set("queryMode")("text");
                }}
              />
              Boolean query
            </label>
          </div>
        </fieldset>
        {draft.queryMode === "keywords" ? (
          <div className="grid grid-cols-1 gap-x-4 md:grid-cols-3">
            <ChipsInput label="All of these words" name="all-of" values={draft.allOf} onChange={set("allOf")} hint="Enter or comma adds a word; a phrase may hold spaces." />
            <ChipsInput label="Any of these words" name="any-of" values={draft.anyOf} onChange={set("anyOf")} />
            <ChipsInput label="None of these words" name="none-of" values={draft.noneOf} onChange={set("noneOf")} />
          </div>
        ) : (
          <div className="mb-4">
            <label htmlFor="field-query" className="mb-1 block text-sm font-medium">
              Boolean query
            </label>
            <input
              id="field-query"
              value={draft.queryText}
              onChange={(e) => set("queryText")(e.target.value)}
              aria-describedby="query-help query-feedback"
              className={`${INPUT_CLASS} font-mono`}
              placeholder='gaming (pc OR desktop) -mac "rtx 4070"'
            />
            <p id="query-help" className="mt-1 text-xs text-slate-600">
              Words must all appear; <code>OR</code> between words in brackets; <code>-word</code> excludes; quotes keep a phrase.
            </p>
          </div>
        )}
        {error("query") && <p className="mb-2 text-sm text-red-700">{error("query")}</p>}
        <QueryFeedback text={queryText} />
      </Panel>
      <Panel title="Price, category and condition">
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-3">
          <Field label="Lowest price" name="min_price" inputMode="decimal" value={draft.minPrice} onChange={set("minPrice")} error={error("min_price")} />
          <Field label="Highest price" name="max_price" inputMode="decimal" value={draft.maxPrice} onChange={set("maxPrice")} error={error("max_price")} />
          <SelectField label="Currency" name="currency" value={draft.currency} onChange={set("currency")} options={["USD", "EUR", "GBP", "CAD", "AUD", "CHF", "JPY", "SEK", "NOK", "DKK", "PLN"]} />
        </div>
        <CheckboxGroup legend="Categories (none: any)" name="categories" options={CATEGORIES} selected={draft.categories} onChange={set("categories")} describe={label} error={error("categories")} />
        <CheckboxGroup legend="Condition (none: any)" name="conditions" options={CONDITIONS} selected={draft.conditions} onChange={set("conditions")} describe={label} error={error("conditions")} />
        <div className="mb-4">
          <label htmlFor="field-min-score" className="mb-1 block text-sm font-medium">
            Lowest deal score: {draft.minScore === 0 ? "any" : draft.minScore}
          </label>
          <input
            id="field-min-score"
            type="range"
            min={0}
            max={100}
            step={5}
            value={draft.minScore}
            onChange={(e) => set("minScore")(Number(e.target.value))}
            className="w-full max-w-md"
          />
          {error("min_score") && <p className="text-sm text-red-700">{error("min_score")}</p>}
        </div>
        <ChipsInput label="Only from these sources (none: all)" name="sources" values={draft.sources} onChange={set("sources")} error={error("sources")} />
      </Panel>
      <Panel title="Where">
        <SelectField
          label="Near"
          name="location-kind"
          value={draft.locationKind}
          onChange={(v) => set("locationKind")(v as RuleDraft["locationKind"])}
          options={[["none", "Anywhere"], ["city", "A city"], ["airport", "An airport"], ["coordinates", "Coordinates"]]}
          error={error("location")}
        />
        {draft.locationKind === "city" && (
          <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2">
            <Field label="City" name="city" value={draft.city} onChange={set("city")} />
            <Field label="Country code" name="country" value={draft.country} onChange={set("country")} placeholder="US" />
          </div>
        )}
        {draft.locationKind === "airport" && <Field label="Airport (IATA code)" name="airport" value={draft.airport} onChange={set("airport")} placeholder="BOS" />}
        {draft.locationKind === "coordinates" && (
          <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2">
            <Field label="Latitude" name="lat" inputMode="decimal" value={draft.lat} onChange={set("lat")} hint={draft.locationLabel || undefined} />
            <Field label="Longitude" name="lon" inputMode="decimal" value={draft.lon} onChange={set("lon")} />
          </div>
        )}
        {draft.locationKind !== "none" && (
          <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2">
            <Field label="Within" name="radius" inputMode="decimal" value={draft.radius} onChange={set("radius")} error={error("radius")} />
            <SelectField label="Unit" name="radius-unit" value={draft.radiusUnit} onChange={(v) => set("radiusUnit")(v as "km" | "mi")} options={[["km", "kilometres"], ["mi", "miles"]]} />
          </div>
        )}
      </Panel>
      <Panel title="Flights">
        <label className="mb-3 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={draft.isFlight} onChange={(e) => set("isFlight")(e.target.checked)} />
          This rule is about flights
        </label>
        {draft.isFlight && (
          <>
            <div className="grid grid-cols-1 gap-x-4 md:grid-cols-2">
              <ChipsInput label="From (airports, cities, countries or regions)" name="origins" values={draft.origins} onChange={set("origins")} hint="BOS, Paris, FR, Europe" error={error("flight.origins") ?? error("flight")} />
              <ChipsInput label="To (none: anywhere)" name="destinations" values={draft.destinations} onChange={set("destinations")} error={error("flight.destinations")} />
              <Field label="Depart from" name="depart-from" type="date" value={draft.departFrom} onChange={set("departFrom")} error={error("flight.depart")} />
              <Field label="Depart by" name="depart-to" type="date" value={draft.departTo} onChange={set("departTo")} />
              <Field label="Return from" name="return-from" type="date" value={draft.returnFrom} onChange={set("returnFrom")} error={error("flight.return_window")} />
              <Field label="Return by" name="return-to" type="date" value={draft.returnTo} onChange={set("returnTo")} />
              <SelectField label="Trip" name="trip-type" value={draft.tripType} onChange={(v) => set("tripType")(v as RuleDraft["tripType"])} options={[["", "Either"], ["round_trip", "Round trip"], ["one_way", "One way"]]} />
              <Field label="Most stops" name="max-stops" inputMode="numeric" value={draft.maxStops} onChange={set("maxStops")} />
            </div>
            <CheckboxGroup legend="Cabins (none: any)" name="cabins" options={CABINS} selected={draft.cabins} onChange={set("cabins")} describe={label} />
          </>
        )}
      </Panel>
      <Panel title="How to tell you">
        <label className="mb-3 flex items-center gap-2 text-sm">
          <input type="checkbox" checked={draft.useDefaultChannels} onChange={(e) => set("useDefaultChannels")(e.target.checked)} />
          Use my default channels (Preferences)
        </label>
        {!draft.useDefaultChannels && (
          <CheckboxGroup legend="Channels for this rule" name="channels" options={CHANNELS} selected={draft.channels} onChange={set("channels")} describe={label} error={error("channels")} />
        )}
        <div className="grid grid-cols-1 gap-x-4 sm:grid-cols-2">
          <SelectField
            label="Frequency"
            name="frequency"
            value={draft.frequency}
            onChange={set("frequency")}
            options={[["", "My default"], ...FREQUENCIES.map((f) => [f, label(f)] as [string, string])]}
            error={error("frequency")}
          />
          <Field label="Quiet period after an alert (minutes)" name="cooldown" inputMode="numeric" value={draft.cooldownMinutes} onChange={set("cooldownMinutes")} error={error("cooldown_minutes")} />
        </div>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" checked={draft.enabled} onChange={(e) => set("enabled")(e.target.checked)} />
          Active
        </label>
      </Panel>
      <div className="mb-8 flex gap-2">
        <Button type="submit" kind="primary" busy={save.isPending}>
          {rule ? "Save changes" : "Create rule"}
        </Button>
        <a href="#/rules" className="rounded border border-slate-400 bg-white px-3 py-1.5 text-sm">
          Back to rules
        </a>
      </div>
    </form>
  );
}

const FORM_FIELDS = ["name", "query", "min_price", "max_price", "categories", "conditions", "location", "radius", "min_score", "sources", "flight", "channels", "frequency", "cooldown_minutes"];

interface ListingSummary {
  id: string;
  source: string;
  title: string;
  url: string;
  price: Money;
  category: string | null;
  score: number | null;
  seen_at: string;
}

interface TestResult {
  examined: number;
  days: number;
  matches: ListingSummary[];
  near_misses: { listing: ListingSummary; failed: { criterion: string; reason: string }[] }[];
}

function RuleTest({ id }: { id: string }) {
  const [days, setDays] = useState("7");
  const test = useMutation({
    mutationFn: () => api<TestResult>("POST", `/api/v1/deal-alert-rules/${id}/test`, { days: Number(days) }),
  });
  return (
    <Panel title="Test this rule">
      <form
        className="mb-3 flex flex-wrap items-end gap-2"
        onSubmit={submitting(() => test.mutate())}
      >
        <SelectField label="Look back" name="test-days" value={days} onChange={setDays} options={[["1", "1 day"], ["7", "7 days"], ["30", "30 days"], ["90", "90 days"]]} />
        <div className="mb-4">
          <Button type="submit" kind="primary" busy={test.isPending}>
            Run test
          </Button>
        </div>
      </form>
      {test.isError && <Notice kind="error">{messageOf(test.error)}</Notice>}
      {test.data && (
        <div aria-live="polite">
          <p className="mb-2 text-sm">
            {test.data.examined} listings of the last {test.data.days} days examined: {test.data.matches.length} match.
          </p>
          <h3 className="font-medium">Matches</h3>
          {test.data.matches.length === 0 ? (
            <p className="mb-3 text-sm text-slate-600">Nothing matched.</p>
          ) : (
            <ul className="mb-3 divide-y">
              {test.data.matches.map((listing) => (
                <li key={listing.id} className="py-1 text-sm">
                  <a href={externalHref(listing.url)} target="_blank" rel="noreferrer" className="text-blue-700 underline">
                    {listing.title}
                  </a>{" "}
                  {money(listing.price)} <ScoreBadge score={listing.score} /> <span className="text-slate-600">{dateTime(listing.seen_at)}</span>
                </li>
              ))}
            </ul>
          )}
          <h3 className="font-medium">Near misses, and why not</h3>
          {test.data.near_misses.length === 0 ? (
            <p className="text-sm text-slate-600">No listing came close.</p>
          ) : (
            <ul className="divide-y">
              {test.data.near_misses.map(({ listing, failed }) => (
                <li key={listing.id} className="py-1 text-sm">
                  {listing.title} {money(listing.price)}
                  <ul className="ml-4 list-disc text-red-800">
                    {failed.map((miss) => (
                      <li key={miss.criterion}>
                        {label(miss.criterion)}: {miss.reason}
                      </li>
                    ))}
                  </ul>
                </li>
              ))}
            </ul>
          )}
        </div>
      )}
    </Panel>
  );
}
