// The edge worker in real workerd (wrangler dev) in front of a real `twig
// serve`: a TwiG run whose roles all go through the worker, the websocket
// protocol, SSE pass-through, the protections, and the latency the worker
// adds (written to build/edge/latency.json).
//
// Run: make e2e-edge (TWIG_BIN=bin/twig node --test e2e/edge/ with Node 22
// from e2e/edge/node_modules). TWIG_E2E_LOGS=1 shows the processes' logs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { repo, secrets, twigServe, echoUpstream, silentUpstream, freePort, worker, twig, connect, median, waitFor } from "./harness.mjs";

const prompt = "a red circle above a blue square";
// V is the protocol version the gateways speak (from the worker's hello);
// top is the first band of the embedded model's canvas in twig/2's pixel
// rows (6 token rows of 16).
let V;
const top = { start: 0, end: 96 };
let serve, echo, silent, w;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "twig-edge-e2e-")); // twig draw's output folders
const seen = []; // every response body and websocket message, for the secrets check
const latency = {};

before(async () => {
  serve = await twigServe();
  echo = await echoUpstream();
  silent = await silentUpstream();
  const dead = `http://127.0.0.1:${await freePort()}`;
  w = await worker({
    upstreams: {
      twig: { kind: "twig", url: `${serve.url}/v1`, key: "TWIG_KEY" },
      echo: { kind: "openai", url: `${echo.url}/v1`, key: "ECHO_KEY" },
      dead: { kind: "twig", url: `${dead}/v1` },
      silent: { kind: "twig", url: `${silent.url}/v1` },
    },
    // The rate limit is on (every call consults the limiter) but out of reach of
    // these tests however fast they go; "the rate limit trips" has a worker of
    // its own. The upstream timeout leaves twig serve's answers a wide margin
    // on a loaded machine; the silent upstream waits it out.
    vars: { ORIGINS: serve.url, UPSTREAM_TIMEOUT_MS: "5000", RATE_LIMIT_PER_MINUTE: "60000", RATE_LIMIT_BURST: "10000",
      MAX_REQUEST_BYTES: "65536", MAX_MESSAGE_BYTES: "16384" },
  });
  // Cold start: the first request after wrangler is ready compiles the
  // worker's wasm and starts its first Go instance.
  const t0 = performance.now();
  const r = await fetch(`${w.url}/healthz`);
  latency.cold_start_ms = Math.round(performance.now() - t0);
  latency.wrangler_ready_ms = Math.round(w.readyMs);
  assert.equal(r.status, 200, await r.text());
  const c = await connect(`${w.url.replace("http", "ws")}/v1/ws`);
  V = c.hello.v;
  c.ws.close(1000);
});

after(async () => {
  await w?.stop();
  serve?.stop();
  echo?.close();
  silent?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
  if (Object.keys(latency).length) {
    fs.mkdirSync(path.join(repo, "build/edge"), { recursive: true });
    fs.writeFileSync(path.join(repo, "build/edge/latency.json"), JSON.stringify(latency, null, 2) + "\n");
    console.log("edge latency (ms):", JSON.stringify(latency));
  }
});

async function call(url, init) {
  const r = await fetch(url, init);
  const body = await r.text();
  seen.push(body, JSON.stringify([...r.headers]));
  return { status: r.status, headers: r.headers, body, json: () => JSON.parse(body) };
}

function assertError(res, status, code) {
  assert.equal(res.status, status, res.body);
  const e = res.json().error;
  assert.equal(e.code, code, res.body);
  assert.ok(e.message && e.type, res.body);
  return e;
}

const lastEvent = (jsonl) => JSON.parse(jsonl.trim().split("\n").at(-1));

test("a TwiG run whose thinker, critic and painter are all called through the worker", async () => {
  const opts = ["--json", "--seed", "1", "--retries", "0", "--out", fs.mkdtempSync(path.join(tmp, "draw-")), prompt];
  const via = await twig(["draw", "--backend", "twig", "--base-url", `${w.url}/v1`, ...opts]);
  seen.push(via.stdout, via.stderr);
  const done = lastEvent(via.stdout);
  assert.equal(done.type, "run_done", via.stdout.slice(-500));
  assert.ok(done.stats.critiques >= 1 && done.thoughts.every((t) => t.length > 0));
  // The same run straight to twig serve (with its key) gives the same image.
  const direct = await twig(["draw", "--backend", "twig", "--base-url", `${serve.url}/v1`, ...opts], { TWIG_API_KEY: secrets.twig });
  assert.deepEqual(done.tokens, lastEvent(direct.stdout).tokens, "the worker changed the run");
}, { timeout: 180_000 });

