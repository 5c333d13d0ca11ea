import { afterEach, describe, expect, it, vi } from "vitest";
import { api, ApiProblem, refreshSession } from "./api";

function json(status: number, body: unknown, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

afterEach(() => {
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe("api", () => {
  it("turns problem+json answers into ApiProblem with field errors", async () => {
    vi.stubGlobal("fetch", vi.fn(async () =>
      json(422, { type: "https://dealpulse.dev/problems/validation", title: "Invalid input", status: 422,
        detail: "One or more fields are invalid", errors: [{ field: "email", message: "needs an @" }] },
        "application/problem+json")));
    const error = (await api("POST", "/api/v1/auth/register", {}).catch((e: unknown) => e)) as ApiProblem;
    expect(error).toBeInstanceOf(ApiProblem);
    expect(error.status).toBe(422);
    expect(error.fieldError("email")).toBe("needs an @");
  });

  it("refreshes once for concurrent 401s and retries each call", async () => {
    localStorage.setItem("dealpulse.refresh", "refresh-1");
    let refreshes = 0;
    const fetchMock = vi.fn(async (path: string, init?: RequestInit) => {
      if (path === "/api/v1/auth/refresh") {
        refreshes += 1;
        return json(200, { access_token: "access-2", refresh_token: "refresh-2", expires_in: 900,
          user: { id: "u", email: "a@example.com" } });
      }
      const auth = (init?.headers as Record<string, string>)?.authorization;
      return auth === "Bearer access-2" ? json(200, { ok: true }) : json(401, { title: "Unauthorized" });
    });
    vi.stubGlobal("fetch", fetchMock);
    const results = await Promise.all([api("GET", "/api/v1/me"), api("GET", "/api/v1/alerts")]);
    expect(results).toEqual([{ ok: true }, { ok: true }]);
    expect(refreshes).toBe(1);
    expect(localStorage.getItem("dealpulse.refresh")).toBe("refresh-2");
  });

  it("forgets a session whose refresh is refused", async () => {
    localStorage.setItem("dealpulse.refresh", "stale");
    vi.stubGlobal("fetch", vi.fn(async () => json(401, { title: "Unauthorized" })));
    expect(await refreshSession()).toBe(false);
    expect(localStorage.getItem("dealpulse.refresh")).toBeNull();
  });
});
