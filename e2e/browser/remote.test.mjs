// Remote mode: the page sends whole runs to a gateway (`twig serve`, which
// also serves the page) over its websocket, /v1/ws (docs/PROTOCOL.md).
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { twigServe, launch, openPage } from "./harness.mjs";

let srv, chrome;
before(async () => {
  srv = await twigServe();
  chrome = await launch();
});
after(async () => {
  await chrome?.close();
  srv?.stop();
});

test("a run on the remote backend streams from twig serve", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?backend=remote&webgpu=off&seed=2&autostart`);
  await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 120_000 });
  const events = await page.evaluate(() => window.twigDemo.events);
  const last = events.at(-1);
  assert.equal(last.type, "run_done", JSON.stringify(last));
  assert.doesNotMatch(events[0].backend || "", /wasm/, "the run ran in the page, not on the server");
  assert.ok(events.every((e) => e.run_id === events[0].run_id));
  const log = await page.evaluate(() => window.twigDemo.log);
  const t = log.findIndex((e) => e.kind === "thought" && e.band === 0);
  const r = log.findIndex((e) => e.kind === "row" && e.band === 0);
  assert.ok(t >= 0 && t < r, "band 0's thought was not shown before its rows");
  assert.match(await page.textContent("#status"), /^Done in/);
  await page.context().close();
});

// The gateway holds each run after its first row until it is cancelled
// (twig serve's test hook TWIG_TEST_HOLD_ROWS): the tiny model would
// otherwise finish all 16 bands before the page's cancel arrives.
test("cancelling a remote run", async () => {
  const held = await twigServe({ env: { TWIG_TEST_HOLD_ROWS: "1" } });
  try {
    const page = await openPage(chrome.browser, `${held.url}?webgpu=off`);
    const events = await page.evaluate(async () => {
      const run = twig.draw("a red circle above a blue square", { backend: "remote", settings: { bands: 16, seed: 3 } });
      for await (const ev of run) if (ev.type === "band_progress") run.cancel();
      return run.events;
    });
    const last = events.at(-1);
    assert.equal(last.type, "error", JSON.stringify(last));
    assert.equal(last.code, "canceled");
    assert.equal(events.filter((e) => e.type === "band_progress").length, 1, "the run went on after the cancel");
    await page.context().close();
  } finally {
    held.stop();
  }
});

test("an unreachable gateway gives a clear error", async () => {
  const page = await openPage(chrome.browser, `${srv.url}?webgpu=off`);
  const err = await page.evaluate(() =>
    twig.draw("a red circle", { backend: "remote", gateway: "ws://127.0.0.1:9/v1/ws" }).result.then(() => null, (e) => ({ code: e.code, message: e.message })));
  assert.equal(err.code, "backend_failed");
  assert.match(err.message, /cannot reach the twig gateway/);
  await page.context().close();
});