// The worker's own loop (a websocket run) plays each role as a model call to
// twig serve through client.Client (edge/client), the one role-call client; the CLI's run
// plays them through the worker's POST /v1/calls with the same seeds. Both
// must give the same events field for field — critique tokens included,
// which the worker's path once dropped.
test("a websocket run through the worker carries every field of its model calls", async () => {
  const opts = ["--json", "--seed", "5", "--bands", "3", "--retries", "0", "--out", fs.mkdtempSync(path.join(tmp, "draw-")), prompt];
  const cli = await twig(["draw", "--backend", "twig", "--base-url", `${w.url}/v1`, ...opts]);
  seen.push(cli.stdout, cli.stderr);
  const c = await connect(`${w.url.replace("http", "ws")}/v1/ws`);
  c.ws.send(JSON.stringify({ v: V, type: "start", id: "fields", prompt, settings: { seed: 5, bands: 3 } }));
  const run = await c.until("fields");
  seen.push(...c.all);
  c.ws.close(1000);
  const norm = (e) => {
    const { t_ms, run_id, ...rest } = e;
    if (rest.type === "run_started") delete rest.backend;
    if (rest.type === "run_done") rest.stats = { ...rest.stats, timings: undefined };
    return JSON.stringify(rest);
  };
  const want = cli.stdout.trim().split("\n").map((l) => norm(JSON.parse(l)));
  const got = run.map(norm);
  assert.deepEqual(got, want, "the worker's run differs from the same run played through its calls");
  const critiques = run.filter((e) => e.type === "critique");
  assert.ok(critiques.length >= 1 && critiques.every((e) => e.tokens >= 1), JSON.stringify(critiques));
}, { timeout: 180_000 });

test("the OpenAI-compatible roles (chat with SSE, image edits) through the worker", async () => {
  const out = await twig(["draw", "--backend", "openai", "--base-url", `${w.url}/v1`, "--model", "twig", "--retries", "0",
    "--json", "--seed", "2", "--out", fs.mkdtempSync(path.join(tmp, "draw-")), prompt]);
  seen.push(out.stdout, out.stderr);
  assert.equal(lastEvent(out.stdout).type, "run_done", out.stdout.slice(-500));
}, { timeout: 180_000 });

test("the websocket speaks twig serve's protocol: model calls stream tokens, runs complete", async () => {
  const c = await connect(`${w.url.replace("http", "ws")}/v1/ws`);
  assert.equal(c.hello.type, "hello");
  assert.deepEqual(c.hello.roles, ["think", "paint", "critique", "decide"]);
  c.ws.send(JSON.stringify({ v: V, type: "call", id: "c1", role: "think",
    request: { prompt, settings: { seed: 1 }, band: 0, rows: top, thoughts: [], canvas: [] } }));
  const call = await c.until("c1");
  assert.ok(call.filter((e) => e.type === "call_delta").length >= 2, JSON.stringify(call));
  assert.equal(call.at(-1).type, "call_done");
  c.ws.send(JSON.stringify({ v: V, type: "start", id: "r1", prompt, settings: { seed: 3, bands: 2 } }));
  const run = await c.until("r1");
  assert.equal(run.at(-1).type, "run_done", JSON.stringify(run.at(-1)));
  assert.ok(run.some((e) => e.type === "thought_delta") && run.some((e) => e.type === "critique"));
  // A message over MAX_MESSAGE_BYTES is refused; the connection goes on.
  c.ws.send(JSON.stringify({ v: V, type: "start", id: "big", prompt: "red ".repeat(5000) }));
  let ev;
  do ev = await c.next(); while (ev.run_id !== "");
  assert.equal(ev.code, "message_too_large");
  c.ws.send(JSON.stringify({ v: V, type: "call", id: "c2", role: "think",
    request: { prompt, settings: { seed: 2 }, band: 0, rows: top, thoughts: [], canvas: [] } }));
  assert.equal((await c.until("c2")).at(-1).type, "call_done");
  seen.push(...c.all);
  c.ws.close(1000);
}, { timeout: 120_000 });

test("the browser page runs remotely through the worker (headless Chromium)", async (t) => {
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
    const page = await harness.openPage(chrome.browser, `${serve.url}/?webgpu=off`);
    const gateway = `${w.url.replace("http", "ws")}/v1/ws`;
    const events = await page.evaluate(async ([prompt, gateway]) => {
      const run = twig.draw(prompt, { backend: "remote", gateway, settings: { seed: 2, bands: 2 } });
      await run.result;
      return run.events;
    }, [prompt, gateway]);
    seen.push(JSON.stringify(events));
    assert.equal(events.at(-1).type, "run_done", JSON.stringify(events.at(-1)));
    assert.match(events[0].backend, /twig edge/, "the run did not go through the worker");
    assert.ok(events.some((e) => e.type === "thought_delta"));
    await page.context().close();
  } finally {
    await chrome.close();
  }
}, { timeout: 180_000 });

