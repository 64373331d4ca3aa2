// The demo page in headless Chromium: a run completes with every thought
// shown before its band is drawn, a redraw is shown before/after, cancel,
// parser errors, hints, replay, downloads, a phone-width layout and the
// weights cache. Saves build/e2e/demo.png and build/e2e/timings.json.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { serve, launch, openPage, artefacts, cpuSeconds } from "./harness.mjs";

const PROMPT = "a red circle above a blue square";
let srv, chrome;
const timings = {};

before(async () => {
  srv = await serve();
  chrome = await launch();
});
after(async () => {
  writeFileSync(path.join(artefacts, "timings.json"), JSON.stringify(timings, null, 2) + "\n");
  await chrome?.close();
  srv?.stop();
});

const ready = (page) => page.waitForFunction(() => window.twigDemo.info, null, { timeout: 120_000 });
const ended = (page) => page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 180_000 });
const lastEvent = (page) => page.evaluate(() => window.twigDemo.events.at(-1));

test("a run completes, each thought shown before its band is drawn", async () => {
  const t0 = Date.now();
  const page = await openPage(chrome.browser, `${srv.url}?prompt=${encodeURIComponent(PROMPT)}&seed=1&backend=cpu&webgpu=off&autostart`);
  await ended(page);
  const coldMs = Date.now() - t0;
  const info = await page.evaluate(() => window.twigDemo.info);
  const done = await lastEvent(page);
  assert.equal(done.type, "run_done", `the run ended with ${JSON.stringify(done)}`);
  const log = await page.evaluate(() => window.twigDemo.log);
  const bands = done.bands.length;
  const firstRow = (b) => log.findIndex((e) => e.kind === "row" && e.band === b);
  const thought = (b) => log.findIndex((e) => e.kind === "thought" && e.band === b);
  for (let b = 0; b < bands; b++) {
    assert.ok(thought(b) >= 0, `band ${b}: no thought shown`);
    assert.ok(thought(b) < firstRow(b), `band ${b}: its thought was shown after its first row`);
  }
  const lastRow = log.findLastIndex((e) => e.kind === "row");
  assert.ok(thought(bands - 1) < lastRow, "the last band's thought came after the last band was drawn");
  // the DOM: one card per band with its thought, the status line, the canvas label
  const cards = await page.$$eval("#bandlist .band .thought", (els) => els.map((e) => e.textContent));
  assert.equal(cards.length, bands);
  cards.forEach((t, b) => assert.equal(t, done.thoughts[b]));
  assert.match(await page.textContent("#status"), /^Done in/);
  assert.match(await page.getAttribute("#canvas", "aria-label"), /twig's drawing of/);
  // the canvas shows run_done's tokens: compare with the PNG the engine makes
  const pixels = await page.evaluate(() => {
    const c = document.getElementById("canvas");
    return Array.from(c.getContext("2d").getImageData(0, 0, c.width, c.height).data.filter((_, i) => i % 4 === 0)).reduce((a, b) => a + b, 0);
  });
  assert.ok(pixels > 0, "the canvas is blank");
  await page.screenshot({ path: path.join(artefacts, "demo.png"), fullPage: true });
  assert.deepEqual(page.errors, []);

  // warm timings: the model is loaded; time fresh runs from the call (median of 3),
  // in wall time and in the browser's CPU time (what a run costs on an idle core)
  const warmRuns = [];
  for (const seed of [2, 3, 4]) {
    const c0 = cpuSeconds(chrome.pid);
    const r = await page.evaluate(async ({ prompt, seed }) => {
      const t = performance.now();
      let first = null;
      const run = window.twigDemo.client.draw(prompt, { settings: { seed }, backend: "cpu" });
      for await (const ev of run) if (ev.type === "thought_delta" && first === null) first = performance.now() - t;
      return { first, finished: performance.now() - t, engine: run.events.at(-1).t_ms, tokens: run.events.at(-1).stats };
    }, { prompt: PROMPT, seed });
    r.cpu = (cpuSeconds(chrome.pid) - c0) * 1000;
    warmRuns.push(r);
  }
  const med = (k) => Math.round(warmRuns.map((o) => o[k]).sort((a, b) => a - b)[1]);
  // the page's smooth decoder (twig.smoothPicture, on the main thread) for the final canvas, median of 9
  const smoothMs = await page.evaluate((tokens) => {
    const ms = [];
    for (let i = 0; i < 9; i++) {
      const t = performance.now();
      twig.smoothPicture(tokens, twig.SIDE);
      ms.push(performance.now() - t);
    }
    return ms.sort((a, b) => a - b)[4];
  }, done.tokens);
  const warm = { first_thought_ms: med("first"), finished_ms: med("finished"), engine_ms: med("engine"), cpu_ms: med("cpu") };
  Object.assign(timings, { model: info.weights.model, weights_bytes: info.weights.bytes, backend: "cpu (wasm)",
    load_average: (await import("node:os")).loadavg()[0],
    cold_page_to_finished_ms: coldMs, cold_page_first_thought_ms: Math.round(log.find((e) => e.kind === "thought").t),
    warm_first_thought_ms: warm.first_thought_ms, warm_finished_ms: warm.finished_ms, warm_engine_total_ms: warm.engine_ms,
    warm_finished_browser_cpu_ms: warm.cpu_ms, smooth_picture_512_ms: +smoothMs.toFixed(1) });
  console.log(`# timings: ${JSON.stringify(timings)}`);
  await page.context().close();
});

test("a redraw is shown, before and after, when the critic asks for one", async (t) => {
  const page = await openPage(chrome.browser, `${srv.url}?backend=cpu&webgpu=off`);
  await ready(page);
  await page.click("#settings summary");
  await page.fill("#threshold", "100");
  assert.equal(await page.textContent("#threshold-out"), "100");
  // Held-out colour–shape pairs beside other objects: the trained model
  // draws the usual prompt right the first time, even at threshold 100, but
  // paints this one imperfectly now and then (natively and on the portable
  // kernels the page runs, every seed from 1 to 12 redraws).
  await page.fill("#prompt", "a purple diamond above two yellow circles");
  let found = null;
  for (const seed of [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]) {
    await page.fill("#seed", String(seed));
    // The page starts a run only after it has checked the prompt, so until
    // then twigDemo.run is still the last seed's, already ended: wait for a
    // new run to end.
    await page.evaluate(() => { window.previousRun = window.twigDemo.run; });
    await page.click("#draw");
    await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run !== window.previousRun && window.twigDemo.run.ended, null, { timeout: 180_000 });
    const done = await lastEvent(page);
    assert.equal(done.type, "run_done");
    if (done.stats.revisions > 0) {
      found = { seed, done };
      break;
    }
    if (done.stats.unparsed === done.stats.critiques && /d=48/.test(done.run_id + (await page.evaluate(() => window.twigDemo.info.weights.model)))) {
      t.skip("the tiny test weights' critic never writes a readable description, so it never asks for a redraw; build with the default weights");
      await page.context().close();
      return;
    }
  }
  assert.ok(found, "no seed in 1–12 gave a redraw at threshold 100");
  const log = await page.evaluate(() => window.twigDemo.log);
  const red = log.find((e) => e.kind === "redraw");
  assert.ok(red, "no redraw was shown");
  const view = page.locator(`#bandlist .band[data-band="${red.band}"] .redraw-view`).first();
  await view.waitFor();
  assert.equal(await view.locator("canvas").count(), 2, "the redraw shows no before and after pictures");
  assert.match(await view.textContent(), /before.*after/s);
  assert.match(await page.textContent(`#bandlist .band[data-band="${red.band}"] .critique.redraw`), /redraw/);
  timings.redraw_seed = found.seed;
  await page.screenshot({ path: path.join(artefacts, "redraw.png"), fullPage: true });
  await page.context().close();
});

