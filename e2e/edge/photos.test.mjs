// Real pictures through the worker in real workerd (wrangler dev): a run
// whose roles are remote — `twig serve --backend openai` in front of an
// OpenAI-compatible provider whose image model answers every edit with a
// camera photograph (e2e/browser/photos.mjs, the Node twin of
// core/remote/remotetest). The worker plays the loop and relays the role
// calls and their PNG strips; the checks fold the worker's events and
// compare them with the same run played straight on a twin of the upstream.
//
// Writes the numbers (calls and ms per picture, each path) to
// build/edge/photos.json. Run: make e2e-edge.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import os from "node:os";
import { repo, secrets, twigServe, worker, connect, twig } from "./harness.mjs";
import { photoProvider } from "../browser/photos.mjs";
import { decodePNG } from "./png.mjs";

const prompt = "a dune at dusk, photographed with a long lens"; // free text: the roles are remote
const settings = { seed: 1, bands: 3 };
let viaProv, directProv, viaServe, directServe, w;
const numbers = {};

// remote starts a twig serve whose roles all go to a fresh photo provider.
async function remote() {
  const prov = await photoProvider();
  // The worker's role calls carry the canvas so far (a PNG data URL of up to
  // ~2 MB of photographs): over twig serve's 64 KiB default for a message.
  const serve = await twigServe({ args: ["--backend", "openai", "--base-url", prov.url, "--max-message-bytes", String(8 << 20)],
    env: { OPENAI_API_KEY: "sk-photos-test" } });
  return [prov, serve];
}

before(async () => {
  [viaProv, viaServe] = await remote();
  [directProv, directServe] = await remote();
  w = await worker({
    upstreams: { photos: { kind: "twig", url: `${viaServe.url}/v1`, key: "TWIG_KEY", bands: 3 } },
    vars: { DEFAULT_UPSTREAM: "photos", ORIGINS: viaServe.url, RATE_LIMIT_PER_MINUTE: "0", UPSTREAM_TIMEOUT_MS: "30000" },
  });
});

after(async () => {
  await w?.stop();
  for (const x of [viaServe, directServe]) x?.stop();
  for (const x of [viaProv, directProv]) x?.stop();
  if (Object.keys(numbers).length) {
    fs.mkdirSync(path.join(repo, "build/edge"), { recursive: true });
    fs.writeFileSync(path.join(repo, "build/edge/photos.json"), JSON.stringify(numbers, null, 2) + "\n");
    console.log("# photo runs:", JSON.stringify(numbers));
  }
});

// run plays one run over a gateway's websocket and returns its events, the
// provider's calls and the wall time.
async function run(url, prov) {
  const c = await connect(url);
  const calls0 = prov.edits + prov.chats;
  const t0 = performance.now();
  c.ws.send(JSON.stringify({ v: c.hello.v, type: "start", id: "photo", prompt, settings }));
  const events = await c.until("photo");
  const ms = Math.round(performance.now() - t0);
  c.ws.close();
  return { events, ms, calls: prov.edits + prov.chats - calls0 };
}

const hash = (buf, w, from, to) => crypto.createHash("sha256").update(buf.subarray(from * w * 4, to * w * 4)).digest("hex");
// outside hashes every pixel row of a W-wide canvas but rows.
const outside = (buf, w, h, rows) => hash(buf, w, 0, rows.start) + hash(buf, w, rows.end, h);

function colours(rgba) {
  const seen = new Set();
  for (let i = 0; i < rgba.length; i += 4) seen.add((rgba[i] << 16) | (rgba[i + 1] << 8) | rgba[i + 2]);
  return seen.size;
}

// fold rebuilds the canvas from a run's events (docs/PROTOCOL.md, "Folding
// events", twig/2) and checks each band's edit and redraw as it goes.
function fold(events) {
  const start = events[0];
  assert.equal(start.type, "run_started");
  assert.equal(start.v, "twig/2", "the run's events are not twig/2 (pixel strips)");
  const W = start.width, H = start.height;
  const canvas = Buffer.alloc(W * H * 4);
  const bands = [];
  let strips = 0, redraws = 0;
  for (const ev of events) {
    switch (ev.type) {
      case "band_started":
        bands[ev.band] = { rows: ev.rows, before: outside(canvas, W, H, ev.rows) };
        break;
      case "band_progress": {
        const b = bands[ev.band];
        assert.ok(ev.png, `band ${ev.band}: a band_progress without its PNG`);
        assert.ok(ev.rows.start >= b.rows.start && ev.rows.end <= b.rows.end && ev.rows.start < ev.rows.end,
          `band ${ev.band}: a strip of rows ${JSON.stringify(ev.rows)} outside its band ${JSON.stringify(b.rows)}`);
        const s = decodePNG(ev.png);
        assert.equal(s.width, W, "a strip as wide as the canvas");
        assert.equal(s.height, ev.rows.end - ev.rows.start, "a strip of exactly its rows");
        s.rgba.copy(canvas, ev.rows.start * W * 4);
        strips++;
        break;
      }
      case "band_redrawn": {
        const b = bands[ev.band];
        assert.deepEqual(ev.rows, b.rows, `band ${ev.band}: a redraw clears its band's rows`);
        b.before = outside(canvas, W, H, b.rows);
        b.redrawnFrom = hash(canvas, W, b.rows.start, b.rows.end);
        canvas.fill(0, b.rows.start * W * 4, b.rows.end * W * 4);
        redraws++;
        break;
      }
      case "band_done": {
        const b = bands[ev.band];
        assert.equal(outside(canvas, W, H, b.rows), b.before, `band ${ev.band} round ${ev.round}: pixels outside the band changed`);
        if (ev.round > 0) assert.notEqual(hash(canvas, W, b.rows.start, b.rows.end), b.redrawnFrom, `band ${ev.band}: the redraw did not replace the band`);
        break;
      }
    }
  }
  return { W, H, canvas, strips, redraws };
}

