// Shared pieces: labelled inputs with their error, buttons that show progress, notices,
// loading/empty/error states and page headings. Every control has a visible label.
import { useCallback, useEffect, useId, useState, type FormEvent, type ReactNode } from "react";
import type { UseQueryResult } from "@tanstack/react-query";
import { ApiProblem } from "./lib/api";

const INPUT =
  "w-full rounded border border-slate-400 bg-white px-3 py-2 focus:outline-2 focus:outline-blue-600";

/** What labelled controls share: the label, the control, its hint and its error, and the
 * attributes that tie the control to them. */
function Labelled(props: {
  id: string;
  label: string;
  hint?: string;
  error?: string;
  control: (a11y: { id: string; "aria-invalid"?: true; "aria-describedby"?: string }) => ReactNode;
}) {
  const { id } = props;
  const described = [props.error && `${id}-error`, props.hint && `${id}-hint`].filter(Boolean).join(" ");
  return (
    <div className="mb-4">
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {props.label}
      </label>
      {props.control({
        id,
        "aria-invalid": props.error ? true : undefined,
        "aria-describedby": described || undefined,
      })}
      {props.hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-600">
          {props.hint}
        </p>
      )}
      {props.error && (
        <p id={`${id}-error`} className="mt-1 text-sm text-red-700">
          {props.error}
        </p>
      )}
    </div>
  );
}

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  hint?: string;
  autoComplete?: string;
  required?: boolean;
  placeholder?: string;
  inputMode?: "text" | "decimal" | "numeric" | "tel" | "email" | "url";
  min?: number;
  max?: number;
}) {
  return (
    <Labelled
      id={`field-${props.name}`}
      label={props.label}
      hint={props.hint}
      error={props.error}
      control={(a11y) => (
        <input
          {...a11y}
          name={props.name}
          type={props.type ?? "text"}
          value={props.value}
          required={props.required}
          placeholder={props.placeholder}
          inputMode={props.inputMode}
          min={props.min}
          max={props.max}
          autoComplete={props.autoComplete}
          onChange={(e) => props.onChange(e.target.value)}
          className={INPUT}
        />
      )}
    />
  );
}

export function TextArea(props: {
  label: string;
  name: string;
  value: string;
  onChange: (value: string) => void;
  rows?: number;
  hint?: string;
  error?: string;
  maxLength?: number;
}) {
  return (
    <Labelled
      id={`field-${props.name}`}
      label={props.label}
      hint={props.hint}
      error={props.error}
      control={(a11y) => (
        <textarea
          {...a11y}
          name={props.name}
          rows={props.rows ?? 3}
          value={props.value}
          maxLength={props.maxLength}
          onChange={(e) => props.onChange(e.target.value)}
          className={INPUT}
        />
      )}
    />
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  value: string;
  options: readonly (string | [string, string])[];
  onChange: (value: string) => void;
  error?: string;
}) {
  return (
    <Labelled
      id={`field-${props.name}`}
      label={props.label}
      error={props.error}
      control={(a11y) => (
        <select {...a11y} name={props.name} value={props.value} onChange={(e) => props.onChange(e.target.value)} className={INPUT}>
          {props.options.map((option) => {
            const [value, text] = typeof option === "string" ? [option, option] : option;
            return (
              <option key={value} value={value}>
                {text}
              </option>
            );
          })}
        </select>
      )}
    />
  );
}

/** A group of checkboxes for a set of words (categories, channels, conditions). */
export function CheckboxGroup(props: {
  legend: string;
  name: string;
  options: readonly string[];
  selected: string[];
  onChange: (selected: string[]) => void;
  describe?: (option: string) => string;
  disabled?: (option: string) => boolean;
  error?: string;
}) {
  const toggle = (option: string, on: boolean) =>
    props.onChange(on ? [...props.selected, option] : props.selected.filter((s) => s !== option));
  return (
    <fieldset className="mb-4" aria-describedby={props.error ? `${props.name}-error` : undefined}>
      <legend className="mb-1 text-sm font-medium">{props.legend}</legend>
      <div className="flex flex-wrap gap-2">
        {props.options.map((option) => (
          <label
            key={option}
            className="flex items-center gap-1 rounded border border-slate-300 bg-white px-2 py-1 text-sm has-[:checked]:border-blue-600 has-[:checked]:bg-blue-50"
          >
            <input
              type="checkbox"
              name={props.name}
              value={option}
              checked={props.selected.includes(option)}
              disabled={props.disabled?.(option)}
              onChange={(e) => toggle(option, e.target.checked)}
            />
            {props.describe ? props.describe(option) : option}
          </label>
        ))}
      </div>
      {props.error && (
        <p id={`${props.name}-error`} className="mt-1 text-sm text-red-700">
          {props.error}
        </p>
      )}
    </fieldset>
  );
}