// The echo upstream sends each event only once the client has read the one
// before (echo.ack): a worker that held the stream back would never deliver
// the first event, and the test would fail on its timeout.
test("server-sent events pass through as they arrive, with the key scrubbed", async () => {
  const r = await fetch(`${w.url}/u/echo/v1/chat/completions`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ model: "m", stream: true, messages: [] }) });
  assert.equal(r.headers.get("content-type"), "text/event-stream");
  let text = "";
  let events = 0; // whole events read (and acked)
  const dec = new TextDecoder();
  for await (const chunk of r.body) {
    text += dec.decode(chunk, { stream: true });
    for (const n = text.split("\n\n").length - 1; events < n; events++) echo.ack();
  }
  seen.push(text);
  assert.equal(events, 4, text);
  assert.equal((text.match(/^data: /gm) || []).length, 4, text);
  assert.match(text, /\[redacted\]/);
  assert.doesNotMatch(text, new RegExp(secrets.echo));
}, { timeout: 60_000 });

test("secrets: an upstream echoing its key gets it scrubbed; the worker never sends it", async () => {
  for (const body of ['{"model":"m"}', '{"model":"m","fail":1}']) {
    const res = await call(`${w.url}/u/echo/v1/chat/completions`, { method: "POST", headers: { "Content-Type": "application/json",
      Authorization: "Bearer the-clients-own" }, body });
    assert.match(res.body, /\[redacted\]/);
    assert.equal(res.headers.get("x-echo"), null, "a header outside the allowlist came back");
  }
  const models = await call(`${w.url}/v1/models`);
  assert.equal(models.status, 200);
  assert.ok(models.json().data.some((m) => m.id === "twig"));
});

test("protections: CORS allowlist, size caps, upstream allowlist", async () => {
  const ok = await call(`${w.url}/v1/models`, { headers: { Origin: serve.url } });
  assert.equal(ok.headers.get("access-control-allow-origin"), serve.url);
  assertError(await call(`${w.url}/v1/models`, { headers: { Origin: "https://evil.example" } }), 403, "origin_not_allowed");
  const pre = await call(`${w.url}/v1/chat/completions`, { method: "OPTIONS", headers: { Origin: serve.url,
    "Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type" } });
  assert.equal(pre.status, 204);
  const big = "x".repeat(70_000);
  assertError(await call(`${w.url}/v1/chat/completions`, { method: "POST", body: big }), 413, "request_too_large");
  const e = assertError(await call(`${w.url}/u/evil.example/v1/models`), 403, "upstream_not_allowed");
  assert.match(e.message, /this worker calls only dead, echo, silent, twig/);
  assertError(await call(`${w.url}/u/echo/v1/files`, { method: "POST", body: "{}" }), 404, "endpoint_not_allowed");
  // Nothing a client sends picks the host.
  const r = await call(`${w.url}/u/echo/v1/models?url=http://evil.example`, { headers: { "X-Forwarded-Host": "evil.example" } });
  assert.equal(r.json().path, "/v1/models");
});

test("a dead upstream is a clean error, not a hang", async () => {
  let t0 = performance.now();
  const e = assertError(await call(`${w.url}/u/dead/v1/models`), 502, "upstream_unreachable");
  assert.ok(performance.now() - t0 < 30_000);
  assert.doesNotMatch(e.message, /127\.0\.0\.1/, "the message names the upstream's address");
  t0 = performance.now();
  assertError(await call(`${w.url}/u/silent/v1/models`), 504, "upstream_timeout");
  const took = performance.now() - t0;
  assert.ok(took >= 4900 && took < 60_000, `the silent upstream took ${took} ms (timeout 5 s)`);
  for (const up of ["dead", "silent"]) {
    const c = await connect(`${w.url.replace("http", "ws")}/u/${up}/v1/ws`);
    c.ws.send(JSON.stringify({ v: V, type: "call", id: "c1", role: "think",
      request: { prompt, settings: {}, band: 0, rows: top, thoughts: [], canvas: [] } }));
    const [err] = await c.until("c1");
    assert.equal(err.type, "error");
    assert.equal(err.code, "backend_failed");
    assert.match(err.message, up === "dead" ? /could not be reached/ : /sent no answer within/);
    c.ws.close(1000);
  }
}, { timeout: 180_000 });

