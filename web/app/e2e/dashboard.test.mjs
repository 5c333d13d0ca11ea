// End-to-end: the dashboard in Debian's chromium against `dealpulse serve --demo`.
// A new user signs up, verifies through the dev outbox, creates a rule, watches a demo-shop
// product, sees its chart, changes preferences (with a test send to a recorded Discord
// endpoint) and finds the watch's alert in the log; the demo admin opens every console view.
// Every page passes axe-core with no serious or critical violation, fits 375 px, and is
// screenshotted at desktop and mobile width into docs/screenshots/.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { launchBrowser, screenshotPath, seriousViolations, startRecorder, startServer } from "./harness.mjs";

const DESKTOP = { width: 1280, height: 900 };
const MOBILE = { width: 375, height: 812 };
const email = `e2e-${Date.now()}@example.com`;
const password = "correct horse battery staple";

let server;
let recorder;
let browser;
let page;

before(async () => {
  recorder = await startRecorder();
  server = await startServer({ notifyOrigin: recorder.origin });
  browser = await launchBrowser();
  const context = await browser.newContext({ viewport: DESKTOP });
  page = await context.newPage();
  page.on("pageerror", (error) => console.error("page error:", error.message));
});

after(async () => {
  await browser?.close();
  await server?.stop();
  recorder?.close();
});

/** Opens a route, waits for `ready`, checks accessibility and width, takes both screenshots. */
async function visit(hash, name, ready) {
  await visitUrl(`${server.base}/#${hash}`, name, ready);
}

