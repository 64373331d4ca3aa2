// Screenshots of the page and the element for a before/after comparison:
//   node e2e/browser/shots.mjs <built web folder> <out folder>
// (not a test: the tests in this folder check behaviour; this only looks).
import path from "node:path";
import { mkdirSync } from "node:fs";
import { serve, launch, openPage } from "./harness.mjs";

const [dir, out] = process.argv.slice(2).map((p) => path.resolve(p));
mkdirSync(out, { recursive: true });
const srv = await serve(dir);
const chrome = await launch();
const shot = (page, name, opts) => page.screenshot({ path: path.join(out, name), ...opts });
try {
  const q = (p) => `${srv.url}?prompt=${encodeURIComponent(p)}&seed=1&backend=cpu&webgpu=off&autostart`;
  let page = await openPage(chrome.browser, q("two yellow triangles above a large purple diamond"));
  await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 180_000 });
  await shot(page, "desktop.png", { fullPage: true });
  await page.locator("#canvas").screenshot({ path: path.join(out, "canvas.png") });
  await page.fill("#prompt", "a pink elephant above a gren star");
  await page.click("#draw");
  await page.waitForSelector("#perror:not([hidden])");
  await shot(page, "error.png", { fullPage: true });
  await page.context().close();

  page = await openPage(chrome.browser, q("a red circle above a blue square"), { viewport: { width: 390, height: 844 } });
  await page.waitForFunction(() => window.twigDemo.log.some((e) => e.kind === "row"), null, { timeout: 180_000, polling: 1 });
  await shot(page, "phone-drawing.png");
  await page.waitForFunction(() => window.twigDemo.run && window.twigDemo.run.ended, null, { timeout: 180_000 });
  await shot(page, "phone-done.png");
  await page.context().close();

  page = await openPage(chrome.browser, `${srv.url}example/`);
  await page.waitForFunction(() => [...document.querySelectorAll("twig-canvas")].every((e) => e.run && e.run.ended), null, { timeout: 180_000 });
  await shot(page, "element.png", { fullPage: true });
  await page.context().close();
} finally {
  await chrome.close();
  srv.stop();
}