// The engine runs in the page's Web Worker, which takes the page's cancel
// only when the Go code yields to its event loop (between rows, at most
// every 8 ms). So that the run cannot end before the cancel arrives however
// slow the page is, the test holds the worker's first yield after its first
// row (the yield's MessagePort message) until the cancel has been taken.
test("cancel stops a run", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?bands=16&seed=4&backend=cpu&webgpu=off`);
  await ready(page);
  const worker = page.workers().find((w) => /twig-worker\.js/.test(w.url()));
  assert.ok(worker, "no twig worker");
  await worker.evaluate(() => {
    const post = self.postMessage, portPost = MessagePort.prototype.postMessage, onmessage = self.onmessage;
    let state = "running"; // → "holding" after the first row, → "released" once the cancel is in
    const held = [];
    self.heldYields = 0;
    self.postMessage = function (m, t) {
      if (state === "running" && m.op === "event" && JSON.parse(m.json).type === "band_progress") state = "holding";
      return post.call(self, m, t);
    };
    MessagePort.prototype.postMessage = function (...args) {
      if (state !== "holding") return portPost.apply(this, args);
      held.push([this, args]);
      self.heldYields++;
    };
    self.onmessage = (e) => {
      const r = onmessage(e);
      if (e.data.op === "cancel") {
        state = "released";
        for (const [port, args] of held.splice(0)) portPost.apply(port, args);
      }
      return r;
    };
  });
  await page.click("#draw");
  await page.evaluate(() => new Promise((resolve) => {
    const iv = setInterval(() => {
      if (window.twigDemo.log.some((e) => e.kind === "row")) {
        clearInterval(iv);
        document.getElementById("cancel").click();
        resolve();
      }
    }, 1);
  }));
  await ended(page);
  const last = await lastEvent(page);
  assert.equal(last.type, "error", JSON.stringify(last));
  assert.equal(last.code, "canceled");
  assert.ok(await worker.evaluate(() => self.heldYields) >= 1, "the worker never yielded after its first row: the test did not hold the run");
  assert.equal(await page.textContent("#status"), "Cancelled.");
  assert.ok(await page.isDisabled("#cancel"));
  await page.context().close();
});

test("an unknown word shows the parser's error, with suggestions", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?webgpu=off`);
  await page.fill("#prompt", "a red circel above a blue square");
  await page.click("#draw");
  const box = page.locator("#perror");
  await box.waitFor({ state: "visible" });
  assert.match(await box.textContent(), /circel/);
  assert.equal(await page.getAttribute("#prompt", "aria-invalid"), "true");
  await page.screenshot({ path: path.join(artefacts, "parse-error.png") });
  await box.getByRole("button", { name: "Use “circle” instead of “circel”" }).click();
  assert.equal(await page.inputValue("#prompt"), "a red circle above a blue square");
  await box.waitFor({ state: "hidden" });
  await page.context().close();
});

