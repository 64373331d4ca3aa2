// The example static site (web/example/): two <twig-canvas> elements, one
// script tag from a sub-folder, both finish and announce it with DOM events.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import path from "node:path";
import { serve, launch, openPage, artefacts } from "./harness.mjs";

let srv, chrome;
before(async () => {
  srv = await serve();
  chrome = await launch();
});
after(async () => {
  await chrome?.close();
  srv?.stop();
});

test("the example site's two <twig-canvas> elements both finish", async () => {
  const page = await openPage(chrome.browser, `${srv.url}example/`);
  const results = await page.evaluate(() => new Promise((resolve, reject) => {
    const got = {};
    const seen = { thought: new Set(), row: new Set() };
    document.addEventListener("twig-thought", (e) => seen.thought.add(e.target.id));
    document.addEventListener("twig-row", (e) => seen.row.add(e.target.id));
    document.addEventListener("twig-error", (e) => reject(new Error(`${e.target.id}: ${e.detail.message}`)));
    document.addEventListener("twig-done", (e) => {
      got[e.target.id] = { stats: e.detail.stats, thoughts: e.detail.thoughts, events: e.target.events.length,
        status: e.target.shadowRoot.querySelector(".status").textContent,
        items: e.target.shadowRoot.querySelectorAll("ol li").length,
        label: e.target.shadowRoot.querySelector("canvas").getAttribute("aria-label"),
        sawThought: seen.thought.has(e.target.id), sawRow: seen.row.has(e.target.id) };
      if (Object.keys(got).length === 2) resolve(got);
    });
    setTimeout(() => reject(new Error("the elements did not finish in 150 s")), 150_000);
  }));
  for (const id of ["first", "second"]) {
    const r = results[id];
    assert.ok(r, `#${id} did not finish`);
    assert.match(r.status, /^done in/);
    assert.ok(r.sawThought && r.sawRow, `#${id} sent no twig-thought or twig-row events`);
    assert.equal(r.items, r.thoughts.length, `#${id} lists ${r.items} thoughts for ${r.thoughts.length} bands`);
    assert.match(r.label, /twig drawing of/);
  }
  assert.equal(results.second.stats.bands, 4, "the second element's bands attribute was not used");
  assert.match(await page.textContent("#log"), /first: done.*second: done|second: done.*first: done/);
  assert.deepEqual(page.errors, []);
  await page.screenshot({ path: path.join(artefacts, "example.png"), fullPage: true });
  await page.context().close();
});

test("a <twig-canvas> added by script draws, and a prompt change redraws", async () => {
  const page = await openPage(chrome.browser, `${srv.url}example/`);
  const r = await page.evaluate(() => new Promise((resolve, reject) => {
    const el = document.createElement("twig-canvas");
    el.setAttribute("prompt", "a purple circle");
    el.setAttribute("seed", "3");
    el.setAttribute("think", "off");
    const done = [];
    el.addEventListener("twig-error", (e) => reject(new Error(e.detail.message)));
    el.addEventListener("twig-done", (e) => {
      done.push(el.run.events[0].prompt);
      if (done.length === 1) el.setAttribute("prompt", "an orange square");
      else resolve({ done, thoughts: e.detail.thoughts });
    });
    document.body.append(el);
    setTimeout(() => reject(new Error("timeout")), 120_000);
  }));
  assert.deepEqual(r.done, ["a purple circle", "an orange square"]);
  assert.ok(r.thoughts.every((t) => t === ""), "think=off still wrote thoughts");
  await page.context().close();
});
