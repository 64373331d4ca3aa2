// Remote mode on real pictures: twig serve plays the page's run on an
// OpenAI-compatible provider whose image model answers photographs; the
// page draws the picture from the events' PNG strips, not the token view.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { twigServe, launch, openPage } from "./harness.mjs";
import { photoProvider } from "./photos.mjs";

let prov, srv, chrome;
before(async () => {
  prov = await photoProvider();
  srv = await twigServe({ env: { OPENAI_API_KEY: "sk-test" }, args: ["--backend", "openai", "--base-url", prov.url] });
  chrome = await launch();
});
after(async () => {
  await chrome?.close();
  srv?.stop();
  prov?.stop();
});

test("the page shows a remote run's photographs", async () => {
  const t0 = Date.now();
  const prompt = encodeURIComponent("a dune at dusk, photographed with a long lens"); // free text: no world vocabulary on a remote run
  const page = await openPage(chrome.browser, `${srv.url}?backend=remote&webgpu=off&bands=3&prompt=${prompt}&autostart`);
  await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 120_000 });
  const ms = Date.now() - t0;
  const events = await page.evaluate(() => window.twigDemo.events);
  assert.equal(events.at(-1).type, "run_done", JSON.stringify(events.at(-1)).slice(0, 300));
  assert.equal(events[0].width, 1024);
  assert.equal(events[0].prompt, "a dune at dusk, photographed with a long lens");
  assert.ok(events.filter((e) => e.type === "band_progress").every((e) => e.png && e.rows), "a band_progress without its pixels");
  // the page's canvas, once every strip is drawn: a photograph's colours
  const colours = await page.evaluate(async () => {
    const c = document.getElementById("canvas");
    await window.twigDemo.view.drawn();
    const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
    const seen = new Set();
    for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
    return seen.size;
  });
  assert.ok(colours > 10000, `the page's canvas has ${colours} colours: want the photographs (the token view has about a thousand)`);
  // The page's fold (RunState: strips at their rows, a redraw's rows
  // cleared) gives the engine's final canvas, run_done.png, pixel for pixel.
  const fold = await page.evaluate(async () => {
    const st = twig.RunState.from(window.twigDemo.events);
    const pixels = async (blob) => {
      const bmp = await createImageBitmap(blob);
      const c = new OffscreenCanvas(bmp.width, bmp.height);
      const cx = c.getContext("2d");
      cx.drawImage(bmp, 0, 0);
      return { w: bmp.width, h: bmp.height, px: cx.getImageData(0, 0, bmp.width, bmp.height).data };
    };
    const mine = await pixels(await twig.pictureBlob(st));
    const bytes = Uint8Array.from(atob(st.done.png), (c) => c.charCodeAt(0));
    const theirs = await pixels(new Blob([bytes], { type: "image/png" }));
    let diff = 0;
    for (let i = 0; i < mine.px.length; i++) diff += mine.px[i] !== theirs.px[i];
    return { v: st.v, picture: st.picture, size: [mine.w, mine.h, theirs.w, theirs.h], diff, redraws: st.bands.reduce((n, b) => n + b.redraws.length, 0) };
  });
  assert.equal(fold.v, "twig/2");
  assert.ok(fold.picture, "the page did not take the run for a picture");
  assert.deepEqual(fold.size, [1024, 1024, 1024, 1024]);
  assert.ok(fold.redraws >= 1, "no redraw to fold");
  assert.equal(fold.diff, 0, "the page's fold differs from run_done.png");
  console.log(`# one picture through the page and twig serve: ${prov.edits + prov.chats} calls (${prov.chats} chat, ${prov.edits} image edits) in ${ms} ms`);
  await page.context().close();
});

test("a <twig-canvas> on the remote backend shows the photographs", async () => {
  const page = await openPage(chrome.browser, `${srv.url}example/`);
  const colours = await page.evaluate(() => new Promise((resolve, reject) => {
    const el = document.createElement("twig-canvas");
    el.setAttribute("prompt", "a dune at dusk, photographed with a long lens");
    el.setAttribute("backend", "remote");
    el.setAttribute("bands", "3");
    el.addEventListener("twig-error", (e) => reject(new Error(e.detail.message)));
    el.addEventListener("twig-done", async () => {
      await el._view.drawn();
      const c = el.shadowRoot.querySelector("canvas");
      const px = c.getContext("2d").getImageData(0, 0, c.width, c.height).data;
      const seen = new Set();
      for (let i = 0; i < px.length; i += 4) seen.add((px[i] << 16) | (px[i + 1] << 8) | px[i + 2]);
      resolve(seen.size);
    });
    document.body.append(el);
    setTimeout(() => reject(new Error("the element did not finish in 120 s")), 120_000);
  }));
  assert.ok(colours > 10000, `the element's canvas has ${colours} colours: want the photographs`);
  await page.context().close();
});
