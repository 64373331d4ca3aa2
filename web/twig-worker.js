// twig's Web Worker: runs the Go engine and model (twig.wasm) off the page's
// thread. It fetches the weights once and keeps them in the Cache API, turns
// on WebGPU when the browser has it, and answers the page's messages.
// Every URL is relative to this file, so the files work from any folder.
//
// Page → worker: {op: "init", weights, webgpu}
//                {op: "draw", run_id, prompt, settings, backend}
//                {op: "cancel", run_id}
//                {op: "call", id, fn, args}       fn: parse, vocabulary, humanize, png, gif, atlas, compare
// Worker → page: {op: "status", phase, message, loaded?, total?}
//                {op: "ready", info} | {op: "failed", phase, message}
//                {op: "gpu", gpu}                 after ready: WebGPU checked against the CPU, or why not
//                {op: "event", run_id, json}      one protocol event (docs/PROTOCOL.md)
//                {op: "reply", id, value} | {op: "reply", id, error}
"use strict";

importScripts("wasm_exec.js");

const CACHE = "twig-weights-v1";
let wasmReady = null; // Promise<void>: twigGo installed
let modelReady = null; // Promise<info>: weights loaded (and WebGPU tried)
const waiting = new Set(); // run ids asked for before the model was ready

const post = (m, transfer) => self.postMessage(m, transfer || []);
const status = (phase, message, extra) => post({ op: "status", phase, message, ...extra });

// go calls one twigGo function and unwraps its {value} or {error}.
function go(fn, ...args) {
  const r = self.twigGo[fn](...args);
  if (r.error !== undefined) throw new Error(r.error);
  return r.value;
}

function startWasm() {
  if (wasmReady) return wasmReady;
  wasmReady = new Promise((resolve, reject) => {
    self.twigGoReady = resolve;
    const g = new Go();
    const url = new URL("twig.wasm", self.location.href);
    const inst = WebAssembly.instantiateStreaming
      ? WebAssembly.instantiateStreaming(fetch(url), g.importObject).catch(async () => {
          // a server without the application/wasm type: compile from bytes
          const r = await fetch(url);
          return WebAssembly.instantiate(await r.arrayBuffer(), g.importObject);
        })
      : fetch(url).then((r) => r.arrayBuffer()).then((b) => WebAssembly.instantiate(b, g.importObject));
    inst.then((r) => {
      g.run(r.instance).then(() => post({ op: "failed", phase: "wasm", message: "twig.wasm exited" }));
    }, (e) => reject(new Error(`cannot start ${url}: ${e.message}`)));
  });
  return wasmReady;
}

// readWithProgress reads a response body, reporting download progress.
async function readWithProgress(resp, label) {
  const total = Number(resp.headers.get("content-length")) || 0;
  if (!resp.body || !total) return new Uint8Array(await resp.arrayBuffer());
  const out = new Uint8Array(total);
  const reader = resp.body.getReader();
  let loaded = 0, lastReport = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (loaded + value.length > out.length) throw new Error(`${label}: more bytes than its Content-Length`);
    out.set(value, loaded);
    loaded += value.length;
    if (loaded - lastReport > 256 * 1024 || loaded === total) {
      lastReport = loaded;
      status("weights", `downloading the weights: ${(loaded / 1e6).toFixed(1)} of ${(total / 1e6).toFixed(1)} MB`, { loaded, total });
    }
  }
  return out.subarray(0, loaded);
}

async function sha256hex(bytes) {
  if (!self.crypto || !crypto.subtle) return null; // not a secure context
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(d, (b) => b.toString(16).padStart(2, "0")).join("");
}