/** As `visit`, for an address outside the hash routes (the pages e-mailed links open). */
async function visitUrl(url, name, ready) {
  await page.goto(url);
  await ready();
  await settled();
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name}`);
  await page.screenshot({ path: screenshotPath(name, DESKTOP.width), fullPage: true });
  await page.setViewportSize(MOBILE);
  await page.waitForTimeout(200);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 1, `${name} is ${overflow}px wider than a 375px screen`);
  assert.deepEqual(await seriousViolations(page), [], `axe on ${name} at 375px`);
  await page.screenshot({ path: screenshotPath(name, MOBILE.width), fullPage: true });
  await page.setViewportSize(DESKTOP);
}

/** Until no loading indicator shows (every query of the page has answered). */
async function settled() {
  await page.waitForFunction(
    () => ![...document.querySelectorAll('[role="status"]')].some((e) => /Loading|Drawing/.test(e.textContent ?? "")),
  );
}

/** Polls `holds` (an async predicate) for up to 15 s. */
async function until(holds, what) {
  const deadline = Date.now() + 15_000;
  while (!(await holds())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await page.waitForTimeout(200);
  }
}

const heading = (name) => () => page.getByRole("heading", { level: 1, name }).waitFor();

async function outboxMail(to, subjectPart) {
  for (let i = 0; i < 40; i++) {
    const answer = await fetch(`${server.base}/api/v1/dev/outbox?to=${encodeURIComponent(to)}`);
    const { items } = await answer.json();
    const mail = items.find((m) => m.subject.includes(subjectPart) || m.text.includes(subjectPart));
    if (mail) return mail;
    await new Promise((done) => setTimeout(done, 250));
  }
  throw new Error(`no mail "${subjectPart}" to ${to}`);
}

test("sign up, verify through the outbox, log in", async () => {
  await visit("/sign-up", "sign-up", heading("Create your account"));
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel(/^Password/).fill(password);
  await page.getByRole("button", { name: "Sign up" }).click();
  await page.getByText("Check your inbox").waitFor();

  const mail = await outboxMail(email, "verify-email");
  const link = mail.text.match(/https?:\/\/\S+verify-email\?token=[^\s>"]+/)?.[0];
  assert.ok(link, `a verification link in: ${mail.text}`);
  // The link opens a page that confirms on a button press (mail scanners open links too).
  await visitUrl(link.replace(/^https?:\/\/[^/]+/, server.base), "verify-email", heading("Verify your e-mail"));
  await page.getByRole("button", { name: "Confirm e-mail address" }).click();
  await page.getByText(/verified/i).first().waitFor();

  await visit("/log-in", "log-in", heading("Log in"));
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await heading("Dashboard")();
});

test("the dashboard shows the empty account", async () => {
  await visit("/", "dashboard-new-user", heading("Dashboard"));
  await page.getByText("No alerts yet").waitFor();
});

test("create a rule with live query feedback, then test it", async () => {
  await visit("/rules/new", "rule-form", heading("New deal alert rule"));
  await page.getByLabel("Name").fill("Gaming PC under $800");
  await page.getByLabel("Boolean query", { exact: true }).check();
  const box = page.locator("#field-query");
  await box.fill("gaming (pc OR desktop");
  await page.locator("#query-feedback").filter({ hasText: "✗" }).waitFor();
  await box.fill("gaming (pc OR desktop) -mac");
  await page.locator("#query-feedback").filter({ hasText: "✓" }).waitFor();
  await page.getByLabel("Highest price").fill("800");
  await page.getByRole("checkbox", { name: "Computers" }).check();
  await page.getByRole("button", { name: "Create rule" }).click();
  await page.waitForURL(/#\/rules\/[0-9a-f-]{36}\?created$/);
  await page.getByText("Rule created.").waitFor();
  await page.getByRole("button", { name: "Run test" }).click();
  await page.getByText(/listings of the last 7 days examined/).waitFor();
  const ruleHash = new URL(page.url()).hash.slice(1).replace(/\?created$/, "");
  await visit(ruleHash, "rule-edit", heading("Edit “Gaming PC under $800”"));
  assert.equal(await page.getByLabel("Highest price").inputValue(), "800.00", "the form reopens with the saved price");

  // A second rule, so that search and bulk actions have something to tell apart.
  await visit("/rules/new", "rule-form", heading("New deal alert rule"));
  await page.getByLabel("Name").fill("Espresso machine");
  const allOf = page.getByLabel("All of these words");
  await allOf.fill("espresso");
  await allOf.press("Enter");
  await page.getByRole("button", { name: /Remove espresso/ }).waitFor();
  await page.getByRole("button", { name: "Create rule" }).click();
  await page.getByText("Rule created.").waitFor();

  await visit("/rules", "rules", heading("Deal alert rules"));
  await page.getByRole("link", { name: "Gaming PC under $800" }).waitFor();
  await page.getByRole("button", { name: "Pause Gaming PC under $800" }).click();
  await page.getByRole("button", { name: "Resume Gaming PC under $800" }).waitFor();

  await page.getByLabel("Search by name").fill("espresso");
  await page.getByRole("link", { name: "Gaming PC under $800" }).waitFor({ state: "detached" });
  await page.getByRole("link", { name: "Espresso machine" }).waitFor();
  await page.getByLabel("Search by name").fill("");
  await page.getByRole("link", { name: "Gaming PC under $800" }).waitFor();
  await page.getByRole("checkbox", { name: "Select Gaming PC under $800" }).check();
  await page.getByRole("checkbox", { name: "Select Espresso machine" }).check();
  await page.getByText("2 selected").waitFor();
  await page.getByRole("button", { name: "Resume selected" }).click();
  await page.getByRole("button", { name: "Pause Gaming PC under $800" }).waitFor();
  await page.getByRole("button", { name: "Pause Espresso machine" }).waitFor();
});

test("keyboard only: skip link, tab order, a control worked with Enter", async () => {
  // A fresh document, so that the first Tab starts at the top of the page.
  await page.goto("about:blank");
  await page.goto(`${server.base}/#/rules`);
  await heading("Deal alert rules")();
  await settled();
  await page.keyboard.press("Tab");
  assert.equal(await page.evaluate(() => document.activeElement?.textContent?.trim()), "Skip to content");
  await page.keyboard.press("Enter");
  assert.equal(await page.evaluate(() => document.activeElement?.id), "main", "the skip link moves focus to the page");
  assert.match(page.url(), /#\/rules$/, "and leaves the route alone");
  const target = "Pause Espresso machine";
  let reached = false;
  for (let i = 0; i < 80 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(
      (name) => document.activeElement?.getAttribute("aria-label") === name || document.activeElement?.textContent?.trim() === name,
      target,
    );
  }
  assert.ok(reached, `Tab reaches "${target}"`);
  const visible = await page.evaluate(() => {
    const style = getComputedStyle(document.activeElement);
    return style.outlineStyle !== "none" || style.boxShadow !== "none";
  });
  assert.ok(visible, "the focused control shows a focus ring");
  await page.keyboard.press("Enter");
  await page.getByRole("button", { name: "Resume Espresso machine" }).waitFor();
});

