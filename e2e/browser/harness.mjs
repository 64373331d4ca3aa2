// Shared set-up of twig's browser tests: the demo server (webtool serve on a
// free port) and headless Chromium from Debian's package, started with the
// flags of DESIGN.md §4 (WebGPU on: SwiftShader here).
import { spawn } from "node:child_process";
import http from "node:http";
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const artefacts = path.join(repo, "build", "e2e");
mkdirSync(artefacts, { recursive: true });

export const chromiumPath = process.env.CHROMIUM || "/usr/bin/chromium";

const types = { ".html": "text/html; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
  ".json": "application/json", ".wasm": "application/wasm", ".png": "image/png", ".safetensors": "application/octet-stream" };

// serve serves the built folder (make web) on a free port of 127.0.0.1 and
// resolves with {url, stop}. It is the static host a deployment would be
// (make demo uses the Go one, wasm/js/internal/webtool; this one needs no Go
// build, so the tests do not depend on the rest of the tree compiling).
export function serve(dir = path.join(repo, "build", "web")) {
  if (!existsSync(path.join(dir, "twig.wasm"))) throw new Error(`${dir} has no twig.wasm: run make web first`);
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, "http://x");
    let file = path.join(dir, decodeURIComponent(u.pathname));
    if (!file.startsWith(dir)) return res.writeHead(403).end();
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, "index.html");
    if (!existsSync(file)) return res.writeHead(404).end("not found");
    const body = readFileSync(file);
    res.writeHead(200, { "content-type": types[path.extname(file)] || "application/octet-stream",
      "content-length": body.length, "cache-control": "no-cache" });
    res.end(body);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () =>
    resolve({ url: `http://127.0.0.1:${server.address().port}/`, stop: () => server.close() })));
}

// launch starts headless Chromium with WebGPU enabled (playwright gives it a
// fresh profile folder of its own, the --user-data-dir of DESIGN.md §4).
export async function launch() {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: ["--no-sandbox", "--disable-background-networking", "--disable-component-update", "--disable-sync",
      "--no-first-run", "--enable-unsafe-webgpu"],
  });
  return { browser, pid: browser.process ? browser.process().pid : 0, close: () => browser.close() };
}

// holdEvents makes the page stop taking events (twig.Run's _push, the one
// way events reach a run, live or replayed) right after the first event of
// the given type in a band >= band, so a test can look at the page in the
// middle of a run however fast the run goes. held() resolves once the page
// is held; release() hands the page the held events in order and then takes
// the rest as they come. The engine itself goes on.
export async function holdEvents(page, { type, band = 0 }) {
  await page.evaluate(({ type, band }) => {
    const push = twig.Run.prototype._push;
    let held = null;
    window.__twigHeld = new Promise((resolve) => {
      twig.Run.prototype._push = function (json, parsed) {
        if (held) return void held.push([this, json, parsed]);
        push.call(this, json, parsed);
        const ev = this.events.at(-1);
        if (ev && ev.type === type && (ev.band ?? 0) >= band) {
          held = [];
          resolve();
        }
      };
    });
    // Each held event goes in a task of its own, as it would have come (a
    // page that shows a thought token by token must still get to show each
    // one); events that come meanwhile queue behind them.
    window.__twigRelease = async () => {
      while (held && held.length) {
        const [run, json, parsed] = held.shift();
        push.call(run, json, parsed);
        await new Promise((r) => setTimeout(r, 0));
      }
      twig.Run.prototype._push = push;
      held = null;
    };
  }, { type, band });
  return {
    held: () => page.evaluate(() => window.__twigHeld),
    release: () => page.evaluate(() => window.__twigRelease()),
  };
}

// page opens a new page that fails the test on uncaught page errors. Its
// waits give up after 2 minutes, not playwright's 30 s: they bound a failing
// test, and a loaded machine may take long to load the model.
export async function openPage(browser, url, opts = {}) {
  const ctx = await browser.newContext({ viewport: opts.viewport || { width: 1200, height: 900 } });
  ctx.setDefaultTimeout(120_000);
  const page = await ctx.newPage();
  page.errors = [];
  page.on("pageerror", (e) => page.errors.push(e.message));
  page.on("console", (m) => m.type() === "error" && page.errors.push("console: " + m.text()));
  await page.goto(url);
  return page;
}

// twigServe starts `bin/twig serve` (make build) on a free port, serving the
// built page and the gateway's websocket on one origin; resolves with {url, stop}.
// env adds to its environment (e.g. the test hook TWIG_TEST_HOLD_ROWS), args
// to its flags (e.g. --backend openai).
export function twigServe({ weights = path.join(repo, "core", "model", "testdata", "tiny.safetensors"), env = {}, args = [] } = {}) {
  const bin = path.join(repo, "bin", "twig");
  if (!existsSync(bin)) throw new Error(`${bin} is missing: run make build first`);
  return new Promise((resolve, reject) => {
    const p = spawn(bin, ["serve", "--addr", "127.0.0.1:0", "--web", path.join(repo, "build", "web"), "--weights", weights, ...args],
      { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let out = "", err = "";
    p.stderr.on("data", (d) => (err += d));
    p.stdout.on("data", (d) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m) resolve({ url: m[1] + "/", stop: () => p.kill("SIGTERM") });
    });
    p.on("exit", (code) => reject(new Error(`twig serve exited (${code}): ${out}${err.slice(-2000)}`)));
  });
}

// cpuSeconds sums the CPU time (user + system) of a process and all its
// descendants, from /proc: the browser's work for a run, which on an idle
// machine is its wall time (the wasm runs on one thread). On a loaded
// machine it is the better measure of what a run costs.
export function cpuSeconds(rootPid) {
  const kids = new Map();
  const cpu = new Map();
  for (const d of readdirSync("/proc")) {
    if (!/^\d+$/.test(d)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${d}/stat`, "utf8");
    } catch {
      continue;
    }
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const ppid = +f[1];
    cpu.set(+d, (+f[11] + +f[12]) / 100); // utime, stime in clock ticks (100 Hz on Linux)
    if (!kids.has(ppid)) kids.set(ppid, []);
    kids.get(ppid).push(+d);
  }
  let total = 0;
  const walk = (p) => {
    total += cpu.get(p) || 0;
    for (const k of kids.get(p) || []) walk(k);
  };
  walk(rootPid);
  return total;
}