/** Free words typed and turned into removable chips with Enter or a comma. */
export function ChipsInput(props: {
  label: string;
  name: string;
  values: string[];
  onChange: (values: string[]) => void;
  hint?: string;
  error?: string;
}) {
  const [draft, setDraft] = useState("");
  const id = `field-${props.name}`;
  const add = () => {
    const words = draft
      .split(",")
      .map((w) => w.trim())
      .filter((w) => w && !props.values.includes(w));
    if (words.length) props.onChange([...props.values, ...words]);
    setDraft("");
  };
  return (
    <div className="mb-4">
      <label htmlFor={id} className="mb-1 block text-sm font-medium">
        {props.label}
      </label>
      <div className="flex flex-wrap items-center gap-1 rounded border border-slate-400 bg-white p-1">
        {props.values.map((value) => (
          <span key={value} className="flex items-center gap-1 rounded bg-blue-100 px-2 py-0.5 text-sm text-blue-900">
            {value}
            <button
              type="button"
              aria-label={`Remove ${value}`}
              className="rounded px-1 hover:bg-blue-200"
              onClick={() => props.onChange(props.values.filter((v) => v !== value))}
            >
              ×
            </button>
          </span>
        ))}
        <input
          id={id}
          value={draft}
          aria-describedby={props.hint ? `${id}-hint` : undefined}
          onChange={(e) => setDraft(e.target.value)}
          onBlur={add}
          onKeyDown={(e) => {
            if (e.key === "Enter" || e.key === ",") {
              e.preventDefault();
              add();
            } else if (e.key === "Backspace" && !draft && props.values.length) {
              props.onChange(props.values.slice(0, -1));
            }
          }}
          className="min-w-24 flex-1 px-2 py-1 focus:outline-2 focus:outline-blue-600"
        />
      </div>
      {props.hint && (
        <p id={`${id}-hint`} className="mt-1 text-xs text-slate-600">
          {props.hint}
        </p>
      )}
      {props.error && <p className="mt-1 text-sm text-red-700">{props.error}</p>}
    </div>
  );
}

/** A form's submit handler that runs `mutate` instead of the browser's own submit. */
export function submitting(mutate: () => void) {
  return (event: FormEvent) => {
    event.preventDefault();
    mutate();
  };
}

export function Submit({ busy, children }: { busy: boolean; children: ReactNode }) {
  return (
    <button
      type="submit"
      disabled={busy}
      className="w-full rounded bg-blue-700 px-4 py-2 font-medium text-white hover:bg-blue-800 disabled:opacity-60"
    >
      {busy ? "Please wait…" : children}
    </button>
  );
}

export function Button(props: {
  children: ReactNode;
  onClick?: () => void;
  kind?: "primary" | "secondary" | "danger";
  busy?: boolean;
  disabled?: boolean;
  type?: "button" | "submit";
  label?: string;
}) {
  const styles = {
    primary: "bg-blue-700 text-white hover:bg-blue-800",
    secondary: "border border-slate-400 bg-white text-slate-900 hover:bg-slate-100",
    danger: "bg-red-700 text-white hover:bg-red-800",
  };
  return (
    <button
      type={props.type ?? "button"}
      onClick={props.onClick}
      disabled={props.disabled || props.busy}
      aria-label={props.label}
      className={`rounded px-3 py-1.5 text-sm font-medium disabled:opacity-60 ${styles[props.kind ?? "secondary"]}`}
    >
      {props.busy ? "Working…" : props.children}
    </button>
  );
}

export function Notice({ kind, children }: { kind: "error" | "success" | "info"; children: ReactNode }) {
  const style = {
    error: "border-red-300 bg-red-50 text-red-800",
    success: "border-green-300 bg-green-50 text-green-800",
    info: "border-blue-200 bg-blue-50 text-blue-900",
  }[kind];
  return (
    <div role={kind === "error" ? "alert" : "status"} className={`mb-4 rounded border p-3 ${style}`}>
      {children}
    </div>
  );
}

/** The message to show for a failed call, whatever was thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiProblem) {
    const fields = error.errors.map((e) => `${e.field}: ${e.message}`).join("; ");
    return [error.detail || error.title, fields].filter(Boolean).join(" — ");
  }
  return "The server could not be reached. Check your connection and try again.";
}

/** The field's message from a failed call, for forms. */
export function fieldError(error: unknown, field: string): string | undefined {
  return error instanceof ApiProblem ? error.fieldError(field) : undefined;
}

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="mx-auto mt-12 max-w-md rounded-lg bg-white p-6 shadow">
      <h1 className="mb-6 text-2xl font-semibold">{title}</h1>
      {children}
    </main>
  );
}