let watchUrl;

test("watch a demo-shop product: extraction preview, chart, check now", async () => {
  const shop = await (await fetch(`${server.base}/demo-shop/`)).text();
  const path = shop.match(/href="(\/demo-shop\/p\/[^"]+)"/)?.[1];
  assert.ok(path, "the demo shop lists products");
  await visit("/watchlist/new", "watch-add", heading("Watch a product"));
  await page.getByLabel("Product page URL").fill(`${server.base}${path}`);
  await page.getByRole("button", { name: "Read the page" }).click();
  const found = page.getByTestId("extraction");
  await found.waitFor();
  const text = await found.innerText();
  assert.match(text, /Price\s*\n?\s*\D{0,3}\d+[.,]\d\d/, `extraction shows a price: ${text}`);
  // A target well above today's price (demo prices move by a few percent every ten minutes):
  // met now, so the check-now below fires the watch.
  const today = Number(text.match(/Price\s*\n?\s*\D{0,3}(\d+[.,]\d\d)/)[1].replace(",", "."));
  await page.getByLabel("Target price").fill((today * 1.5).toFixed(2));
  await page.getByRole("button", { name: "Start watching" }).click();
  await page.waitForURL(/#\/watchlist\/[0-9a-f-]{36}$/);
  watchUrl = page.url();
  await page.getByTestId("chart").locator("canvas").waitFor();
  // The demo shop is checked often; a check-now right after a check is refused for up to a
  // minute, and the page says how long to wait.
  for (;;) {
    await page.getByRole("button", { name: "Check now" }).click();
    const outcome = page.getByText(/A check is queued|You can ask again in \d+ s/);
    await outcome.waitFor();
    const said = await outcome.innerText();
    if (said.startsWith("A check is queued")) break;
    const wait = Number(said.match(/again in (\d+) s/)[1]);
    await page.waitForTimeout((wait + 1) * 1000);
  }
  const hash = new URL(watchUrl).hash.slice(1);
  await visit(hash, "watch-detail", () => page.getByTestId("chart").locator("canvas").waitFor());
  await visit("/watchlist", "watchlist", heading("Watchlist"));
});

test("change preferences and send a test to a Discord endpoint", async () => {
  await visit("/preferences", "preferences", heading("Preferences"));
  await page.getByLabel("Alerts", { exact: true }).selectOption("immediate");
  await page.getByRole("button", { name: "Save frequency" }).click();
  await page.getByText("Saved.").first().waitFor();
  await page.getByLabel("Kind").selectOption("discord");
  await page.getByLabel("Webhook URL").fill("https://discord.com/api/webhooks/1234567890/e2e-token");
  await page.getByLabel("Label").fill("deals channel");
  await page.getByRole("button", { name: "Connect" }).click();
  await page.getByRole("button", { name: "Send a test to deals channel" }).click();
  await page.getByText("Test alert sent.").waitFor();
  const posted = recorder.requests.find((r) => r.path.startsWith("/api/webhooks/1234567890/e2e-token"));
  assert.ok(posted, `the recorder got the Discord test: ${JSON.stringify(recorder.requests.map((r) => r.path))}`);
  assert.ok(JSON.parse(posted.body).embeds || JSON.parse(posted.body).content, "a Discord message body");
});

test("the watch's alert shows in the log with its deliveries", async () => {
  const deadline = Date.now() + 90_000;
  for (;;) {
    await page.goto(`${server.base}/#/alerts`);
    await heading("Alerts")();
    await settled();
    if ((await page.getByTestId("alert-log").count()) > 0) break;
    if (Date.now() > deadline) throw new Error(`no alert within 90 s; server log:\n${server.log.slice(-30).join("")}`);
    await page.waitForTimeout(2000);
  }
  await page.getByTestId("alert-log").getByText(/Email: (sent|queued|sending)/).first().waitFor();
  await visit("/alerts", "alerts", () => page.getByTestId("alert-log").waitFor());
  await visit("/", "dashboard", () => page.getByTestId("watch-health").waitFor());

  // The watch fired, so it waits for its re-arm rule; the owner can re-arm it at once.
  await page.goto(watchUrl);
  await page.getByText(/waiting to re-arm/).first().waitFor();
  await page.getByRole("button", { name: "Re-arm now" }).click();
  await page.getByText("Re-armed: the next price that meets the trigger alerts you.").waitFor();
  await page.getByText(/Armed\./).waitFor();
});

