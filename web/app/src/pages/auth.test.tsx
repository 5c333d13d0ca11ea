import { afterEach, expect, it, vi } from "vitest";
import { cleanup, fireEvent, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { VerifyEmail } from "./auth";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function answer(status: number, body: unknown, type = "application/json") {
  return new Response(JSON.stringify(body), { status, headers: { "content-type": type } });
}

const page = (token: string | null) =>
  render(
    <QueryClientProvider client={new QueryClient()}>
      <VerifyEmail token={token} />
    </QueryClientProvider>,
  );

it("confirms only when the button is pressed, so a mail scanner opening the link uses nothing up", async () => {
  const calls: { path: string; body: unknown }[] = [];
  vi.stubGlobal("fetch", vi.fn(async (path: string, init?: RequestInit) => {
    calls.push({ path, body: JSON.parse(String(init?.body)) });
    return answer(200, { verified: true });
  }));
  page("token-123");
  await new Promise((done) => setTimeout(done, 50));
  expect(calls).toEqual([]);
  fireEvent.click(screen.getByRole("button", { name: "Confirm e-mail address" }));
  await screen.findByText(/Your address is verified/);
  expect(calls).toEqual([{ path: "/api/v1/auth/verify-email", body: { token: "token-123" } }]);
});

it("shows the server's reason when the link is used up or expired, and keeps the button", async () => {
  vi.stubGlobal("fetch", vi.fn(async () =>
    answer(410, { title: "Gone", status: 410, detail: "This link has expired; ask for a new one." }, "application/problem+json")));
  page("old-token");
  fireEvent.click(screen.getByRole("button", { name: "Confirm e-mail address" }));
  expect((await screen.findByRole("alert")).textContent).toContain("expired");
  expect(screen.getByRole("button", { name: "Confirm e-mail address" })).toBeTruthy();
});

it("says so when the link has no token, without asking the server", () => {
  const fetchMock = vi.fn();
  vi.stubGlobal("fetch", fetchMock);
  page(null);
  expect(screen.getByRole("alert").textContent).toContain("no token");
  expect(screen.queryByRole("button")).toBeNull();
  expect(fetchMock).not.toHaveBeenCalled();
});