test("latency: cold start, and what the worker adds per proxied call", async () => {
  const N = 12;
  const time = async (f) => { const t = performance.now(); await f(); return performance.now() - t; };
  const direct = { Authorization: `Bearer ${secrets.twig}` };
  const callBody = JSON.stringify({ v: V, type: "call", id: "c1", role: "think",
    request: { prompt, settings: { seed: 1 }, band: 0, rows: top, thoughts: [], canvas: [] } });
  const sample = async (f) => { const xs = []; for (let i = 0; i < N; i++) xs.push(await time(f)); return Math.round(median(xs) * 10) / 10; };
  latency.healthz_worker_ms = await sample(() => fetch(`${w.url}/healthz`).then((r) => r.text()));
  latency.models_worker_ms = await sample(() => fetch(`${w.url}/v1/models`).then((r) => r.text()));
  latency.models_direct_ms = await sample(() => fetch(`${serve.url}/v1/models`, { headers: direct }).then((r) => r.text()));
  const post = (url, h = {}) => () => fetch(url, { method: "POST", headers: { "Content-Type": "application/json", ...h }, body: callBody }).then((r) => r.text());
  latency.think_call_http_worker_ms = await sample(post(`${w.url}/v1/calls`));
  latency.think_call_http_direct_ms = await sample(post(`${serve.url}/v1/calls`, direct));
  for (const [name, url] of [["worker", `${w.url.replace("http", "ws")}/v1/ws`], ["direct", `${serve.url.replace("http", "ws")}/v1/ws?access_token=${secrets.twig}`]]) {
    const c = await connect(url);
    let i = 0;
    latency[`think_call_ws_${name}_ms`] = await sample(async () => {
      const id = `c${i++}`;
      c.ws.send(callBody.replace('"id":"c1"', `"id":"${id}"`));
      await c.until(id);
    });
    c.ws.close(1000);
  }
  latency.added_http_call_ms = Math.round((latency.think_call_http_worker_ms - latency.think_call_http_direct_ms) * 10) / 10;
  latency.added_ws_call_ms = Math.round((latency.think_call_ws_worker_ms - latency.think_call_ws_direct_ms) * 10) / 10;
  const wasm = fs.readFileSync(path.join(repo, "build/edge/app.wasm"));
  const { gzipSync } = await import("node:zlib");
  latency.wasm_bytes = wasm.length;
  latency.wasm_gzip_bytes = gzipSync(wasm, { level: 9 }).length;
  assert.ok(latency.wasm_gzip_bytes < 3_000_000, `the worker is ${latency.wasm_gzip_bytes} bytes gzipped, over the free plan's 3 MB`);
}, { timeout: 180_000 });

// A worker of its own, with a bucket of 3 calls refilled at 6 a minute (one
// call every 10 s): of four calls one after another the fourth is refused
// unless the four took 10 s, whatever the machine's speed; the refusal's
// Retry-After is when a call is allowed again.
test("the rate limit trips and recovers", async () => {
  const rl = await worker({ upstreams: { echo: { kind: "openai", url: `${echo.url}/v1`, key: "ECHO_KEY" } },
    vars: { DEFAULT_UPSTREAM: "echo", RATE_LIMIT_PER_MINUTE: "6", RATE_LIMIT_BURST: "3" } });
  try {
    const t0 = performance.now();
    const shots = [];
    for (let i = 0; i < 4; i++) shots.push(await call(`${rl.url}/u/echo/v1/models`));
    const took = performance.now() - t0;
    assert.ok(took < 10_000, `four calls took ${Math.round(took)} ms: the bucket refilled meanwhile (one call every 10 s)`);
    assert.deepEqual(shots.map((r) => r.status), [200, 200, 200, 429], shots.at(-1).body);
    const e = assertError(shots[3], 429, "rate_limited");
    assert.match(e.message, /6 calls a minute per client, bursts of 3/);
    const wait = Number(shots[3].headers.get("retry-after"));
    assert.ok(wait >= 1 && wait <= 10, `Retry-After ${wait}`);
    await new Promise((r) => setTimeout(r, wait * 1000 + 500)); // what the worker told the client to do
    const again = await call(`${rl.url}/u/echo/v1/models`);
    assert.equal(again.status, 200, again.body);
  } finally {
    await rl.stop();
  }
}, { timeout: 360_000 });

test("no secret in any response, websocket message or log line", async () => {
  // Every earlier request has been answered; a last one to each process, by a
  // request id of its own, says when their log lines are all in.
  const mark = "last-" + Date.now();
  await (await fetch(`${w.url}/healthz`, { headers: { "X-Request-Id": mark } })).text();
  await (await fetch(`${serve.url}/healthz`, { headers: { "X-Request-Id": mark } })).text();
  await waitFor(w.proc, new RegExp(`"request_id":"${mark}"`), 60_000, "the worker's last log line");
  await waitFor(serve.proc, new RegExp(`"request_id":"${mark}"`), 60_000, "twig serve's last log line");
  for (const [what, text] of [["responses", seen.join("\n")], ["wrangler/workerd output", w.proc.output], ["twig serve logs", serve.proc.output]]) {
    for (const [name, s] of Object.entries(secrets)) assert.ok(!text.includes(s), `the ${name} key is in the ${what}`);
  }
  assert.match(w.proc.output, /"msg":"http"/, "the worker's request log lines are missing");
});
