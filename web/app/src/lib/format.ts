// Display helpers: money in the user's locale, dates, and relative times.

export interface Money {
  amount: string;
  currency: string;
}

export function money(value: Money | null | undefined): string {
  if (!value) return "—";
  try {
    return new Intl.NumberFormat(undefined, { style: "currency", currency: value.currency }).format(
      Number(value.amount),
    );
  } catch {
    return `${value.amount} ${value.currency}`;
  }
}

export function dateTime(iso: string | null | undefined): string {
  if (!iso) return "—";
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? iso : at.toLocaleString();
}

/** "3 min ago", "in 2 h": coarse, for lists. */
export function relative(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return "never";
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  if (Number.isNaN(seconds)) return iso;
  const units: [Intl.RelativeTimeFormatUnit, number][] = [
    ["day", 86_400],
    ["hour", 3_600],
    ["minute", 60],
  ];
  const format = new Intl.RelativeTimeFormat(undefined, { numeric: "auto" });
  for (const [unit, size] of units) {
    if (Math.abs(seconds) >= size) return format.format(Math.trunc(seconds / size), unit);
  }
  return format.format(seconds, "second");
}

/** Percent off from `was` to `now`, rounded; null when there is no lower price. */
export function discount(now: Money, was: Money | null | undefined): number | null {
  if (!was || was.currency !== now.currency) return null;
  const before = Number(was.amount);
  const after = Number(now.amount);
  if (!(before > 0) || after >= before) return null;
  return Math.round(((before - after) / before) * 100);
}

/** A link target for an address that came from a listing, feed or newsletter: http(s) only,
 * so a `javascript:` or `data:` URL slipped into a source can never run in the dashboard. */
export function externalHref(url: string | null | undefined): string | undefined {
  if (!url) return undefined;
  try {
    const parsed = new URL(url);
    return parsed.protocol === "https:" || parsed.protocol === "http:" ? parsed.href : undefined;
  } catch {
    return undefined;
  }
}
