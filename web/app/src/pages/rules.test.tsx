import { afterEach, expect, it, vi } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { QueryFeedback } from "./rules";

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function parseAnswers(byQuery: Record<string, unknown>) {
  const asked: string[] = [];
  vi.stubGlobal("fetch", vi.fn(async (_path: string, init?: RequestInit) => {
    const { query } = JSON.parse(String(init?.body));
    asked.push(query);
    return new Response(JSON.stringify(byQuery[query]), { status: 200, headers: { "content-type": "application/json" } });
  }));
  return asked;
}

it("marks the part of the query the parser stopped at", async () => {
  parseAnswers({
    "gaming (pc OR desktop": { valid: false, error: { message: "unclosed parenthesis", start: 7, end: 21 } },
  });
  const { container } = render(<QueryFeedback text="gaming (pc OR desktop" />);
  expect((await screen.findByText(/✗/)).textContent).toContain("unclosed parenthesis");
  expect(container.querySelector("mark")?.textContent).toBe("(pc OR desktop");
});

it("says the query back in words when it parses", async () => {
  parseAnswers({ "gaming -mac": { valid: true, description: "all of: gaming; none of: mac", canonical: "gaming -mac" } });
  render(<QueryFeedback text="gaming -mac" />);
  expect((await screen.findByText(/✓/)).textContent).toContain("all of: gaming; none of: mac");
});

it("asks once for a query typed quickly, and not at all for a blank one", async () => {
  const asked = parseAnswers({ "tv oled": { valid: true, description: "all of: tv, oled" } });
  const { rerender } = render(<QueryFeedback text="   " />);
  for (const text of ["t", "tv", "tv o", "tv ol", "tv oled"]) rerender(<QueryFeedback text={text} />);
  await screen.findByText(/✓/);
  expect(asked).toEqual(["tv oled"]);
});
