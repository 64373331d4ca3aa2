// The Worker's entry (wrangler.toml: main). Hand-written glue around the Go
// program (app.wasm, built by `make edge` with wasm_exec.js from
// workers-assets-gen -mode=go), following syumai/workers' own worker.mjs:
// each request runs in a fresh Go instance that gets the request's env, ctx
// and a binding object through globalThis.context (wasm_exec.js's proxy).
// Two additions: a websocket upgrade returns the WebSocketPair's client end
// that the Go side left in binding.webSocket, and the RateLimiter Durable
// Object class is exported for wrangler.toml's binding.
import "./wasm_exec.js";
import mod from "./app.wasm";

export { RateLimiter } from "./rate_limiter.mjs";

async function run(context) {
  const go = new Go();
  let ready;
  const readyPromise = new Promise((resolve) => { ready = resolve; });
  const instance = new WebAssembly.Instance(mod, {
    ...go.importObject,
    workers: { ready: () => ready() },
  });
  go.run(instance, context);
  await readyPromise;
}

export default {
  async fetch(req, env, ctx) {
    const binding = {};
    await run({ env, ctx, binding });
    const res = await binding.handleRequest(req);
    if (binding.webSocket) {
      const headers = new Headers(res.headers);
      headers.delete("X-Twig-Websocket");
      headers.delete("Content-Type");
      return new Response(null, { status: 101, webSocket: binding.webSocket, headers });
    }
    return res;
  },
};
