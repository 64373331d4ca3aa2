// The edge worker's end-to-end harness: a real `twig serve` (the tiny
// model, behind a token), small Node upstreams (an echo that tries to leak
// its key, a dead port, a silent one), and the worker itself in workerd via
// `wrangler dev` (the committed wrangler.toml, with test vars and secrets).
import { spawn, execFile } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

export const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
export const bin = path.resolve(repo, process.env.TWIG_BIN ?? "bin/twig");
const wrangler = path.join(repo, "e2e/edge/node_modules/.bin/wrangler");
const weights = path.join(repo, "core/model/testdata/tiny.safetensors");

// Secrets: each must never appear in a response, a websocket message or a log line.
export const secrets = {
  twig: "twig-key-" + randomBytes(8).toString("hex"),
  echo: "sk-echo-" + randomBytes(8).toString("hex"),
};

export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, "127.0.0.1", r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

// Spawns a process, keeping its output (for the secrets check).
function start(cmd, args, env = {}) {
  const p = spawn(cmd, args, { cwd: repo, env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  p.output = "";
  const keep = (b) => {
    p.output += b;
    if (process.env.TWIG_E2E_LOGS) process.stderr.write(b);
  };
  p.stdout.on("data", keep);
  p.stderr.on("data", keep);
  return p;
}

// waitFor resolves with the first match of re in p's output so far or to
// come; it fails after ms (a bound for a failing test, not a pace).
export function waitFor(p, re, ms, what) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${what}: not ready in ${ms / 1000} s:\n${p.output.slice(-3000)}`)), ms);
    const check = () => {
      const m = p.output.match(re);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    };
    p.stdout.on("data", check);
    p.stderr.on("data", check);
    p.on("exit", (code) => { clearTimeout(timer); reject(new Error(`${what} exited (${code}):\n${p.output.slice(-3000)}`)); });
    check();
  });
}

// twigServe starts `twig serve` (the tiny model, behind secrets.twig); args
// add flags (e.g. --backend openai --base-url …), env its environment.
export async function twigServe({ args = [], env = {} } = {}) {
  // It also serves the page (build/web, from make web) for the browser check.
  const web = fs.existsSync(path.join(repo, "build/web/twig.js")) ? path.join(repo, "build/web") : path.join(repo, "web");
  const p = start(bin, ["serve", "--addr", "127.0.0.1:0", "--weights", weights, "--token", secrets.twig, "--web", web, ...args], env);
  const [, url] = await waitFor(p, /listening on (http:\/\/[\d.:]+)/, 60_000, "twig serve");
  return { url, proc: p, stop: () => p.kill("SIGTERM") };
}

// echo is an OpenAI-shaped upstream that echoes the key it got (the worker
// must scrub it) and streams chat completions one event at a time: after
// each event it waits for the test's ack() (the client has that event)
// before it sends the next, so pass-through shows without timing anything.
export async function echoUpstream() {
  let acks = 0; // the client's acks not yet spent
  let wake = null;
  const acked = async () => {
    while (acks === 0) await new Promise((r) => (wake = r));
    acks--;
  };
  const srv = http.createServer(async (req, res) => {
    let body = "";
    for await (const c of req) body += c;
    const auth = req.headers.authorization ?? "";
    if (req.url === "/v1/chat/completions" && body.includes('"stream":true')) {
      acks = 0;
      res.writeHead(200, { "Content-Type": "text/event-stream" });
      for (const word of ["first", auth, "last"]) {
        res.write(`data: ${JSON.stringify({ choices: [{ delta: { content: word } }] })}\n\n`);
        await acked();
      }
      res.end("data: [DONE]\n\n");
      return;
    }
    if (body.includes("fail")) {
      res.writeHead(401, { "Content-Type": "application/json", "X-Echo": auth });
      res.end(JSON.stringify({ error: { message: `Incorrect API key provided: ${auth}`, code: "invalid_api_key" } }));
      return;
    }
    res.writeHead(200, { "Content-Type": "application/json", "X-Echo": auth });
    res.end(JSON.stringify({ object: "list", data: [], auth, path: req.url }));
  });
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${srv.address().port}`,
    close: () => srv.close(),
    ack: () => {
      acks++;
      wake?.();
    },
  };
}

