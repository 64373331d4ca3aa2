/*
 * twig.js — twig in the browser, with one script tag.
 *
 *   <script src="twig.js"></script>            (twig-worker.js, twig.wasm, wasm_exec.js and the
 *                                               weights sit next to it; every URL is relative to it)
 *
 *   const run = twig.draw("a red circle above a blue square", {settings: {seed: 1, threshold: 90}});
 *   for await (const ev of run) console.log(ev.type, ev);   // twig/1 protocol events (docs/PROTOCOL.md)
 *   run.cancel();                                          // ends the stream with an error event, code "canceled"
 *   const done = await run.result;                         // the run_done event, or throws a twig.TwigError
 *
 * draw options: settings (protocol settings: bands, threshold, max_revisions, seed, think, reflect, …),
 * backend ("auto" | "cpu" | "webgpu" | "remote"), gateway (ws:// URL of a twig gateway's /v1/ws for remote;
 * default: the page's own server), token (the gateway's bearer token), signal (AbortSignal).
 * Also: twig.parse(prompt), twig.vocabulary(), twig.ready(), twig.png(tokens), twig.gif(events),
 * twig.trace(events), twig.compare(steps), twig.Client, twig.RunState, twig.CanvasView,
 * and the <twig-canvas prompt="…"> element (attributes and DOM events below).
 */
