// The API client: JSON in and out, RFC 9457 problems as errors, and the session kept here.
// The access token lives in memory only; the refresh token in localStorage so a reload keeps
// the session. A 401 triggers one refresh (shared by concurrent callers) and a single retry.

export interface FieldError {
  field: string;
  message: string;
}

export class ApiProblem extends Error {
  constructor(
    public status: number,
    public type: string,
    public title: string,
    public detail: string,
    public errors: FieldError[] = [],
    /** Seconds to wait before trying again (`Retry-After`), on 429 and 503. */
    public retryAfter: number | null = null,
  ) {
    super(detail || title);
  }
  /** The message for one field, for forms. */
  fieldError(field: string): string | undefined {
    return this.errors.find((e) => e.field === field)?.message;
  }
}

export interface UserProfile {
  id: string;
  email: string;
  display_name: string | null;
  role: "user" | "admin";
  status: "active" | "suspended";
  timezone: string;
  locale: string;
  email_verified: boolean;
}

interface TokenPair {
  access_token: string;
  refresh_token: string;
  expires_in: number;
  user: UserProfile;
}

const REFRESH_KEY = "dealpulse.refresh";
let accessToken: string | null = null;
let refreshing: Promise<boolean> | null = null;
const listeners = new Set<(user: UserProfile | null) => void>();

/** Called with the signed-in user after log-in or refresh, and with null after log-out. */
export function onSession(listener: (user: UserProfile | null) => void): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

function keep(pair: TokenPair) {
  accessToken = pair.access_token;
  localStorage.setItem(REFRESH_KEY, pair.refresh_token);
  listeners.forEach((l) => l(pair.user));
}

function forget() {
  accessToken = null;
  localStorage.removeItem(REFRESH_KEY);
  listeners.forEach((l) => l(null));
}

async function problemOf(response: Response): Promise<ApiProblem> {
  const wait = Number(response.headers.get("retry-after"));
  const retryAfter = Number.isFinite(wait) && wait > 0 ? wait : null;
  try {
    const body = await response.json();
    return new ApiProblem(
      response.status,
      body.type ?? "about:blank",
      body.title ?? response.statusText,
      body.detail ?? "",
      body.errors ?? [],
      retryAfter,
    );
  } catch {
    return new ApiProblem(response.status, "about:blank", response.statusText, "", [], retryAfter);
  }
}

/** Renews the session from the stored refresh token; false when there is none or it failed. */
export function refreshSession(): Promise<boolean> {
  const token = localStorage.getItem(REFRESH_KEY);
  if (!token) return Promise.resolve(false);
  refreshing ??= fetch("/api/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: token }),
  })
    .then(async (response) => {
      if (!response.ok) {
        forget();
        return false;
      }
      keep(await response.json());
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** A JSON call: `body` is sent as JSON. */
export function api<T>(method: string, path: string, body?: unknown): Promise<T> {
  return send<T>(method, path, body === undefined ? undefined : { body: JSON.stringify(body), contentType: "application/json" });
}

/** A call with a raw body (a CSV upload), sent as `contentType`. */
export function apiRaw<T>(method: string, path: string, body: BodyInit, contentType: string): Promise<T> {
  return send<T>(method, path, { body, contentType });
}

async function send<T>(
  method: string,
  path: string,
  payload: { body: BodyInit; contentType: string } | undefined,
  retried = false,
): Promise<T> {
  const headers: Record<string, string> = { accept: "application/json" };
  if (payload) headers["content-type"] = payload.contentType;
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  const response = await fetch(path, { method, headers, body: payload?.body });
  if (response.status === 401 && !retried && (await refreshSession())) {
    return send<T>(method, path, payload, true);
  }
  if (!response.ok) throw await problemOf(response);
  if (response.status === 204) return undefined as T;
  const type = response.headers.get("content-type") ?? "";
  return (type.includes("json") ? response.json() : response.text()) as Promise<T>;
}

export async function logIn(email: string, password: string): Promise<UserProfile> {
  const pair = await api<TokenPair>("POST", "/api/v1/auth/login", { email, password });
  keep(pair);
  return pair.user;
}

/** Ends this session on the server (the access token names it), then forgets it here. */
export async function logOut(): Promise<void> {
  try {
    if (accessToken) await api("POST", "/api/v1/auth/logout");
  } finally {
    forget();
  }
}

/** `?a=1&b=x` from the set values (empty strings, null and undefined left out). */
export function queryString(params: Record<string, string | number | boolean | null | undefined>): string {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/** Downloads an authenticated file (CSV, zip): fetched with the session, saved through a blob. */
export async function download(path: string, filename: string): Promise<void> {
  const headers: Record<string, string> = {};
  if (accessToken) headers.authorization = `Bearer ${accessToken}`;
  let response = await fetch(path, { headers });
  if (response.status === 401 && (await refreshSession())) {
    response = await fetch(path, { headers: { authorization: `Bearer ${accessToken}` } });
  }
  if (!response.ok) throw await problemOf(response);
  const url = URL.createObjectURL(await response.blob());
  const link = document.createElement("a");
  link.href = url;
  link.download = filename;
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
