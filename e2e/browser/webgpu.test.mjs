// WebGPU: on this machine an adapter exists only with --enable-unsafe-webgpu
// and is SwiftShader (the CPU), so this checks correctness, not speed: the
// WGSL products and whole decoder steps agree with the CPU kernels on the
// same inputs. Writes build/e2e/webgpu.json.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
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

test("the WebGPU and CPU paths agree on the same inputs", async () => {
  const page = await openPage(chrome.browser, srv.url);
  const gpu = await page.evaluate(() => twig.ready().then(() => twig.client().gpu()));
  assert.ok(gpu.available, `no WebGPU adapter: ${gpu.reason}`);
  const a = await page.evaluate(() => twig.compare(8));
  writeFileSync(path.join(artefacts, "webgpu.json"), JSON.stringify({ adapter: gpu.name, auto: gpu.auto, why: gpu.why, compare: a }, null, 2) + "\n");
  console.log(`# ${a.accelerator}: matvec max |Δ| ${a.matvec_max_abs_diff.toExponential(2)}, logits max |Δ| ${a.logits_max_abs_diff.toExponential(2)} (|logit| ≤ ${a.logits_max_abs.toFixed(2)}) over ${a.steps} steps; argmax agrees ${a.argmax_agree}/${a.steps}; ${a.cpu_ms_per_step.toFixed(2)} ms/step CPU, ${a.gpu_ms_per_step.toFixed(1)} ms/step WebGPU`);
  assert.ok(a.agree, `WebGPU and CPU disagree: ${JSON.stringify(a)}`);
  assert.ok(a.matvec_max_abs_diff <= 1e-3 && a.logits_max_abs_diff <= 1e-3);
  assert.ok(a.argmax_agree >= a.steps - 1, `argmax agrees on only ${a.argmax_agree}/${a.steps} steps`);
  // the UI shows the choice and lets the user pick WebGPU
  await page.waitForFunction(() => /agrees with the CPU/.test(document.getElementById("engine").textContent));
  assert.equal(await page.isDisabled('#backend option[value="webgpu"]'), false);
  await page.context().close();
});
