// Shared form pieces: labelled inputs with their error, a submit button that shows progress,
// and notices for errors and success. Every input has a visible label for screen readers.
import type { ReactNode } from "react";
import { ApiProblem } from "./lib/api";

export function Field(props: {
  label: string;
  name: string;
  type?: string;
  value: string;
  onChange: (value: string) => void;
  error?: string;
  autoComplete?: string;
  required?: boolean;
}) {
  const id = `field-${props.name}`;
  return (
    <div className="mb-4">
      <label htmlFor={id} className="block text-sm font-medium mb-1">
        {props.label}
      </label>
      <input
        id={id}
        name={props.name}
        type={props.type ?? "text"}
        value={props.value}
        required={props.required}
        autoComplete={props.autoComplete}
        aria-invalid={props.error ? true : undefined}
        aria-describedby={props.error ? `${id}-error` : undefined}
        onChange={(e) => props.onChange(e.target.value)}
        className="w-full rounded border border-slate-300 px-3 py-2 focus:outline-2 focus:outline-blue-600"
      />
      {props.error && (
        <p id={`${id}-error`} className="mt-1 text-sm text-red-700">
          {props.error}
        </p>
      )}
    </div>
  );
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

export function Notice({ kind, children }: { kind: "error" | "success"; children: ReactNode }) {
  const style =
    kind === "error"
      ? "border-red-300 bg-red-50 text-red-800"
      : "border-green-300 bg-green-50 text-green-800";
  return (
    <div role={kind === "error" ? "alert" : "status"} className={`mb-4 rounded border p-3 ${style}`}>
      {children}
    </div>
  );
}

/** The message to show for a failed call, whatever was thrown. */
export function messageOf(error: unknown): string {
  if (error instanceof ApiProblem) return error.detail || error.title;
  return "The server could not be reached. Check your connection and try again.";
}

export function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <main className="mx-auto mt-12 max-w-md rounded-lg bg-white p-6 shadow">
      <h1 className="mb-6 text-2xl font-semibold">{title}</h1>
      {children}
    </main>
  );
}