// silent accepts connections and never answers.
export async function silentUpstream() {
  const socks = [];
  const srv = net.createServer((s) => socks.push(s));
  await new Promise((r) => srv.listen(0, "127.0.0.1", r));
  return { url: `http://127.0.0.1:${srv.address().port}`, close: () => { socks.forEach((s) => s.destroy()); srv.close(); } };
}

// worker runs `wrangler dev` on loopback with the given upstreams and vars.
export async function worker({ upstreams, vars = {} }) {
  const port = await freePort();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "twig-edge-"));
  const envFile = path.join(dir, "secrets.env");
  fs.writeFileSync(envFile, `TWIG_KEY=${secrets.twig}\nECHO_KEY=${secrets.echo}\n`);
  const args = ["dev", "--local", "--ip", "127.0.0.1", "--port", String(port), "--inspector-port", String(await freePort()),
    "--env-file", envFile, "--persist-to", path.join(dir, "state"), "--show-interactive-dev-session=false",
    "--var", `UPSTREAMS:${JSON.stringify(upstreams)}`];
  for (const [k, v] of Object.entries(vars)) args.push("--var", `${k}:${v}`);
  const t0 = performance.now();
  const p = start(wrangler, args, { WRANGLER_SEND_METRICS: "false", CLOUDFLARE_CF_FETCH_ENABLED: "false", CI: "true", NO_COLOR: "1", FORCE_COLOR: "0" });
  await waitFor(p, /Ready on http/, 300_000, "wrangler dev");
  const readyMs = performance.now() - t0;
  const url = `http://127.0.0.1:${port}`;
  return {
    url, proc: p, readyMs,
    stop: () => new Promise((r) => { p.on("exit", r); p.kill("SIGTERM"); setTimeout(() => { p.kill("SIGKILL"); r(); }, 5000).unref(); fs.rmSync(dir, { recursive: true, force: true }); }),
  };
}

// twig runs the twig CLI and resolves with its stdout (rejects on failure).
export function twig(args, env = {}) {
  return new Promise((resolve, reject) => {
    execFile(bin, args, { cwd: repo, env: { ...process.env, OPENAI_API_KEY: "", TWIG_API_KEY: "", ...env }, maxBuffer: 64 << 20 },
      (err, stdout, stderr) => (err ? reject(new Error(`twig ${args.join(" ")}: ${err.message}\n${stderr}`)) : resolve({ stdout, stderr })));
  });
}

// connect opens a websocket (Node's own WebSocket) and waits for hello.
export function connect(url) {
  const ws = new WebSocket(url);
  const queue = [];
  let wake = null;
  const all = [];
  ws.onmessage = (e) => {
    all.push(e.data);
    queue.push(JSON.parse(e.data));
    wake?.();
  };
  const next = async (ms = 60_000) => {
    const until = Date.now() + ms;
    while (queue.length === 0) {
      if (Date.now() > until) throw new Error("no message in time");
      await new Promise((r) => { wake = r; setTimeout(r, 100); });
    }
    return queue.shift();
  };
  // until reads the events of one request to its end.
  const until = async (id) => {
    const evs = [];
    for (;;) {
      const ev = await next();
      if (ev.run_id !== id) continue;
      evs.push(ev);
      if (["run_done", "call_done", "error"].includes(ev.type)) return evs;
    }
  };
  return new Promise((resolve, reject) => {
    ws.onerror = () => reject(new Error(`cannot open ${url}`));
    ws.onopen = async () => resolve({ ws, next, until, all, hello: await next() });
  });
}

export const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