test("vocabulary hints work from the keyboard", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?webgpu=off`);
  await page.waitForFunction(() => window.twigDemo.vocabulary, null, { timeout: 120_000 });
  await page.fill("#prompt", "");
  await page.focus("#prompt");
  await page.keyboard.type("a large diam");
  await page.locator("#hints li").first().waitFor();
  assert.equal(await page.getAttribute("#prompt", "aria-expanded"), "true");
  await page.keyboard.press("ArrowDown");
  await page.keyboard.press("Enter");
  assert.equal(await page.inputValue("#prompt"), "a large diamond ");
  assert.ok(await page.locator("#hints").isHidden());
  await page.keyboard.press("Enter"); // submits the form
  await ended(page);
  assert.equal((await lastEvent(page)).type, "run_done");
  await page.context().close();
});

test("replay, downloads and the weights cache", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?seed=5&backend=cpu&webgpu=off&autostart`);
  await ended(page);
  const n = await page.evaluate(() => window.twigDemo.events.length);
  // the timeline, by keyboard: Home goes back to the start (an undrawn canvas)
  await page.focus("#timeline");
  await page.keyboard.press("Home");
  assert.match(await page.textContent("#tlabel"), new RegExp(`event 0 of ${n}`, "i"));
  assert.equal(await page.locator("#bandlist .band").count(), 0);
  for (let i = 0; i < 12; i++) await page.keyboard.press("ArrowRight");
  assert.match(await page.textContent("#tlabel"), new RegExp(`event 12 of ${n}`, "i"));
  await page.keyboard.press("End");
  // downloads
  const get = async (id) => {
    const [dl] = await Promise.all([page.waitForEvent("download"), page.click(id)]);
    return readFileSync(await dl.path());
  };
  assert.equal((await get("#dl-png")).subarray(1, 4).toString(), "PNG");
  assert.equal((await get("#dl-gif")).subarray(0, 4).toString(), "GIF8");
  const trace = (await get("#dl-trace")).toString().trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(trace.length, n);
  assert.equal(trace.at(-1).type, "run_done");
  // the weights come from the Cache API on the next load
  await page.reload();
  await ready(page);
  assert.equal(await page.evaluate(() => window.twigDemo.info.weights.from_cache), true);
  await page.context().close();
});

test("weights of another format version give a clear message", async () => {
  const ctx = await chrome.browser.newContext();
  await ctx.route("**/twig-weights.safetensors", async (route) => {
    const resp = await route.fetch();
    const body = Buffer.from(await resp.body());
    const i = body.indexOf('\\"version\\":1');
    body[i + '\\"version\\":'.length] = "7".charCodeAt(0);
    await route.fulfill({ response: resp, body });
  });
  const page = await ctx.newPage();
  await page.goto(`${srv.url}?weights=twig-weights.safetensors&webgpu=off`); // the file itself, without the manifest's hash check
  await page.waitForFunction(() => document.getElementById("engine").classList.contains("error"), null, { timeout: 180_000 });
  const msg = await page.textContent("#engine");
  assert.match(msg, /format version 7/);
  assert.match(msg, /reads version 1/);
  await ctx.close();
});

test("readable at phone width", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?seed=1&backend=cpu&webgpu=off&autostart`, { viewport: { width: 390, height: 844 } });
  await ended(page);
  const over = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(over <= 0, `the page is ${over}px wider than a phone`);
  const canvas = await page.locator("#canvas").boundingBox();
  assert.ok(canvas.width >= 300, `the canvas is only ${canvas.width}px wide on a phone`);
  await page.screenshot({ path: path.join(artefacts, "phone.png"), fullPage: true });
  await page.context().close();
});
