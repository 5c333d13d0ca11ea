import { afterEach, expect, it } from "vitest";
import { cleanup, render, screen } from "@testing-library/react";
import { QueryClient, QueryClientProvider } from "@tanstack/react-query";
import { DealCard } from "./deals";

afterEach(cleanup);

it("renders hostile listing text as text and gives script URLs no link", () => {
  const title = `<img src=x onerror="alert(1)"><script>alert(2)</script>`;
  const { container } = render(
    <QueryClientProvider client={new QueryClient()}>
      <ul>
        <DealCard
          deal={{
            id: "l-1",
            title,
            url: "javascript:alert(3)",
            source: `<b>partner</b>`,
            price: { amount: "10.00", currency: "USD" },
            was_price: null,
            discount_percent: null,
            category: null,
            condition: null,
            score: null,
            seen_at: "2026-12-05T10:00:00Z",
          }}
        />
      </ul>
    </QueryClientProvider>,
  );
  expect(container.querySelector("img, script, b")).toBeNull();
  const link = screen.getByText(title).closest("a");
  expect(link).not.toBeNull();
  expect(link?.hasAttribute("href")).toBe(false);
  expect(container.textContent).toContain("<b>partner</b>");
});
