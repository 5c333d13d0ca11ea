// Load timings of the dashboard's first page, Lighthouse-style, in Debian's chromium against a
// `dealpulse serve --demo` on loopback: each run is a fresh browser context (empty cache), and
// the page reports its own navigation and paint timings. Prints medians and the worst run.
//   node e2e/timings.mjs [runs]     (DEALPULSE_BIN picks the binary; default target/debug)
import { launchBrowser, startRecorder, startServer } from "./harness.mjs";

const runs = Number(process.argv[2] ?? 15);
const recorder = await startRecorder();
const server = await startServer({ notifyOrigin: recorder.origin });
const browser = await launchBrowser();
const samples = [];
try {
  for (let i = 0; i < runs; i++) {
    const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
    const page = await context.newPage();
    await page.goto(`${server.base}/#/log-in`, { waitUntil: "load" });
    await page.getByRole("heading", { name: "Log in" }).waitFor();
    samples.push(
      await page.evaluate(() => {
        const [nav] = performance.getEntriesByType("navigation");
        const paint = Object.fromEntries(performance.getEntriesByType("paint").map((p) => [p.name, p.startTime]));
        const bytes = performance
          .getEntriesByType("resource")
          .reduce((sum, r) => sum + (r.transferSize || 0), nav.transferSize || 0);
        return {
          ttfb: nav.responseStart,
          fcp: paint["first-contentful-paint"] ?? NaN,
          dcl: nav.domContentLoadedEventEnd,
          load: nav.loadEventEnd,
          bytes,
        };
      }),
    );
    await context.close();
  }
} finally {
  await browser.close();
  await server.stop();
  recorder.close();
}
const median = (values) => values.sort((a, b) => a - b)[Math.floor(values.length / 2)];
const worst = (values) => Math.max(...values);
console.log(`${runs} cold loads of /#/log-in (fresh context each, loopback, chromium ${browser.version()})`);
for (const key of ["ttfb", "fcp", "dcl", "load"]) {
  // Headless chromium now and then reports no paint entry for a load: those runs are left out.
  const values = samples.map((s) => s[key]).filter(Number.isFinite);
  const runs = values.length === samples.length ? "" : ` (${values.length} of ${samples.length} runs reported it)`;
  console.log(`${key.padEnd(5)} median ${median([...values]).toFixed(1)} ms  worst ${worst(values).toFixed(1)} ms${runs}`);
}
console.log(`bytes transferred: ${median(samples.map((s) => s.bytes))}`);
