// What the end-to-end run needs around the browser: a `dealpulse serve --demo` on a free
// loopback port with its own data directory, a recorder standing in for Discord/Slack/webhook
// receivers, Debian's chromium through playwright-core, axe-core checks and screenshots.
import { spawn } from "node:child_process";
import { mkdtempSync, mkdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:http";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));
export const repo = resolve(here, "../../..");
export const screenshots = join(repo, "docs/screenshots");

export function freePort() {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on("error", fail);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address();
      server.close(() => done(port));
    });
  });
}

/** An HTTP server on 127.0.0.1 that answers 204 and keeps every request it gets. */
export async function startRecorder() {
  const requests = [];
  const server = createServer((request, response) => {
    let body = "";
    request.on("data", (chunk) => (body += chunk));
    request.on("end", () => {
      requests.push({ method: request.method, path: request.url, headers: request.headers, body });
      response.writeHead(204).end();
    });
  });
  await new Promise((done) => server.listen(0, "127.0.0.1", done));
  return { origin: `http://127.0.0.1:${server.address().port}`, requests, close: () => server.close() };
}

/** Starts `dealpulse serve --demo`; resolves once /health answers. */
export async function startServer({ notifyOrigin }) {
  const binary = process.env.DEALPULSE_BIN ?? join(repo, "target/debug/dealpulse");
  const port = await freePort();
  const data = mkdtempSync(join(tmpdir(), "dealpulse-e2e-"));
  const base = `http://127.0.0.1:${port}`;
  const log = [];
  const child = spawn(
    binary,
    ["serve", "--demo", "--addr", `127.0.0.1:${port}`, "--data-dir", data, "--web-dir", join(repo, "web/app/dist")],
    {
      env: {
        ...process.env,
        DEALPULSE_SCRAPE_EVERY_SECONDS: "2",
        DEALPULSE_FETCH_MIN_DELAY_MS: "0",
        DEALPULSE_NOTIFY_ORIGIN: notifyOrigin,
        DEALPULSE_PUBLIC_URL: base,
        DEALPULSE_LOG_FORMAT: "json",
        RUST_LOG: "warn",
      },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  child.stdout.on("data", (chunk) => log.push(String(chunk)));
  child.stderr.on("data", (chunk) => log.push(String(chunk)));
  const exited = new Promise((done) => child.on("exit", (code) => done(code)));
  const deadline = Date.now() + 120_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`dealpulse serve exited (${child.exitCode}):\n${log.join("")}`);
    try {
      if ((await fetch(`${base}/health`)).ok) break;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`dealpulse serve did not come up:\n${log.join("")}`);
    await new Promise((done) => setTimeout(done, 250));
  }
  return {
    base,
    log,
    async stop() {
      child.kill("SIGTERM");
      await Promise.race([exited, new Promise((done) => setTimeout(done, 10_000))]);
      if (child.exitCode === null) child.kill("SIGKILL");
      rmSync(data, { recursive: true, force: true });
    },
  };
}

export const CHROMIUM_FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-background-networking",
  "--disable-quic",
  "--no-first-run",
  "--disable-component-update",
  "--disable-sync",
];

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
    args: CHROMIUM_FLAGS,
    headless: true,
  });
}

const axeSource = readFileSync(join(repo, "web/app/node_modules/axe-core/axe.min.js"), "utf8");

/** axe-core's serious and critical violations on the page as it is now. */
export async function seriousViolations(page) {
  // Evaluated through the DevTools protocol, which the page's CSP (no inline scripts) allows.
  await page.evaluate(`${axeSource};0`);
  const results = await page.evaluate(() => window.axe.run(document, { resultTypes: ["violations"] }));
  return results.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.map((n) => n.target.join(" ")).slice(0, 3).join(", ")}`);
}

export function screenshotPath(name, width) {
  mkdirSync(screenshots, { recursive: true });
  return join(screenshots, `${name}-${width <= 400 ? "mobile" : "desktop"}.png`);
}