test("deals feed: filter, sort, search", async () => {
  await visit("/deals", "deals", heading("Deals"));
  await page.getByText(/\d+ deals/).first().waitFor();
  await page.getByLabel("Sort by").selectOption("price");
  await page.getByLabel("Seen in the last").selectOption("30");
  const counted = async () => Number((await page.getByText(/^\d+ deals?/).first().innerText()).match(/^(\d+)/)[1]);
  await page.getByText(/\d+ deals/).first().waitFor();
  const all = await counted();
  assert.ok(all > 0, "the demo data has deals");

  // A category narrows the feed to its own count.
  const facet = page.getByRole("group", { name: "Category" }).getByRole("button").nth(1);
  const facetCount = Number((await facet.innerText()).match(/\((\d+)\)/)[1]);
  await facet.click();
  await until(async () => (await counted()) === facetCount, `the feed shows the category's ${facetCount} deals`);
  await page.getByRole("group", { name: "Category" }).getByRole("button", { name: "All" }).click();
  await until(async () => (await counted()) === all, "all deals again");

  // A search for a word in the first deal's title finds it; nonsense finds nothing.
  const firstTitle = await page.getByTestId("deal-title").first().innerText();
  const word = firstTitle.split(/\W+/).find((w) => w.length >= 4) ?? firstTitle;
  await page.getByLabel("Search deals").fill(word);
  await page.getByTestId("deal-title").filter({ hasText: new RegExp(word, "i") }).first().waitFor();
  await page.getByLabel("Search deals").fill("zzqxnotadeal");
  await page.getByText("No deal matches. Try another search or a longer period.").waitFor();
  await page.getByLabel("Search deals").fill("");
});

test("forgot password: the e-mailed link sets a new one, and the old one stops working", async () => {
  await page.getByRole("button", { name: "Log out" }).click();
  await heading("Log in")();
  await visit("/forgot-password", "forgot-password", heading("Reset your password"));
  await page.getByLabel("E-mail").fill(email);
  await page.getByRole("button", { name: "Send the reset link" }).click();
  await page.getByText(/a reset link is on its way/).waitFor();
  const mail = await outboxMail(email, "reset-password");
  const link = mail.text.match(/https?:\/\/\S+reset-password\?token=[^\s>"]+/)?.[0];
  assert.ok(link, `a reset link in: ${mail.text}`);
  await visitUrl(link.replace(/^https?:\/\/[^/]+/, server.base), "reset-password", heading(/password/i));
  await page.getByLabel(/password/i).first().fill(`${password} renewed`);
  await page.getByRole("button", { name: "Set the password" }).click();
  await heading("Password changed")();
  await page.goto(`${server.base}/#/log-in`);
  await heading("Log in")();
  await page.getByLabel("E-mail").fill(email);
  await page.getByLabel("Password").fill(password);
  await page.getByRole("button", { name: "Log in" }).click();
  await page.getByRole("alert").first().waitFor();
  await page.getByLabel("Password").fill(`${password} renewed`);
  await page.getByRole("button", { name: "Log in" }).click();
  await heading("Dashboard")();
});

test("e-mail previews render as HTML and text", async () => {
  for (const template of ["alert", "digest", "verification", "password-reset", "newsletter"]) {
    await visit(`/emails/${template}`, `email-${template}`, () => page.getByText("Subject:").waitFor());
    await page.getByRole("button", { name: "Plain text" }).click();
    assert.ok((await page.locator("pre").innerText()).length > 20, `${template} has a text part`);
  }
});

test("the admin console", async () => {
  await page.getByRole("button", { name: "Log out" }).click();
  await heading("Log in")();
  await page.getByLabel("E-mail").fill("admin@dealpulse.test");
  await page.getByLabel("Password").fill("demo-admin-password");
  await page.getByRole("button", { name: "Log in" }).click();
  await heading("Dashboard")();
  for (const view of ["stats", "users", "subscriptions", "products", "deliveries", "reports", "subscribers", "audit"]) {
    await visit(`/admin/${view}`, `admin-${view}`, async () => {
      await page.locator(`nav a[aria-current="page"][href="#/admin/${view}"]`).waitFor();
    });
    assert.equal(await page.getByRole("alert").count(), 0, `admin ${view} shows no error`);
  }
});