// fetchWeights returns the weight file's bytes: from the Cache API when this
// exact file (by the manifest's sha256) was fetched before, else from the
// network, then cached. The manifest (twig-weights.json) names the file.
async function fetchWeights(src) {
  const srcURL = new URL(src, self.location.href);
  let file = srcURL, manifest = null;
  if (srcURL.pathname.endsWith(".json")) {
    const r = await fetch(srcURL, { cache: "no-cache" });
    if (!r.ok) throw new Error(`weights manifest ${srcURL}: HTTP ${r.status}`);
    manifest = await r.json();
    file = new URL(manifest.file, srcURL);
  }
  const key = manifest ? `${file.href}?sha256=${manifest.sha256}` : file.href;
  const cache = self.caches ? await caches.open(CACHE).catch(() => null) : null;
  let hit = cache ? await cache.match(key) : null;
  let bytes;
  if (hit) {
    bytes = new Uint8Array(await hit.arrayBuffer());
  } else {
    status("weights", `downloading the weights (${file.pathname.split("/").pop()})`);
    const r = await fetch(file, { cache: "no-cache" });
    if (!r.ok) throw new Error(`weights ${file}: HTTP ${r.status} — is the weight file next to the page?`);
    bytes = await readWithProgress(r, "weights");
    if (manifest && manifest.sha256) {
      const got = await sha256hex(bytes);
      if (got && got !== manifest.sha256) {
        throw new Error(`the weights at ${file} (sha256 ${got.slice(0, 12)}…) are not the ones twig-weights.json names (${manifest.sha256.slice(0, 12)}…): the site is half-updated; copy both files again (make web)`);
      }
    }
    if (cache) {
      // drop other versions of this file, then keep this one
      for (const req of await cache.keys()) if (req.url.split("?")[0] === file.href && req.url !== key) await cache.delete(req);
      await cache.put(key, new Response(bytes, { headers: { "content-type": "application/octet-stream" } })).catch(() => {});
    }
  }
  return { bytes, key, cache, fromCache: !!hit, manifest };
}

async function init(msg) {
  try {
    status("wasm", "starting the engine (twig.wasm)");
    await startWasm();
    status("weights", "loading the weights");
    const w = await fetchWeights(msg.weights || "twig-weights.json");
    let weights;
    try {
      weights = JSON.parse(go("loadWeights", w.bytes));
    } catch (e) {
      if (w.cache) await w.cache.delete(w.key); // a bad file must not stick
      throw e;
    }
    weights.from_cache = w.fromCache;
    weights.sha256 = w.manifest ? w.manifest.sha256 : "";
    status("ready", "ready");
    return { weights, gpu: { available: false, pending: msg.webgpu !== false, reason: "WebGPU is being checked" } };
  } catch (e) {
    post({ op: "failed", phase: "init", message: e.message });
    throw e;
  }
}

// startGPU turns WebGPU on after the model is ready (runs never wait for it:
// until it is checked against the CPU, auto means the CPU).
async function startGPU() {
  let gpu;
  try {
    gpu = { available: true, ...JSON.parse(await go("enableWebGPU")) };
  } catch (e) {
    gpu = { available: false, reason: e.message };
  }
  post({ op: "gpu", gpu });
}

const calls = {
  parse: (prompt) => JSON.parse(go("parse", prompt)),
  vocabulary: () => JSON.parse(go("vocabulary")),
  humanize: (thought, prompt) => go("humanize", thought, prompt || ""),
  png: (tokens) => go("png", JSON.stringify(tokens)),
  gif: (trace) => go("gif", trace),
  atlas: () => go("atlas"),
  compare: async (steps) => JSON.parse(await go("compare", steps || 16)),
};

self.onmessage = async (e) => {
  const m = e.data;
  switch (m.op) {
    case "init":
      modelReady = init(m);
      modelReady.then((info) => {
        post({ op: "ready", info });
        if (m.webgpu !== false) startGPU();
        else post({ op: "gpu", gpu: { available: false, reason: "WebGPU turned off" } });
      }, () => {});
      startWasm();
      break;
    case "draw": {
      const req = { run_id: m.run_id, prompt: m.prompt, settings: m.settings || {}, backend: m.backend || "auto" };
      const fail = (code, message) => post({ op: "event", run_id: m.run_id,
        json: JSON.stringify({ v: "twig/1", type: "error", run_id: m.run_id, seq: 0, t_ms: 0, code, message }) });
      waiting.add(m.run_id);
      try {
        await modelReady;
      } catch (err) {
        waiting.delete(m.run_id);
        fail("backend_failed", err.message);
        break;
      }
      if (!waiting.delete(m.run_id)) {
        fail("canceled", "twig: run cancelled before it started");
        break;
      }
      go("draw", JSON.stringify(req), (json) => post({ op: "event", run_id: m.run_id, json }));
      break;
    }
    case "cancel":
      // a run still waiting for the model is dropped; a started one is cancelled in Go
      if (!waiting.delete(m.run_id) && self.twigGo) go("cancel", m.run_id);
      break;
    case "call":
      try {
        await startWasm();
        if (m.fn === "compare") await modelReady;
        const value = await calls[m.fn](...(m.args || []));
        const transfer = value && value.buffer instanceof ArrayBuffer ? [value.buffer] : value && value.rgba ? [value.rgba.buffer] : [];
        post({ op: "reply", id: m.id, value }, transfer);
      } catch (err) {
        post({ op: "reply", id: m.id, error: err.message });
      }
      break;
  }
};