test("a run through the worker whose roles are remote gives the upstream's photographs, band by band", async () => {
  const via = await run(`${w.url.replace("http", "ws")}/v1/ws`, viaProv);
  const done = via.events.at(-1);
  assert.equal(done.type, "run_done", JSON.stringify(done).slice(0, 400));
  assert.match(via.events[0].backend, /twig edge/, "the run did not go through the worker");
  const f = fold(via.events);
  assert.deepEqual([f.W, f.H], [1024, 1024], "the picture is not at the image model's size");
  assert.ok(f.redraws >= 1, "no redraw: the provider's critic asks for one per band");
  const final = decodePNG(done.png);
  assert.deepEqual([final.width, final.height], [f.W, f.H]);
  assert.ok(final.rgba.equals(f.canvas), "run_done.png is not the canvas its strips make");
  const n = colours(final.rgba);
  assert.ok(n > 10000, `the picture has ${n} colours: want the photographs' (a token picture has a few hundred)`);

  // The same run straight on a twin of the upstream (its own provider, so
  // the same photographs in the same order): the worker changed nothing.
  const direct = await run(`${directServe.url.replace("http", "ws")}/v1/ws?access_token=${secrets.twig}`, directProv);
  const ddone = direct.events.at(-1);
  assert.equal(ddone.type, "run_done", JSON.stringify(ddone).slice(0, 400));
  assert.ok(decodePNG(ddone.png).rgba.equals(final.rgba), "the run through the worker differs from the same run on twig serve");
  assert.equal(via.calls, direct.calls, "the worker made other calls than the run on twig serve");
  numbers.worker = { calls: via.calls, ms: via.ms, strips: f.strips, redraws: f.redraws, colours: n };
  numbers.serve = { calls: direct.calls, ms: direct.ms };
}, { timeout: 300_000 });

test("the page in remote mode through the worker shows the photographs (headless Chromium)", async (t) => {
  let harness;
  try {
    harness = await import("../browser/harness.mjs"); // playwright-core from e2e/browser (npm ci --prefix e2e/browser)
  } catch (e) {
    return t.skip(`no browser harness: ${e.message}`);
  }
  if (!fs.existsSync(harness.chromiumPath) || !fs.existsSync(path.join(repo, "build/web/twig.js"))) {
    return t.skip("no chromium or no build/web (make web)");
  }
  const chrome = await harness.launch();
  try {
    const gateway = `${w.url.replace("http", "ws")}/v1/ws`;
    const q = new URLSearchParams({ backend: "remote", webgpu: "off", bands: "3", seed: "2", gateway, prompt });
    const calls0 = viaProv.edits + viaProv.chats;
    const t0 = performance.now();
    const page = await harness.openPage(chrome.browser, `${viaServe.url}/?${q}&autostart`);
    await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 240_000 });
    const ms = Math.round(performance.now() - t0);
    const events = await page.evaluate(() => window.twigDemo.events);
    assert.equal(events.at(-1).type, "run_done", JSON.stringify(events.at(-1)).slice(0, 400));
    assert.match(events[0].backend, /twig edge/, "the run did not go through the worker");
    const strips = events.filter((e) => e.type === "band_progress");
    assert.ok(strips.length >= 3 && strips.every((e) => e.png && e.rows), "the page got no PNG strips");
    // the page's canvas once every strip is drawn: the photographs' colours
    const seen = await page.evaluate(async () => {
      await window.twigDemo.view.drawn();
      const c = document.getElementById("canvas");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const s = new Set();
      for (let i = 0; i < px.length; i += 4) s.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      return s.size;
    });
    assert.ok(seen > 10000, `the page's canvas has ${seen} colours: want the photographs`);
    numbers.page = { calls: viaProv.edits + viaProv.chats - calls0, ms, strips: strips.length };
    await page.context().close();
  } finally {
    await chrome.close();
  }
}, { timeout: 300_000 });

// twig draw --backend twig through the worker's HTTP proxy (POST /v1/calls;
// the painter's canvas read from GET /v1/models): the CLI's picture is the
// upstream's photographs at its size.
test("twig draw through the worker's HTTP calls gives the photographs", async () => {
  const out = fs.mkdtempSync(path.join(os.tmpdir(), "twig-photo-draw-"));
  try {
    const calls0 = viaProv.edits + viaProv.chats;
    const t0 = performance.now();
    const r = await twig(["draw", "--backend", "twig", "--base-url", `${w.url}/v1`, "--retries", "0", "--json", "--seed", "3",
      "--bands", "3", "--out", out, prompt]);
    const ms = Math.round(performance.now() - t0);
    const done = JSON.parse(r.stdout.trim().split("\n").at(-1));
    assert.equal(done.type, "run_done", r.stdout.slice(-400));
    const img = decodePNG(fs.readFileSync(path.join(out, "image.png")));
    assert.deepEqual([img.width, img.height], [1024, 1024], "the CLI's picture is not at the image model's size");
    const n = colours(img.rgba);
    assert.ok(n > 10000, `the CLI's picture has ${n} colours`);
    numbers.cli = { calls: viaProv.edits + viaProv.chats - calls0, ms };
  } finally {
    fs.rmSync(out, { recursive: true, force: true });
  }
}, { timeout: 300_000 });