(function (global) {
  "use strict";

  const script = document.currentScript;
  const BASE = new URL(".", (script && script.src) || location.href).href;
  const GRID = 16;
  const VERSION = "twig/1";

  /** TwigError is a failed run or request: a protocol error code and a message. */
  class TwigError extends Error {
    constructor(code, message, extra) {
      super(message);
      this.name = "TwigError";
      this.code = code;
      Object.assign(this, extra || {});
    }
  }

  const newID = () => "r" + Date.now().toString(36) + Math.random().toString(36).slice(2, 8);

  // ------------------------------------------------------------------ runs

  /**
   * Run is one drawing: an async iterable of protocol events. Several loops
   * may iterate it; each sees every event from the first.
   */
  class Run {
    constructor(id, prompt, cancel) {
      this.id = id;
      this.prompt = prompt;
      this.events = []; // parsed events, in order
      this.raw = []; // the events' JSON text, as received (for the trace)
      this.ended = false;
      this._cancel = cancel;
      this._wakers = [];
      this.result = new Promise((resolve, reject) => {
        this._resolve = resolve;
        this._reject = reject;
      });
      this.result.catch(() => {}); // a caller that only iterates must not see an unhandled rejection
    }
    _push(json, parsed) {
      if (this.ended) return;
      const ev = parsed || JSON.parse(json);
      if (ev.v !== VERSION) {
        return this._push(null, { v: VERSION, type: "error", run_id: this.id, seq: ev.seq || 0, t_ms: 0,
          code: "internal", message: `twig: event speaks ${JSON.stringify(ev.v)}, this page speaks ${VERSION}` });
      }
      this.raw.push(json || JSON.stringify(ev));
      this.events.push(ev);
      if (ev.type === "run_done") {
        this.ended = true;
        this._resolve(ev);
      } else if (ev.type === "error") {
        this.ended = true;
        const { v, type, run_id, seq, t_ms, code, message, ...extra } = ev;
        this._reject(new TwigError(code, message, extra));
      }
      this._wakers.splice(0).forEach((w) => w());
    }
    async *[Symbol.asyncIterator]() {
      for (let i = 0; ; ) {
        if (i < this.events.length) yield this.events[i++];
        else if (this.ended) return;
        else await new Promise((r) => this._wakers.push(r));
      }
    }
    /** cancel stops the run; its stream ends with an error event (code "canceled"). */
    cancel() {
      if (!this.ended) this._cancel();
    }
    /** trace returns the run's events as JSONL, like `twig draw`'s trace.jsonl. */
    trace() {
      return this.raw.join("\n") + (this.raw.length ? "\n" : "");
    }
  }

  // ------------------------------------------------------------------ client

  /**
   * Client owns one Web Worker running twig.wasm. Options: base (folder of the
   * twig files, default: this script's), weights (manifest or .safetensors URL,
   * relative to base; default twig-weights.json), webgpu (false: never try it).
   */
  class Client {
    constructor(opts) {
      opts = opts || {};
      this.base = new URL(opts.base || BASE, location.href).href;
      this.weights = new URL(opts.weights || "twig-weights.json", this.base).href;
      this.webgpu = opts.webgpu !== false;
      this.status = { phase: "idle", message: "" };
      this.info = null;
      this._worker = null;
      this._replies = new Map();
      this._runs = new Map();
      this._statusFns = new Set();
      this._memo = {};
      this._callID = 0;
    }
    _start() {
      if (this._worker) return;
      this._worker = new Worker(new URL("twig-worker.js", this.base));
      this._ready = new Promise((resolve, reject) => {
        this._readyResolve = resolve;
        this._readyReject = reject;
      });
      this._ready.catch(() => {});
      this._gpu = new Promise((resolve) => (this._gpuResolve = resolve));
      this._worker.onmessage = (e) => this._onMessage(e.data);
      this._worker.onerror = (e) => this._setStatus({ phase: "failed", message: `the twig worker failed: ${e.message || "cannot load twig-worker.js"}` });
      this._worker.postMessage({ op: "init", weights: this.weights, webgpu: this.webgpu });
    }
    _setStatus(s) {
      this.status = s;
      if (s.phase === "failed" && this._readyReject) this._readyReject(new TwigError("backend_failed", s.message));
      this._statusFns.forEach((f) => f(s));
    }
    _onMessage(m) {
      switch (m.op) {
        case "status":
          this._setStatus({ phase: m.phase, message: m.message, loaded: m.loaded, total: m.total });
          break;
        case "ready":
          this.info = m.info;
          this._readyResolve(m.info);
          this._setStatus({ phase: "ready", message: "ready", info: m.info });
          break;
        case "gpu":
          this.info = { ...this.info, gpu: m.gpu };
          this._gpuResolve(m.gpu);
          this._setStatus({ phase: "gpu", message: m.gpu.available ? `WebGPU ready: ${m.gpu.name}` : `no WebGPU: ${m.gpu.reason}`, info: this.info });
          break;
        case "failed":
          this._setStatus({ phase: "failed", message: m.message });
          break;
        case "event": {
          const run = this._runs.get(m.run_id);
          if (!run) break;
          run._push(m.json);
          if (run.ended) this._runs.delete(m.run_id);
          break;
        }
        case "reply": {
          const r = this._replies.get(m.id);
          this._replies.delete(m.id);
          if (r) m.error !== undefined ? r.reject(new TwigError("internal", m.error)) : r.resolve(m.value);
          break;
        }
      }
    }
    _call(fn, ...args) {
      this._start();
      const id = ++this._callID;
      return new Promise((resolve, reject) => {
        this._replies.set(id, { resolve, reject });
        this._worker.postMessage({ op: "call", id, fn, args });
      });
    }
    /** ready resolves with {weights, gpu} once the model is loaded; gpu() tells about WebGPU later. */
    ready() {
      this._start();
      return this._ready;
    }
    /** gpu resolves, after ready, with what WebGPU is here: {available, name, check, auto, why} or {available: false, reason}. */
    gpu() {
      this._start();
      return this._gpu;
    }
    /** onStatus calls fn with {phase, message, loaded?, total?} on every loading step; returns an unsubscribe. */
    onStatus(fn) {
      this._statusFns.add(fn);
      return () => this._statusFns.delete(fn);
    }
    /** parse checks a prompt: {ok, canonical} or {ok: false, error: {message, reason, word, pos, suggestions}}. */
    parse(prompt) {
      return this._call("parse", prompt);
    }
    /** vocabulary lists the words prompts may use: [{word, kind, meaning}]. */
    vocabulary() {
      return (this._memo.vocab ||= this._call("vocabulary"));
    }
    /** humanize turns a thought into plain English (world.Humanize). */
    humanize(thought) {
      const m = (this._memo.human ||= new Map());
      if (!m.has(thought)) m.set(thought, this._call("humanize", thought));
      return m.get(thought);
    }
    /** atlas is the picture of every token tile ({rgba, side, cell_px, undrawn}). */
    atlas() {
      return (this._memo.atlas ||= this._call("atlas"));
    }
    /** png encodes a canvas (256 tokens) as a PNG Blob. */
    async png(tokens) {
      return new Blob([await this._call("png", tokens)], { type: "image/png" });
    }
    /** gif makes the run's animated GIF from its events (a Run, or an array of events). */
    async gif(events) {
      return new Blob([await this._call("gif", traceOf(events))], { type: "image/gif" });
    }
    /** compare checks the WebGPU path against the CPU on the same inputs (see wasm/js/compare.go). */
    async compare(steps) {
      const g = await this.gpu();
      if (!g.available) throw new TwigError("backend_failed", `no WebGPU to compare: ${g.reason}`);
      return this._call("compare", steps || 16);
    }
    /** draw starts a run; see the top of this file. */
    draw(prompt, options) {
      options = options || {};
      const backend = options.backend || "auto";
      const settings = options.settings || {};
      let started = null;
      const run = new Run(options.runId || newID(), prompt, () => started && started.cancel());
      if (options.signal) {
        if (options.signal.aborted) setTimeout(() => run.cancel());
        options.signal.addEventListener("abort", () => run.cancel(), { once: true });
      }
      const fail = (code, message, extra) =>
        run._push(null, { v: VERSION, type: "error", run_id: run.id, seq: 0, t_ms: 0, code, message, ...extra });
      let canceledEarly = false;
      started = { cancel: () => (canceledEarly = true) };
      const checked = this.parse(prompt).catch((e) => {
        if (backend === "remote") return { ok: true }; // the gateway checks it too
        throw e;
      });
      checked.then(
        (p) => {
          if (!p.ok) return fail("invalid_request", p.error.message, { parse_error: p.error });
          if (canceledEarly) return fail("canceled", "twig: run cancelled before it started");
          if (backend === "remote") {
            started = remoteRun(run, options.gateway, prompt, settings, options.token);
            return;
          }
          this._runs.set(run.id, run);
          this._worker.postMessage({ op: "draw", run_id: run.id, prompt, settings, backend });
          started = { cancel: () => this._worker.postMessage({ op: "cancel", run_id: run.id }) };
        },
        (e) => fail("internal", e.message)
      );
      return run;
    }
  }

  function traceOf(events) {
    if (events instanceof Run) return events.trace();
    return events.map((e) => (typeof e === "string" ? e : JSON.stringify(e))).join("\n") + "\n";
  }

  // ------------------------------------------------------------------ remote

  /**
   * defaultGateway is the websocket of the server that served the page
   * (`twig serve` serves web/ and its websocket on one address).
   */
  function defaultGateway() {
    const u = new URL("/v1/ws", location.href);
    u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
    return u.href;
  }

  const gateways = new Map(); // url → {ws, ready, runs}

  // gateway opens (once) a websocket to a twig gateway and routes its events by run_id.
  function gateway(url, token) {
    const key = url + "#" + (token || "");
    let g = gateways.get(key);
    if (g && g.ws.readyState <= 1) return g;
    const u = new URL(url, location.href);
    if (token) u.searchParams.set("access_token", token); // browsers' websockets cannot send Authorization
    const ws = new WebSocket(u.href);
    g = { ws, runs: new Map(), hello: null };
    g.ready = new Promise((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new TwigError("backend_failed", `cannot reach the twig gateway at ${url}`));
    });
    ws.onmessage = (e) => {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (ev.type === "hello") return void (g.hello = ev);
      const run = g.runs.get(ev.run_id);
      if (!run && ev.type === "error" && !ev.run_id) {
        g.runs.forEach((r) => r._push(null, { ...ev, run_id: r.id })); // about the connection: every run fails
        return;
      }
      if (!run) return;
      run._push(e.data, ev);
      if (run.ended) g.runs.delete(ev.run_id);
    };
    ws.onclose = (e) => {
      gateways.delete(key);
      const why = e.reason || `closed with code ${e.code}`;
      g.runs.forEach((r) => r._push(null, { v: VERSION, type: "error", run_id: r.id, seq: r.events.length, t_ms: 0,
        code: "backend_failed", message: `the twig gateway closed the connection: ${why}` }));
      g.runs.clear();
    };
    gateways.set(key, g);
    return g;
  }

  // remoteRun sends a whole run to a gateway (docs/PROTOCOL.md, "Client → server messages").
  function remoteRun(run, url, prompt, settings, token) {
    const g = gateway(url || defaultGateway(), token);
    g.runs.set(run.id, run);
    g.ready.then(
      () => g.ws.send(JSON.stringify({ v: VERSION, type: "start", id: run.id, prompt, settings })),
      (e) => {
        g.runs.delete(run.id);
        run._push(null, { v: VERSION, type: "error", run_id: run.id, seq: 0, t_ms: 0, code: "backend_failed", message: e.message });
      }
    );
    return {
      cancel: () => g.ready.then(() => g.ws.readyState === 1 && g.ws.send(JSON.stringify({ v: VERSION, type: "cancel", id: run.id }))),
    };
  }

  // ------------------------------------------------------------------ state

  /**
   * RunState rebuilds what a run shows from its events, one at a time: the
   * canvas, and per band its rows, thought, critiques and redraws (with the
   * tokens each redraw replaced). The page, the element and the replay use it.
   */
  class RunState {
    constructor() {
      this.tokens = new Array(GRID * GRID).fill(-1);
      this.bands = [];
      this.plan = [];
      this.started = null;
      this.done = null;
      this.error = null;
      this.current = -1; // the band being worked on
    }
    band(i) {
      return (this.bands[i] ||= { index: i, rows: null, thought: "", thoughtDone: false, round: 0, status: "waiting",
        rowsDrawn: 0, critiques: [], redraws: [] });
    }
    static from(events, n) {
      const s = new RunState();
      for (let i = 0; i < (n === undefined ? events.length : n); i++) s.apply(events[i]);
      return s;
    }
    rowsOf(rows) {
      return this.tokens.slice(rows.start * GRID, rows.end * GRID);
    }
    apply(ev) {
      switch (ev.type) {
        case "run_started":
          this.started = ev;
          this.plan = ev.plan || [];
          break;
        case "band_started": {
          const b = this.band(ev.band);
          b.rows = ev.rows;
          b.status = "thinking";
          this.current = ev.band;
          break;
        }
        case "thought_delta":
          this.band(ev.band).thought += ev.text;
          break;
        case "thought_done": {
          const b = this.band(ev.band);
          b.thought = ev.text;
          b.thoughtDone = true;
          if (ev.end_row) b.rows = { start: b.rows ? b.rows.start : 0, end: ev.end_row };
          break;
        }
        case "band_progress": {
          const b = this.band(ev.band);
          b.status = "drawing";
          b.round = ev.round;
          b.rowsDrawn++;
          for (let c = 0; c < GRID; c++) this.tokens[ev.row * GRID + c] = ev.tokens[c];
          break;
        }
        case "band_done": {
          const b = this.band(ev.band);
          b.rows = ev.rows;
          b.status = "drawn";
          const r = b.redraws.find((x) => x.round === ev.round);
          if (r) r.after = this.rowsOf(ev.rows);
          break;
        }
        case "critique":
          this.band(ev.band).critiques.push(ev);
          this.band(ev.band).status = ev.verdict === "redraw" ? "redrawing" : "done";
          break;
        case "band_redrawn": {
          const b = this.band(ev.band);
          b.redraws.push({ round: ev.round, rows: ev.rows, before: this.rowsOf(ev.rows), after: null,
            oldThought: b.thought, thought: ev.thought });
          b.thought = ev.thought;
          b.round = ev.round;
          b.rowsDrawn = 0;
          b.status = "redrawing";
          this.tokens.fill(-1, ev.rows.start * GRID, ev.rows.end * GRID);
          break;
        }
        case "run_done":
          this.done = ev;
          this.tokens = ev.tokens.slice();
          this.current = -1;
          break;
        case "error":
          this.error = ev;
          this.current = -1;
          break;
      }
      return this;
    }
  }

  // ------------------------------------------------------------------ canvas

  /** CanvasView paints a token canvas onto a <canvas> from the token atlas. */
  class CanvasView {
    constructor(canvas, client) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.tokens = new Array(GRID * GRID).fill(-1);
      this.atlas = null;
      this.ready = client.atlas().then(async (a) => {
        this.cell = a.cell_px;
        this.undrawn = a.undrawn;
        this.perRow = a.side / a.cell_px;
        canvas.width = canvas.height = GRID * a.cell_px;
        this.atlas = await createImageBitmap(new ImageData(new Uint8ClampedArray(a.rgba), a.side, a.side));
        this.draw();
      });
    }
    setTokens(tokens) {
      this.tokens = tokens.slice();
      this.draw();
    }
    draw() {
      for (let r = 0; r < GRID; r++) this._row(this.ctx, this.tokens, r, r);
    }
    // _row paints canvas row r of tokens at tile row y of ctx.
    _row(ctx, tokens, r, y) {
      if (!this.atlas) return;
      const px = this.cell;
      for (let c = 0; c < GRID; c++) {
        const t = tokens[r * GRID + c];
        const i = t < 0 || t >= this.undrawn ? this.undrawn + ((r + c) % 2) : t;
        ctx.drawImage(this.atlas, (i % this.perRow) * px, Math.floor(i / this.perRow) * px, px, px, c * px, y * px, px, px);
      }
    }
    /** update paints only the rows that differ from what is shown. */
    update(tokens) {
      for (let r = 0; r < GRID; r++) {
        const a = r * GRID;
        let same = true;
        for (let c = 0; c < GRID && same; c++) same = this.tokens[a + c] === tokens[a + c];
        if (same) continue;
        for (let c = 0; c < GRID; c++) this.tokens[a + c] = tokens[a + c];
        this._row(this.ctx, this.tokens, r, r);
      }
    }
    /**
     * bandImage returns a new <canvas> showing one band: bandTokens holds its
     * rows (rows.start..rows.end) as a flat array, as RunState keeps them.
     */
    bandImage(bandTokens, rows) {
      const c = document.createElement("canvas");
      const h = rows.end - rows.start;
      c.width = GRID * (this.cell || 16);
      c.height = h * (this.cell || 16);
      const full = new Array(GRID * GRID).fill(-1);
      for (let i = 0; i < bandTokens.length; i++) full[rows.start * GRID + i] = bandTokens[i];
      const ctx = c.getContext("2d");
      for (let r = 0; r < h; r++) this._row(ctx, full, rows.start + r, r);
      return c;
    }
  }

  // ------------------------------------------------------------------ shared client

  let shared = null;
  const defaultClient = () => (shared ||= new Client());
  const clients = new Map();
  function clientFor(weights) {
    if (!weights) return defaultClient();
    const key = new URL(weights, BASE).href;
    if (!clients.has(key)) clients.set(key, new Client({ weights: key }));
    return clients.get(key);
  }

  // ------------------------------------------------------------------ <twig-canvas>

  const onOff = (v, dflt) => (v === null ? dflt : !/^(false|off|no|0)$/i.test(v.trim()));
  const intAttr = (el, name) => {
    const v = el.getAttribute(name);
    return v === null || v.trim() === "" || isNaN(+v) ? undefined : Math.trunc(+v);
  };

  const elementCSS = `
    :host { display: inline-block; max-width: 100%; font: 14px/1.4 system-ui, sans-serif; color: #222; }
    figure { margin: 0; display: flex; flex-direction: column; gap: .4em; width: var(--twig-size, 256px); max-width: 100%; }
    .stage { position: relative; aspect-ratio: 1; }
    canvas { width: 100%; height: 100%; image-rendering: pixelated; border: 1px solid #bbb; border-radius: 4px; background: #ddd; display: block; }
    .band { position: absolute; left: 0; right: 0; border: 2px solid #0a66c2; border-radius: 3px; pointer-events: none; display: none; }
    .band.redraw { border-color: #c2410c; border-style: dashed; }
    .status { margin: 0; font-weight: 600; }
    .status.error { color: #b00020; }
    ol { margin: 0; padding-left: 1.4em; max-height: 10em; overflow: auto; }
    li { margin: .1em 0; }
    li .score { font-size: .85em; color: #555; }
    li .score.redraw { color: #c2410c; }
    :host([thoughts="hidden"]) ol { display: none; }`;

  /**
   * <twig-canvas prompt="a red circle above a blue square"> draws its prompt
   * when it is connected (unless autostart="false") and again when the prompt
   * or a setting changes.
   *
   * Attributes: prompt, bands, threshold, revisions (max_revisions), seed,
   * think, reflect ("false"/"off" to turn off), backend (auto|cpu|webgpu|remote),
   * gateway (ws:// URL for remote), weights (manifest URL), autostart, thoughts="hidden".
   * Methods: draw(), cancel(). Properties: run, state, events.
   * DOM events (bubbling, composed; details in .detail): twig-status {phase, message},
   * twig-start {run_id, prompt}, twig-thought {band, text, done}, twig-row {band, round, row},
   * twig-critique {band, round, score, verdict, reason}, twig-redraw {band, round, thought},
   * twig-done {run_id, tokens, thoughts, stats}, twig-error {code, message, parse_error?},
   * and twig-event {event} for every protocol event.
   */
  class TwigCanvas extends HTMLElement {
    static get observedAttributes() {
      return ["prompt", "bands", "threshold", "revisions", "seed", "think", "reflect", "backend", "gateway"];
    }
    constructor() {
      super();
      const root = this.attachShadow({ mode: "open" });
      root.innerHTML = `<style>${elementCSS}</style>
        <figure part="figure">
          <div class="stage"><canvas part="canvas" role="img" aria-label="twig canvas"></canvas><div class="band" aria-hidden="true"></div></div>
          <figcaption part="caption">
            <p class="status" role="status" aria-live="polite">waiting</p>
            <ol part="thoughts" aria-label="thoughts, one per band"></ol>
          </figcaption>
        </figure>`;
      this._canvas = root.querySelector("canvas");
      this._band = root.querySelector(".band");
      this._status = root.querySelector(".status");
      this._list = root.querySelector("ol");
      this.run = null;
      this.state = new RunState();
      this._timer = 0;
    }
    get events() {
      return this.run ? this.run.events : [];
    }
    connectedCallback() {
      this._client = clientFor(this.getAttribute("weights"));
      this._view ||= new CanvasView(this._canvas, this._client);
      this._unsub = this._client.onStatus((s) => {
        if (!this.run || this.run.ended) return;
        this._say(s.phase === "ready" ? "drawing…" : s.message, s.phase === "failed");
        this._emit("twig-status", s);
      });
      if (onOff(this.getAttribute("autostart"), true) && !this.run) this._schedule();
    }
    disconnectedCallback() {
      if (this._unsub) this._unsub();
      this.cancel();
    }
    attributeChangedCallback(name, oldV, newV) {
      if (oldV !== newV && this.isConnected && this.run && onOff(this.getAttribute("autostart"), true)) this._schedule();
    }
    _schedule() {
      clearTimeout(this._timer);
      this._timer = setTimeout(() => this.draw(), 0);
    }
    settings() {
      const s = {};
      const set = (k, v) => v !== undefined && (s[k] = v);
      set("bands", intAttr(this, "bands"));
      set("threshold", intAttr(this, "threshold"));
      set("max_revisions", intAttr(this, "revisions"));
      set("seed", intAttr(this, "seed"));
      s.think = onOff(this.getAttribute("think"), true);
      s.reflect = onOff(this.getAttribute("reflect"), true);
      return s;
    }
    _emit(type, detail) {
      this.dispatchEvent(new CustomEvent(type, { detail, bubbles: true, composed: true }));
    }
    _say(text, error) {
      this._status.textContent = text;
      this._status.classList.toggle("error", !!error);
    }
    cancel() {
      if (this.run) this.run.cancel();
    }
    /** draw (re)starts the drawing of the prompt; it resolves when the run ends. */
    async draw() {
      this.cancel();
      const prompt = (this.getAttribute("prompt") || "").trim();
      this._client ||= clientFor(this.getAttribute("weights"));
      this._view ||= new CanvasView(this._canvas, this._client);
      this.state = new RunState();
      this._list.textContent = "";
      this._view.setTokens(this.state.tokens);
      this._canvas.setAttribute("aria-label", `twig drawing: ${prompt}`);
      if (!prompt) return this._say("no prompt: set the prompt attribute", true);
      const run = (this.run = this._client.draw(prompt, {
        settings: this.settings(), backend: this.getAttribute("backend") || "auto", gateway: this.getAttribute("gateway") || undefined,
      }));
      this._say(this._client.status.phase === "ready" ? "drawing…" : "loading twig…");
      this._emit("twig-start", { run_id: run.id, prompt });
      for await (const ev of run) {
        if (this.run !== run) return;
        this._onEvent(ev);
      }
    }
    _item(i) {
      let li = this._list.children[i];
      while (!li) {
        li = document.createElement("li");
        li.innerHTML = `<span class="thought"></span> <span class="score"></span>`;
        this._list.append(li);
        li = this._list.children[i];
      }
      return li;
    }
    _showBand(rows, redraw) {
      if (!rows || rows.end < 0) return void (this._band.style.display = "none");
      this._band.style.display = "block";
      this._band.style.top = (rows.start / GRID) * 100 + "%";
      this._band.style.height = ((rows.end - rows.start) / GRID) * 100 + "%";
      this._band.classList.toggle("redraw", !!redraw);
    }
    _onEvent(ev) {
      const st = this.state.apply(ev);
      this._emit("twig-event", { event: ev });
      const b = ev.band !== undefined ? st.band(ev.band) : null;
      switch (ev.type) {
        case "band_started":
          this._showBand(ev.rows);
          this._say(`band ${ev.band + 1}: thinking…`);
          break;
        case "thought_delta":
        case "thought_done":
          this._item(ev.band).querySelector(".thought").textContent = b.thought;
          this._emit("twig-thought", { band: ev.band, text: b.thought, done: ev.type === "thought_done" });
          break;
        case "band_progress":
          this._view.update(st.tokens);
          this._say(`band ${ev.band + 1}: drawing row ${ev.row + 1}${ev.round ? " (redraw)" : ""}`);
          this._emit("twig-row", { band: ev.band, round: ev.round, row: ev.row });
          break;
        case "critique": {
          const sc = this._item(ev.band).querySelector(".score");
          sc.textContent = `score ${ev.score}${ev.verdict === "redraw" ? " → redraw" : ""}`;
          sc.classList.toggle("redraw", ev.verdict === "redraw");
          this._emit("twig-critique", { band: ev.band, round: ev.round, score: ev.score, verdict: ev.verdict, reason: ev.reason });
          break;
        }
        case "band_redrawn":
          this._view.update(st.tokens);
          this._showBand(ev.rows, true);
          this._item(ev.band).querySelector(".thought").textContent = ev.thought + " (redrawn)";
          this._say(`band ${ev.band + 1}: redrawing`);
          this._emit("twig-redraw", { band: ev.band, round: ev.round, thought: ev.thought });
          break;
        case "run_done":
          this._view.setTokens(st.tokens);
          this._showBand(null);
          this._say(`done in ${(ev.t_ms / 1000).toFixed(1)} s · ${ev.stats.revisions} redraw${ev.stats.revisions === 1 ? "" : "s"}`);
          this._canvas.setAttribute("aria-label", `twig drawing of ${this.run.prompt}: ${ev.thoughts.filter(Boolean).join("; ")}`);
          this._emit("twig-done", { run_id: ev.run_id, tokens: ev.tokens, thoughts: ev.thoughts, stats: ev.stats });
          break;
        case "error":
          this._showBand(null);
          this._say(ev.code === "canceled" ? "cancelled" : ev.message, ev.code !== "canceled");
          this._emit("twig-error", { code: ev.code, message: ev.message, parse_error: ev.parse_error });
          break;
      }
    }
  }

  if (global.customElements && !customElements.get("twig-canvas")) customElements.define("twig-canvas", TwigCanvas);

  global.twig = {
    version: VERSION,
    base: BASE,
    Client,
    Run,
    RunState,
    CanvasView,
    TwigCanvas,
    TwigError,
    defaultGateway,
    client: defaultClient,
    ready: () => defaultClient().ready(),
    draw: (prompt, options) => defaultClient().draw(prompt, options),
    parse: (prompt) => defaultClient().parse(prompt),
    vocabulary: () => defaultClient().vocabulary(),
    png: (tokens) => defaultClient().png(tokens),
    gif: (events) => defaultClient().gif(events),
    trace: (events) => new Blob([traceOf(events)], { type: "application/x-ndjson" }),
    compare: (steps) => defaultClient().compare(steps),
  };
})(window);