export function Panel({ title, children, actions }: { title: string; children: ReactNode; actions?: ReactNode }) {
  const id = useId();
  return (
    <section aria-labelledby={id} className="mb-6 rounded-lg bg-white p-4 shadow">
      <div className="mb-3 flex flex-wrap items-center justify-between gap-2">
        <h2 id={id} className="text-lg font-semibold">
          {title}
        </h2>
        {actions}
      </div>
      {children}
    </section>
  );
}

export function PageTitle({ children, actions }: { children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="mb-4 flex flex-wrap items-center justify-between gap-2">
      <h1 className="text-2xl font-semibold">{children}</h1>
      {actions}
    </div>
  );
}

/** Loading, error and empty states of a query, or its content. */
export function Loaded<T>(props: {
  query: UseQueryResult<T>;
  what: string;
  empty?: (data: T) => boolean;
  emptyText?: ReactNode;
  children: (data: T) => ReactNode;
}) {
  const { query } = props;
  if (query.isPending) return <p role="status" className="text-slate-600">Loading {props.what}…</p>;
  if (query.isError)
    return (
      <Notice kind="error">
        Could not load {props.what}: {messageOf(query.error)}{" "}
        <button type="button" className="underline" onClick={() => query.refetch()}>
          Try again
        </button>
      </Notice>
    );
  if (props.empty?.(query.data)) return <p className="text-slate-600">{props.emptyText}</p>;
  return <>{props.children(query.data)}</>;
}

export function Badge({ children, tone = "slate" }: { children: ReactNode; tone?: "slate" | "green" | "amber" | "red" | "blue" }) {
  const tones = {
    slate: "bg-slate-200 text-slate-900",
    green: "bg-green-100 text-green-900",
    amber: "bg-amber-100 text-amber-900",
    red: "bg-red-100 text-red-900",
    blue: "bg-blue-100 text-blue-900",
  };
  return <span className={`inline-block rounded px-2 py-0.5 text-xs font-medium ${tones[tone]}`}>{children}</span>;
}

/** A deal score 0–100 as a coloured badge. */
export function ScoreBadge({ score }: { score: number | null | undefined }) {
  if (score == null) return <Badge>not scored</Badge>;
  const tone = score >= 75 ? "green" : score >= 50 ? "amber" : "slate";
  return <Badge tone={tone}>score {score}</Badge>;
}

type CursorPages = ReturnType<typeof useCursorPages>;

/** Previous/next buttons over cursor pages; `next` is the list's `next_cursor`. */
export function Pager({ pages, next }: { pages: CursorPages; next: string | null }) {
  return (
    <nav aria-label="Pages" className="mt-4 flex gap-2">
      <Button onClick={pages.previous} disabled={pages.page <= 1}>
        Previous page
      </Button>
      <Button onClick={() => next && pages.next(next)} disabled={next === null}>
        Next page
      </Button>
    </nav>
  );
}

/** Cursor paging state: the cursors of the pages visited so far, back to the first page
 * whenever `filters` change (compared by value, during render, so no request is made with a
 * cursor of the old filters). */
export function useCursorPages(filters: unknown = null) {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const key = JSON.stringify(filters);
  const [owner, setOwner] = useState(key);
  if (owner !== key) {
    setOwner(key);
    setCursors([null]);
  }
  const next = useCallback((cursor: string) => setCursors((c) => [...c, cursor]), []);
  const previous = useCallback(() => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)), []);
  const current = owner === key ? cursors : [null];
  return { cursor: current[current.length - 1], page: current.length, next, previous };
}

/** A figure with its label, in a `<dl>` grid. */
export function StatCard({ label, value, hint }: { label: string; value: ReactNode; hint?: ReactNode }) {
  return (
    <div className="rounded-lg bg-white p-4 shadow">
      <dt className="text-sm text-slate-600">{label}</dt>
      <dd className="mt-1 text-2xl font-semibold break-words">{value}</dd>
      {hint && <dd className="mt-1 text-xs text-slate-600">{hint}</dd>}
    </div>
  );
}

/** `value` once it has stopped changing for `delay` ms (search boxes). */
export function useDebounced<T>(value: T, delay = 300): T {
  const [settled, setSettled] = useState(value);
  useEffect(() => {
    const timer = setTimeout(() => setSettled(value), delay);
    return () => clearTimeout(timer);
  }, [value, delay]);
  return settled;
}

export const INPUT_CLASS = INPUT;
