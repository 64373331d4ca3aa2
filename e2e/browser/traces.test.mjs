// Old traces in the page: a twig/1 trace (token rows, written by a build
// before the pixel strips: cmd/twig/testdata/twig1) replays in the page as
// `twig replay` replays it in Go — the same picture, pixel for pixel — with
// its bands named in token rows and its redraw's before and after.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { execFileSync } from "node:child_process";
import path from "node:path";
import { serve, launch, openPage, repo } from "./harness.mjs";

let srv, chrome;
before(async () => {
  srv = await serve();
  chrome = await launch();
});
after(async () => {
  await chrome?.close();
  srv?.stop();
});

test("the page replays a twig/1 trace as twig replay does", async () => {
  const dir = path.join(repo, "cmd", "twig", "testdata", "twig1");
  const trace = readFileSync(path.join(dir, "redraw.jsonl"), "utf8");
  const goPNG = readFileSync(path.join(dir, "redraw.png")).toString("base64"); // twig replay's image.png of it
  const events = trace.trim().split("\n").map((l) => JSON.parse(l));
  assert.equal(events[0].v, "twig/1");
  assert.ok(events.some((e) => e.type === "band_redrawn"), "the trace has no redraw");

  const page = await openPage(chrome.browser, `${srv.url}?webgpu=off`);
  await page.evaluate((t) => window.twigDemo.openTrace(t), trace);
  await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 60_000 });
  const got = await page.evaluate(async (png) => {
    const st = window.twigDemo.state;
    await window.twigDemo.view.drawn();
    const cv = document.getElementById("canvas");
    const shown = cv.getContext("2d").getImageData(0, 0, cv.width, cv.height).data;
    const bytes = Uint8Array.from(atob(png), (c) => c.charCodeAt(0));
    const bmp = await createImageBitmap(new Blob([bytes], { type: "image/png" }));
    const c = new OffscreenCanvas(bmp.width, bmp.height);
    c.getContext("2d").drawImage(bmp, 0, 0);
    const go = c.getContext("2d").getImageData(0, 0, bmp.width, bmp.height).data;
    let diff = 0;
    for (let i = 0; i < go.length; i++) diff += go[i] !== shown[i];
    const card = document.querySelector('#bandlist .band[data-band="0"] h3 .rows').textContent;
    return { v: st.v, picture: st.picture, size: [bmp.width, cv.width], diff, card, rows0: st.bands[0].rows,
      redraws: st.bands.map((b) => b.redraws.map((r) => [Array.isArray(r.before), Array.isArray(r.after)])).flat(),
      figures: document.querySelectorAll(".redraw-view figure").length, last: st.done && st.done.type };
  }, goPNG);
  assert.equal(got.v, "twig/1");
  assert.equal(got.last, "run_done");
  assert.ok(!got.picture, "a token run taken for a picture");
  assert.deepEqual(got.size, [512, 512]);
  assert.equal(got.diff, 0, "the page's replay differs from twig replay's image.png");
  const done = events.at(-1);
  assert.deepEqual(got.rows0, done.bands[0], "band 0's rows are not the trace's token rows");
  assert.equal(got.card, `rows ${done.bands[0].start + 1}–${done.bands[0].end}`);
  assert.ok(got.redraws.length >= 1 && got.redraws.every(([b, a]) => b && a), JSON.stringify(got.redraws));
  assert.ok(got.figures >= 2, "the redraw's before and after are not shown");
  await page.context().close();
});

// The page's fold keeps docs/PROTOCOL.md's bounds: malformed events in a
// real twig/2 trace (the engine's, e2e/browser/reviewtrace) are refused,
// each with its reason, and change nothing.
test("the page's fold refuses malformed events and folds the rest", async () => {
  const lines = execFileSync("go", ["run", "./e2e/browser/reviewtrace"], { cwd: repo, maxBuffer: 1 << 24 }).toString().trim().split("\n");
  const events = lines.map((l) => JSON.parse(l));
  assert.equal(events[0].v, "twig/2");
  const page = await openPage(chrome.browser, `${srv.url}?webgpu=off`);
  const got = await page.evaluate((events) => {
    const strip = events.find((e) => e.type === "band_progress" && e.band === 0);
    const other = events.find((e) => e.type === "band_progress" && e.rows.end - e.rows.start !== strip.rows.end - strip.rows.start) || strip;
    const bad = [
      { ...strip, rows: { start: 250, end: 256 } }, // outside band 0's rows
      { ...strip, png: other === strip ? "iVBORw0KGgo=" : other.png, rows: strip.rows, band: 0, _note: "size" }, // a PNG of other rows
      { ...strip, band: 9 }, // a band that never started
      { ...strip, tokens: [1, 2, 3] }, // tokens that are not whole token rows
    ];
    const clean = twig.RunState.from(events);
    const st = new twig.RunState();
    events.forEach((e, i) => {
      if (i === 3) bad.forEach((b) => st.apply(b)); // early on, before band 0's strips
      st.apply(e);
    });
    st.apply({ ...strip }); // after run_done
    return { refused: (st.refused || []).map((r) => r.why), same: JSON.stringify(st.tokens) === JSON.stringify(clean.tokens),
      cleanRefused: (clean.refused || []).length, strips: st.strips.length === clean.strips.length };
  }, events);
  assert.equal(got.cleanRefused, 0, "the engine's own trace had refused events");
  assert.equal(got.refused.length, 5, JSON.stringify(got.refused));
  assert.ok(got.same && got.strips, "a refused event changed the fold");
  await page.context().close();
});
