/*
 * twig.js — twig in the browser, with one script tag.
 *
 *   <script src="twig.js"></script>            (twig-worker.js, twig.wasm, wasm_exec.js and the
 *                                               weights sit next to it; every URL is relative to it)
 *
 *   const run = twig.draw("a red circle above a blue square", {settings: {seed: 1, threshold: 90}});
 *   for await (const ev of run) console.log(ev.type, ev);   // twig/2 (or an older server's twig/1) protocol events (docs/PROTOCOL.md)
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
  // The protocol versions the page reads (docs/PROTOCOL.md): twig/2 carries
  // the canvas as pixel rows (a PNG a strip), twig/1 (old traces and
  // servers) as the embedded model's token rows. The page writes a server's
  // own version (from its hello), VERSION when it has none.
  const V1 = "twig/1", V2 = "twig/2";
  const VERSION = V1;
  const readable = (v) => v === V1 || v === V2;

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
      if (!readable(ev.v)) {
        return this._push(null, { v: VERSION, type: "error", run_id: this.id, seq: ev.seq || 0, t_ms: 0,
          code: "internal", message: `twig: event speaks ${JSON.stringify(ev.v)}, this page reads ${V1} and ${V2}` });
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
    /**
     * humanize turns a thought into plain English (thought.HumanizeFor): rows and
     * columns from 1, and, given the run's prompt, which attributes the prompt
     * left open for the model to choose.
     */
    humanize(thought, prompt) {
      const m = (this._memo.human ||= new Map());
      const key = (prompt || "") + "\n" + thought;
      if (!m.has(key)) m.set(key, this._call("humanize", thought, prompt || ""));
      return m.get(key);
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
    /** compare checks the WebGPU path against the CPU on the same inputs (see internal/webhost/compare.go). */
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
      // A remote run's prompt is free text: the gateway's model checks it
      // when it needs the world's words (an embedded role), and a remote
      // image model takes any prompt. Only a run in the page is checked here.
      const checked = backend === "remote" ? Promise.resolve({ ok: true }) : this.parse(prompt);
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
    g = { ws, runs: new Map(), hello: null, v: VERSION };
    // ready: the gateway said hello, so the page speaks its version.
    g.ready = new Promise((resolve, reject) => {
      g.greeted = resolve;
      ws.onerror = () => reject(new TwigError("backend_failed", `cannot reach the twig gateway at ${url}`));
    });
    ws.onmessage = (e) => {
      let ev;
      try {
        ev = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      if (ev.type === "hello") {
        g.hello = ev;
        if (readable(ev.v)) g.v = ev.v;
        return void g.greeted();
      }
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
      () => g.ws.send(JSON.stringify({ v: g.v, type: "start", id: run.id, prompt, settings })),
      (e) => {
        g.runs.delete(run.id);
        run._push(null, { v: VERSION, type: "error", run_id: run.id, seq: 0, t_ms: 0, code: "backend_failed", message: e.message });
      }
    );
    return {
      cancel: () => g.ready.then(() => g.ws.readyState === 1 && g.ws.send(JSON.stringify({ v: g.v, type: "cancel", id: run.id }))),
    };
  }

  // ------------------------------------------------------------------ state

  /**
   * RunState rebuilds what a run shows from its events, one at a time, by
   * the fold rules of docs/PROTOCOL.md ("Folding events"): the canvas, and
   * per band its rows, its plans (each attempt at the band's thought, with
   * the model's review of it: a rejected plan is followed by a new attempt),
   * critiques and redraws (with what each redraw replaced). The page, the
   * element and the replay use it.
   *
   * The canvas is kept two ways: `tokens`, the token view (GRID×GRID, -1
   * undrawn) when a token model paints it, and `strips`, the PNG strips on
   * the canvas now ({rows, png}: pixel rows, base64 PNG; a redraw removes
   * its band's), which CanvasView decodes. `picture` is true when the
   * canvas is a real picture (no token view). Rows the page shows (a band's
   * `rows`, `lastStrip`) are "view rows": token rows when a token model
   * paints (its thoughts name them), pixel rows of a picture otherwise;
   * `side` is their count and fraction() places them on the canvas. Reads
   * twig/2 (pixel rows) and twig/1 (token rows, old traces).
   */
  class RunState {
    constructor() {
      this.tokens = new Array(GRID * GRID).fill(-1);
      this.strips = [];
      this.bands = [];
      this.plan = [];
      this.started = null;
      this.done = null;
      this.error = null;
      this.current = -1; // the band being worked on
      this.v = V1;
      this.width = 0; // the canvas in pixels (0: a twig/1 run without a picture)
      this.height = 0;
      this.grid = GRID; // the token grid's side, 0 when no token model paints
      this.picture = false;
      this.lastStrip = null; // the view rows of the last band_progress
    }
    band(i) {
      return (this.bands[i] ||= { index: i, rows: null, thought: "", thoughtDone: false, round: 0, status: "waiting",
        rowsDrawn: 0, critiques: [], redraws: [], plans: [] });
    }
    static from(events, n) {
      const s = new RunState();
      for (let i = 0; i < (n === undefined ? events.length : n); i++) s.apply(events[i]);
      return s;
    }
    /** side is the number of view rows on the canvas. */
    get side() {
      return this.v === V2 && this.picture && this.height ? this.height : GRID;
    }
    /** fraction places view rows on the canvas: {top, height} in [0, 1] (an open end runs to the bottom). */
    fraction(rows) {
      const end = rows.end < 0 ? this.side : rows.end;
      return { top: rows.start / this.side, height: (end - rows.start) / this.side };
    }
    // view turns an event's rows into view rows: twig/2's pixel rows become
    // token rows on a token model's canvas; twig/1's are token rows already.
    view(rows) {
      if (!rows || this.v !== V2 || this.picture || !this.grid || !this.height) return rows;
      const k = this.height / this.grid;
      return { start: Math.floor(rows.start / k), end: rows.end < 0 ? -1 : Math.ceil(rows.end / k) };
    }
    // pixels turns an event's rows into pixel rows (twig/1: token rows scaled).
    pixels(rows) {
      if (this.v === V2) return rows;
      return { start: Math.floor((rows.start * this.height) / GRID), end: Math.floor((rows.end * this.height) / GRID) };
    }
    // tokenRows are the token rows that pixel rows touch.
    tokenRows(px) {
      const k = this.height / this.grid;
      return { start: Math.floor(px.start / k), end: Math.min(this.grid, Math.ceil(px.end / k)) };
    }
    rowsOf(rows) {
      return this.tokens.slice(rows.start * GRID, rows.end * GRID);
    }
    // snapshot is what a band's view rows show now: its tokens, or on a
    // picture {pixels, strips, width} for CanvasView.bandImage.
    snapshot(rows) {
      if (!this.picture) return this.rowsOf(rows);
      const px = this.v === V2 ? rows : this.pixels(rows);
      return { pixels: px, width: this.width, strips: this.strips.filter((x) => x.rows.start >= px.start && x.rows.end <= px.end) };
    }
    // plan returns band b's plan for attempt a (0: the first), starting a new
    // one when the model begins another attempt.
    _plan(b, a) {
      a = a || 0;
      let p = b.plans.find((x) => x.attempt === a);
      if (!p) {
        p = { attempt: a, thought: "", done: false, review: null };
        b.plans.push(p);
        b.thought = "";
        b.thoughtDone = false;
      }
      return p;
    }
    /** shortfalls lists the bands whose last score stayed below the threshold: [{band, score, threshold}]. */
    shortfalls() {
      const th = this.started && this.started.settings ? this.started.settings.threshold : undefined;
      const out = [];
      for (const b of this.bands) {
        const k = b && b.critiques.at(-1);
        if (k && (k.reason === "max_revisions" || k.reason === "revision_budget")) out.push({ band: b.index, score: k.score, threshold: th });
      }
      return out;
    }
    // strip folds a band_progress: its PNG onto the strips, its tokens (or
    // none: undrawn in the token view) onto the token rows.
    _strip(ev) {
      if (this.v === V1) {
        for (let c = 0; c < GRID; c++) this.tokens[ev.row * GRID + c] = ev.tokens[c];
        if (ev.png && ev.pixels) this.strips.push({ rows: ev.pixels, png: ev.png });
        this.lastStrip = { start: ev.row, end: ev.row + 1 };
        return;
      }
      const px = ev.rows;
      this.strips = this.strips.filter((x) => x.rows.end <= px.start || x.rows.start >= px.end);
      if (ev.png) this.strips.push({ rows: px, png: ev.png });
      if (this.grid && this.height) {
        const tr = this.tokenRows(px);
        if (ev.tokens && ev.tokens.length === (tr.end - tr.start) * GRID) {
          for (let i = 0; i < ev.tokens.length; i++) this.tokens[tr.start * GRID + i] = ev.tokens[i];
        } else {
          this.tokens.fill(-1, tr.start * GRID, tr.end * GRID);
          this.picture = true; // a strip no token model painted: the canvas is a picture now
        }
      }
      this.lastStrip = this.view(px);
    }
    /**
     * check says why ev cannot be folded now ("" when it can): the bounds of
     * docs/PROTOCOL.md's fold — run_started first and once, nothing after
     * run_done or error, bands opened in order (at most 16), a band's
     * events only once it started, a strip inside its band's rows whose
     * PNG header says width × its rows, tokens only as whole token rows.
     */
    check(ev) {
      if (ev.type === "run_started") return this.started ? "a second run_started" : "";
      if (!this.started) return `${ev.type} before run_started`;
      if (this.done || this.error) return `${ev.type} after the run ended`;
      if (ev.type === "band_started") return ev.band !== this.bands.length || ev.band >= 16 ? `band ${ev.band} opened out of order` : "";
      if (ev.band === undefined || ["run_done", "error", "think_decision", "budget_exhausted"].includes(ev.type)) return "";
      const b = this.bands[ev.band];
      if (!b || !b.rows) return `${ev.type} of band ${ev.band}, which has not started`;
      if (ev.type !== "band_progress" || this.v !== V2) return "";
      const r = ev.rows, end = b.rows.end < 0 ? Infinity : b.rows.end;
      const lo = this.picture || !this.grid ? b.rows.start : (b.rows.start * this.height) / this.grid;
      const hi = this.picture || !this.grid ? end : (end * this.height) / this.grid;
      if (!r || !(r.start >= lo && r.end <= hi && r.start < r.end)) return `a strip of rows ${JSON.stringify(r)} outside band ${ev.band}`;
      const size = pngSize(ev.png);
      if (!size || size[0] !== this.width || size[1] !== r.end - r.start) return `band ${ev.band}: a strip whose PNG is not ${this.width}×${r.end - r.start}`;
      if (ev.tokens && (!this.grid || ev.tokens.length !== ((r.end - r.start) * this.grid * this.grid) / this.height)) return `band ${ev.band}: a strip's tokens are not whole token rows`;
      return "";
    }
    /**
     * apply folds ev (see check): an event that cannot be folded changes
     * nothing and is kept in `refused` ({event, why}); `lastRefused` says
     * whether ev was.
     */
    apply(ev) {
      const why = this.check(ev);
      this.lastRefused = !!why;
      if (why) {
        (this.refused ||= []).push({ event: ev, why });
        return this;
      }
      switch (ev.type) {
        case "run_started":
          this.started = ev;
          this.v = ev.v === V2 ? V2 : V1;
          this.width = ev.width || 0;
          this.height = ev.height || 0;
          this.grid = this.v === V2 ? ev.grid || 0 : GRID;
          this.picture = this.v === V2 ? !this.grid : this.width > 0;
          this.plan = (ev.plan || []).map((r) => this.view(r));
          break;
        case "band_started": {
          const b = this.band(ev.band);
          b.rows = this.view(ev.rows);
          b.status = "thinking";
          this.current = ev.band;
          break;
        }
        case "thought_delta": {
          const b = this.band(ev.band);
          const p = this._plan(b, ev.attempt);
          p.thought += ev.text;
          b.thought = p.thought;
          b.status = "thinking";
          break;
        }
        case "thought_done": {
          const b = this.band(ev.band);
          const p = this._plan(b, ev.attempt);
          p.thought = ev.text;
          p.done = true;
          b.thought = ev.text;
          b.thoughtDone = true;
          if (ev.end_row) b.rows = { start: b.rows ? b.rows.start : 0, end: this.view({ start: 0, end: ev.end_row }).end };
          break;
        }
        case "plan_review": {
          const b = this.band(ev.band);
          const p = this._plan(b, ev.attempt);
          p.review = ev;
          if (ev.thought && !p.thought) p.thought = ev.thought;
          p.done = true;
          if (!ev.accepted && !ev.final) b.status = "rethinking";
          break;
        }
        case "band_progress": {
          const b = this.band(ev.band);
          b.status = "drawing";
          if (b.round !== ev.round) b.rowsDrawn = 0;
          b.round = ev.round;
          b.rowsDrawn++;
          this._strip(ev);
          break;
        }
        case "band_done": {
          const b = this.band(ev.band);
          b.rows = this.view(ev.rows);
          b.status = "drawn";
          const r = b.redraws.find((x) => x.round === ev.round);
          if (r) r.after = this.snapshot(b.rows);
          break;
        }
        case "critique":
          this.band(ev.band).critiques.push(ev);
          this.band(ev.band).status = ev.verdict === "redraw" ? "redrawing" : "done";
          break;
        case "band_redrawn": {
          const b = this.band(ev.band);
          const rows = this.view(ev.rows);
          b.redraws.push({ round: ev.round, rows, before: this.snapshot(rows), after: null,
            oldThought: b.thought, thought: ev.thought, changed: (ev.thought || "").trim() !== (b.thought || "").trim() });
          b.thought = ev.thought;
          b.round = ev.round;
          b.rowsDrawn = 0;
          b.status = "redrawing";
          const px = this.height ? this.pixels(ev.rows) : null;
          if (px) this.strips = this.strips.filter((x) => x.rows.end <= px.start || x.rows.start >= px.end);
          if (this.v === V1) this.tokens.fill(-1, ev.rows.start * GRID, ev.rows.end * GRID);
          else if (this.grid && px) {
            const tr = this.tokenRows(px);
            this.tokens.fill(-1, tr.start * GRID, tr.end * GRID);
          }
          break;
        }
        case "run_done":
          this.done = ev;
          if (ev.tokens) this.tokens = ev.tokens.slice();
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

  /** rowsText names rows {start, end} (end exclusive) counted from 1, as everything on the page counts them. */
  function rowsText(rows) {
    if (!rows) return "";
    if (rows.end < 0) return `rows ${rows.start + 1}–…`;
    return rows.end - rows.start === 1 ? `row ${rows.start + 1}` : `rows ${rows.start + 1}–${rows.end}`;
  }

  // ------------------------------------------------------------------ pictures

  // The embedded model's world (internal/world/tokens): fills and the sub-pixel grid.
  const SUB = 2; // sub-pixels per cell side
  const SUBGRID = GRID * SUB;
  const PX_SIZE = 256; // tokens.PxSize: stripes are STRIPE_PX rows of a picture this tall
  const STRIPE_PX = 4;
  const PALETTE = [[220, 40, 40], [40, 170, 60], [40, 80, 220], [235, 200, 30], [150, 60, 190], [245, 130, 20]];
  const BACKGROUND = [255, 255, 255], UNDRAWN = [200, 200, 200], UNDRAWN_ALT = [180, 180, 180];
  const TINTS = PALETTE.map((c) => c.map((v) => Math.floor((v + 2 * 255) / 3)));
  const NUM_IMAGE_TOKENS = 181, MASKS = 15, TEXTURES = 2;
  /** SIDE is the side, in pixels, of the pictures the page draws (render.Side). */
  const SIDE = 512;

  /**
   * smoothPicture draws a token canvas as side×side RGBA pixels with smooth,
   * anti-aliased edges: the same arithmetic as internal/render.Smooth, step for
   * step (the browser tests check that the two agree), so the page shows what
   * the PNG and the GIF show. Outlines of each colour are traced along the
   * sub-pixel edges, smoothed along the loop, kept at their area and filled
   * with exact horizontal coverage; undrawn cells stay the grey checkerboard.
   */
  function smoothPicture(tokens, side) {
    const px = new Uint8ClampedArray(side * side * 4);
    const cls = new Int8Array(SUBGRID * SUBGRID);
    for (let i = 0; i < GRID * GRID; i++) {
      const tok = i < tokens.length ? tokens[i] : -1;
      const cx = i % GRID, cy = Math.floor(i / GRID);
      let mask = 0, color = 0, tex = 0;
      if (tok > 0 && tok < NUM_IMAGE_TOKENS) {
        const t = tok - 1, ct = Math.floor(t / MASKS);
        mask = (t % MASKS) + 1;
        color = Math.floor(ct / TEXTURES);
        tex = ct % TEXTURES;
      }
      for (let sy = 0; sy < SUB; sy++)
        for (let sx = 0; sx < SUB; sx++) {
          const k = (cy * SUB + sy) * SUBGRID + cx * SUB + sx;
          cls[k] = tok < 0 ? -2 : mask & (1 << (sy * SUB + sx)) ? color * TEXTURES + tex : -1;
        }
    }
    const undrawnAt = (x, y) => {
      const i = Math.floor((y * GRID) / side) * GRID + Math.floor((x * GRID) / side);
      return i >= tokens.length || tokens[i] < 0;
    };
    const fill = (c, x, y) => {
      if (c === -1) return BACKGROUND;
      if (c === -2) return (Math.floor((x * GRID) / side) + Math.floor((y * GRID) / side)) % 2 === 1 ? UNDRAWN_ALT : UNDRAWN;
      const col = Math.floor(c / TEXTURES), tex = c % TEXTURES;
      if (tex === 1 && Math.floor(Math.floor((y * PX_SIZE) / side) / STRIPE_PX) % 2 === 1) return TINTS[col];
      return PALETTE[col];
    };
    for (let y = 0; y < side; y++)
      for (let x = 0; x < side; x++) {
        const c = undrawnAt(x, y) ? fill(-2, x, y) : BACKGROUND;
        const o = (y * side + x) * 4;
        px[o] = c[0], px[o + 1] = c[1], px[o + 2] = c[2], px[o + 3] = 255;
      }
    const scale = side / SUBGRID;
    const cover = new Float64Array(side);
    for (let c = 0; c < PALETTE.length * TEXTURES; c++) {
      const loops = outline(cls, c);
      if (!loops.length) continue;
      const edges = [];
      let y0 = side, y1 = 0;
      for (const l of loops) {
        const p = smoothLoop(l);
        for (let k = 0; k < p.length; k++) {
          const a = p[k], b = p[(k + 1) % p.length];
          const e = [a[0] * scale, a[1] * scale, b[0] * scale, b[1] * scale];
          if (e[1] === e[3]) continue;
          edges.push(e);
          y0 = Math.min(y0, Math.floor(Math.min(e[1], e[3])));
          y1 = Math.max(y1, Math.ceil(Math.max(e[1], e[3])));
        }
      }
      for (let y = Math.max(y0, 0); y < Math.min(y1, side); y++) {
        if (!coverRow(edges, y, cover)) continue;
        for (let x = 0; x < side; x++) {
          const a = cover[x];
          if (a <= 0 || undrawnAt(x, y)) continue;
          const o = (y * side + x) * 4;
          const f = fill(c, x, y), al = Math.min(a, 1);
          for (let j = 0; j < 3; j++) px[o + j] = Math.floor(al * f[j] + (1 - al) * px[o + j] + 0.5);
        }
      }
    }
    return px;
  }

  // outline traces the loops around the sub-pixels of class c (render.outline).
  function outline(cls, c) {
    const G = SUBGRID, V = G + 1;
    const inside = (x, y) => x >= 0 && y >= 0 && x < G && y < G && cls[y * G + x] === c;
    const out = new Uint8Array(V * V), used = new Uint8Array(V * V);
    let found = false;
    for (let y = 0; y < G; y++)
      for (let x = 0; x < G; x++) {
        if (!inside(x, y)) continue;
        found = true;
        if (!inside(x, y - 1)) out[y * V + x + 1] |= 1 << 2;
        if (!inside(x, y + 1)) out[(y + 1) * V + x] |= 1 << 0;
        if (!inside(x - 1, y)) out[y * V + x] |= 1 << 1;
        if (!inside(x + 1, y)) out[(y + 1) * V + x + 1] |= 1 << 3;
      }
    if (!found) return [];
    const dx = [1, 0, -1, 0], dy = [0, 1, 0, -1];
    const low = (b) => (b & 1 ? 0 : b & 2 ? 1 : b & 4 ? 2 : 3);
    const ones = (b) => (b & 1) + ((b >> 1) & 1) + ((b >> 2) & 1) + ((b >> 3) & 1);
    const loops = [];
    for (let pass = 0; pass < 2; pass++)
      for (let v0 = 0; v0 < V * V; v0++)
        while (out[v0] & ~used[v0] && (pass === 1 || ones(out[v0]) === 1)) {
          let d = low(out[v0] & ~used[v0]);
          const loop = [];
          let v = v0;
          for (;;) {
            used[v] |= 1 << d;
            loop.push([v % V, Math.floor(v / V)]);
            v += dy[d] * V + dx[d];
            const free = out[v] & ~used[v];
            if (!free) break;
            const turn = (d + 1) % 4;
            d = free & (1 << turn) ? turn : low(free);
          }
          loops.push(loop);
        }
    return loops;
  }

  // smoothLoop smooths a traced loop and keeps its area (render.smoothLoop).
  function smoothLoop(l) {
    const m = l.length;
    const dir = (k) => {
      const a = l[k % m], b = l[(k + 1) % m];
      return (b[0] - a[0]) * 3 + (b[1] - a[1]); // one number per direction
    };
    const run = new Int32Array(m);
    let start = 0;
    while (start < m && dir(start + m - 1) === dir(start)) start++;
    if (start === m) start = 0;
    for (let i = 0; i < m; ) {
      let j = i + 1;
      while (j < m && dir(start + j) === dir(start + i)) j++;
      for (let k = i; k < j; k++) run[(start + k) % m] = j - i;
      i = j;
    }
    const n = 2 * m;
    let p = new Array(n), q = new Array(n);
    const pinned = new Uint8Array(n);
    for (let k = 0; k < m; k++) {
      const a = l[k], b = l[(k + 1) % m], c = l[(k + 2) % m];
      p[2 * k] = [(a[0] + b[0]) / 2, (a[1] + b[1]) / 2];
      p[2 * k + 1] = [(a[0] + 2 * b[0] + c[0]) / 4, (a[1] + 2 * b[1] + c[1]) / 4];
      const k1 = (k + 1) % m;
      if (dir(k) !== dir(k1) && run[k] >= 3 && run[k1] >= 3) {
        p[2 * k + 1] = [b[0], b[1]];
        pinned[2 * k + 1] = 1;
      }
    }
    for (let pass = 0; pass < 8; pass++) {
      for (let k = 0; k < n; k++) {
        if (pinned[k]) {
          q[k] = p[k];
          continue;
        }
        const a = p[(k + n - 1) % n], b = p[k], c = p[(k + 1) % n];
        q[k] = [(a[0] + 2 * b[0] + c[0]) / 4, (a[1] + 2 * b[1] + c[1]) / 4];
      }
      [p, q] = [q, p];
    }
    const want = loopArea(l);
    const g = new Array(n);
    for (let pass = 0; pass < 2; pass++) {
      let norm = 0;
      for (let k = 0; k < n; k++) {
        const a = p[(k + n - 1) % n], c = p[(k + 1) % n];
        g[k] = [(c[1] - a[1]) / 2, (a[0] - c[0]) / 2];
        if (!pinned[k]) norm += Math.hypot(g[k][0], g[k][1]);
      }
      if (norm === 0) break;
      const delta = (want - loopArea(p)) / norm;
      for (let k = 0; k < n; k++) {
        const h = Math.hypot(g[k][0], g[k][1]);
        if (h > 0 && !pinned[k]) p[k] = [p[k][0] + (delta * g[k][0]) / h, p[k][1] + (delta * g[k][1]) / h];
      }
    }
    return p;
  }

  function loopArea(p) {
    let s = 0;
    for (let k = 0; k < p.length; k++) {
      const a = p[k], b = p[(k + 1) % p.length];
      s += a[0] * b[1] - b[0] * a[1];
    }
    return s / 2;
  }

  // coverRow fills cover with each pixel's share of row y inside the edges (render.coverRow).
  function coverRow(edges, y, cover) {
    cover.fill(0);
    const side = cover.length;
    let hit = false;
    const xs = [];
    for (let s = 0; s < 4; s++) {
      const sy = y + (s + 0.5) / 4;
      xs.length = 0;
      for (const e of edges) if ((e[1] <= sy) !== (e[3] <= sy)) xs.push(e[0] + ((sy - e[1]) * (e[2] - e[0])) / (e[3] - e[1]));
      xs.sort((a, b) => a - b);
      for (let i = 0; i + 1 < xs.length; i += 2) {
        const a = Math.max(xs[i], 0), b = Math.min(xs[i + 1], side);
        if (b <= a) continue;
        hit = true;
        const ia = Math.floor(a), ib = Math.floor(b);
        if (ia === ib) {
          cover[ia] += (b - a) / 4;
          continue;
        }
        cover[ia] += (ia + 1 - a) / 4;
        for (let x = ia + 1; x < ib; x++) cover[x] += 0.25;
        if (ib < side) cover[ib] += (b - ib) / 4;
      }
    }
    return hit;
  }

  // ------------------------------------------------------------------ canvas

  /** pngSize reads [width, height] from a base64 PNG's header (null: not a PNG). */
  function pngSize(b64) {
    if (typeof b64 !== "string" || b64.length < 32) return null;
    let h;
    try {
      h = Uint8Array.from(atob(b64.slice(0, 32)), (c) => c.charCodeAt(0));
    } catch (e) {
      return null;
    }
    const sig = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (sig.some((v, i) => h[i] !== v) || String.fromCharCode(...h.slice(12, 16)) !== "IHDR") return null;
    const be = (i) => ((h[i] << 24) | (h[i + 1] << 16) | (h[i + 2] << 8) | h[i + 3]) >>> 0;
    return [be(16), be(20)];
  }

  /** decodePNG turns a base64 PNG into an ImageBitmap. */
  function decodePNG(b64) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    return createImageBitmap(new Blob([bytes], { type: "image/png" }));
  }

  /**
   * pictureBlob is a RunState's picture as a PNG Blob at its own size
   * (width×height), composed from its strips (transparent where undrawn).
   */
  async function pictureBlob(st) {
    const c = document.createElement("canvas");
    c.width = st.width;
    c.height = st.height;
    const cx = c.getContext("2d");
    for (const x of st.strips) {
      const bmp = await decodePNG(x.png);
      cx.clearRect(0, x.rows.start, c.width, x.rows.end - x.rows.start);
      cx.drawImage(bmp, 0, x.rows.start);
      bmp.close();
    }
    return new Promise((resolve) => c.toBlob(resolve, "image/png"));
  }

  /**
   * CanvasView paints a run's canvas onto a <canvas> (SIDE pixels a side).
   * A token model's canvas (the embedded model) is drawn from its tokens with
   * smoothPicture; a real picture (twig/2 without a token grid, or a strip no
   * token model painted; twig/1 with run_started.width) from its
   * band_progress PNG strips, over the undrawn checkerboard. Pass every
   * event to event(); show(state) redraws a RunState (the replay). Live
   * updates are drawn once an animation frame.
   */
  class CanvasView {
    constructor(canvas) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.tokens = new Array(GRID * GRID).fill(-1);
      canvas.width = canvas.height = SIDE;
      this._frame = 0;
      this.picture = null; // a <canvas> of the run's pixels (width×height), or null
      this.showPicture = false; // draw the picture, not the tokens
      this._run = { v: V1, height: 0 };
      this._strips = Promise.resolve(); // strips decode in order
      this.ready = Promise.resolve();
      this.draw();
    }
    _start(v, width, height, grid) {
      this._run = { v, height };
      this.picture = null;
      this._strips = Promise.resolve();
      this.showPicture = v === V2 ? !grid : width > 0;
      if (width > 0 && height > 0) {
        this.picture = document.createElement("canvas");
        this.picture.width = width;
        this.picture.height = height;
      }
    }
    // _put queues a strip (pixel rows px, base64 PNG) onto the picture.
    _put(px, png) {
      const pic = this.picture, pc = pic.getContext("2d");
      const bitmap = decodePNG(png);
      this._strips = this._strips.then(() => bitmap).then((bmp) => {
        if (this.picture !== pic) return bmp.close();
        pc.clearRect(0, px.start, pic.width, px.end - px.start);
        pc.drawImage(bmp, 0, px.start);
        bmp.close();
        this._schedule();
      }, () => {}); // a strip that does not decode leaves its rows undrawn
    }
    _clear(px) {
      const pic = this.picture;
      this._strips = this._strips.then(() => {
        if (this.picture === pic) pic.getContext("2d").clearRect(0, px.start, pic.width, px.end - px.start);
        this._schedule();
      });
    }
    /** event takes a run's event: run_started, band_progress and band_redrawn change the picture. */
    event(ev) {
      if (ev.type === "run_started") return this._start(ev.v === V2 ? V2 : V1, ev.width || 0, ev.height || 0, ev.grid || 0);
      if (!this.picture) return;
      const v2 = this._run.v === V2, h = this._run.height;
      if (ev.type === "band_progress") {
        if (v2 && !(ev.tokens && ev.tokens.length)) this.showPicture = true;
        const px = v2 ? ev.rows : ev.pixels;
        if (ev.png && px) this._put(px, ev.png);
      } else if (ev.type === "band_redrawn") {
        this._clear(v2 ? ev.rows : { start: Math.floor((ev.rows.start * h) / GRID), end: Math.floor((ev.rows.end * h) / GRID) });
      }
    }
    /** show draws a RunState's canvas (for a replay: the state after some events). */
    show(st) {
      this._start(st.v, st.width, st.height, st.grid);
      this.showPicture = st.picture;
      this.tokens = st.tokens.slice();
      if (this.picture) for (const x of st.strips) this._put(x.rows, x.png);
      this.draw();
    }
    /** drawn resolves once every strip received so far is on the canvas. */
    drawn() {
      return this._strips.then(() => this.draw());
    }
    _schedule() {
      if (!this._frame) this._frame = requestAnimationFrame(() => this.draw());
    }
    setTokens(tokens) {
      this.tokens = tokens.slice();
      this.draw();
    }
    draw() {
      if (this._frame) cancelAnimationFrame(this._frame);
      this._frame = 0;
      const pic = this.showPicture && this.picture;
      const under = pic ? new Array(GRID * GRID).fill(-1) : this.tokens; // a real picture: the checkerboard under it
      this.ctx.putImageData(new ImageData(smoothPicture(under, SIDE), SIDE, SIDE), 0, 0);
      if (pic) this.ctx.drawImage(this.picture, 0, 0, SIDE, SIDE);
    }
    /** update shows tokens at the next animation frame (many rows a frame cost one drawing). */
    update(tokens) {
      if (this.showPicture) return; // drawn from its strips
      let same = true;
      for (let i = 0; i < GRID * GRID && same; i++) same = this.tokens[i] === tokens[i];
      if (same) return;
      this.tokens = tokens.slice();
      this._schedule();
    }
    /**
     * bandImage returns a new <canvas> showing one band as RunState keeps a
     * redraw's before and after: the band's tokens (rows.start..rows.end, a
     * flat array), or on a picture {pixels, strips, width}, whose strips are
     * drawn as they decode.
     */
    bandImage(band, rows) {
      const c = document.createElement("canvas");
      c.width = SIDE;
      if (!Array.isArray(band)) {
        const px = band.pixels, k = SIDE / band.width;
        c.height = Math.max(1, Math.round((px.end - px.start) * k));
        const cx = c.getContext("2d");
        cx.putImageData(new ImageData(smoothPicture([], SIDE).subarray(0, c.height * SIDE * 4), SIDE, Math.min(c.height, SIDE)), 0, 0);
        for (const x of band.strips) {
          decodePNG(x.png).then((bmp) => {
            cx.drawImage(bmp, 0, (x.rows.start - px.start) * k, SIDE, (x.rows.end - x.rows.start) * k);
            bmp.close();
          }, () => {});
        }
        return c;
      }
      const h = rows.end - rows.start, cell = SIDE / GRID;
      c.height = h * cell;
      const full = new Array(GRID * GRID).fill(-1);
      for (let i = 0; i < band.length; i++) full[rows.start * GRID + i] = band[i];
      const px = smoothPicture(full, SIDE);
      c.getContext("2d").putImageData(new ImageData(px.subarray(rows.start * cell * SIDE * 4, rows.end * cell * SIDE * 4), SIDE, h * cell), 0, 0);
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
    canvas { width: 100%; height: 100%; border: 1px solid #bbb; border-radius: 4px; background: #ddd; display: block; }
    .stale canvas { opacity: .35; filter: grayscale(.6); }
    .band { position: absolute; left: 0; right: 0; border: 2px solid #0a66c2; border-radius: 3px; pointer-events: none; display: none; }
    .band.redraw { border-color: #c2410c; border-style: dashed; }
    .status { margin: 0; font-weight: 600; }
    .status.error { color: #b00020; }
    .status.warn { color: #c2410c; }
    ol { margin: 0; padding-left: 1.4em; }
    li { margin: .15em 0; }
    li .words { display: none; font: .8em/1.3 ui-monospace, monospace; color: #666; word-break: break-word; }
    li .words.streaming, :host([words="shown"]) li .words { display: block; }
    li .rejected { font-size: .85em; color: #6d28d9; }
    li .score { font-size: .85em; color: #555; }
    li .score.redraw, li .score.short { color: #c2410c; }
    button.words-toggle { font: inherit; font-size: .8em; background: none; border: 0; padding: 0; color: #0a66c2; cursor: pointer; text-decoration: underline; }
    :host([thoughts="hidden"]) ol, :host([thoughts="hidden"]) .words-toggle { display: none; }`;

  /**
   * <twig-canvas prompt="a red circle above a blue square"> draws its prompt
   * when it is connected (unless autostart="false") and again when the prompt
   * or a setting changes. Each band's thought is listed in plain English as
   * the model writes it, with its rejected plans, scores and redraws; the
   * model's own words show on demand (the "model's words" button, or
   * words="shown").
   *
   * Attributes: prompt, bands, threshold, revisions (max_revisions), seed,
   * think, reflect ("false"/"off" to turn off), backend (auto|cpu|webgpu|remote),
   * gateway (ws:// URL for remote), weights (manifest URL), autostart,
   * thoughts="hidden", words="shown".
   * Methods: draw(), play(run) (show a twig.Run, e.g. one fed from a trace), cancel().
   * Properties: run, state, events.
   * DOM events (bubbling, composed; details in .detail): twig-status {phase, message},
   * twig-start {run_id, prompt}, twig-thought {band, text, done, attempt}, twig-review {band, attempt,
   * accepted, reason, final}, twig-row {band, round, row, rows} (rows: the strip's view rows, row: its first), twig-critique {band, round, score, verdict, reason},
   * twig-redraw {band, round, thought}, twig-done {run_id, tokens, png, thoughts, stats, short} (png: twig/2's final picture, base64),
   * twig-error {code, message, parse_error?}, and twig-event {event} for every protocol event.
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
            <button class="words-toggle" type="button" aria-pressed="false">model's words</button>
          </figcaption>
        </figure>`;
      this._canvas = root.querySelector("canvas");
      this._stage = root.querySelector(".stage");
      this._band = root.querySelector(".band");
      this._status = root.querySelector(".status");
      this._list = root.querySelector("ol");
      this._toggle = root.querySelector(".words-toggle");
      this._toggle.addEventListener("click", () => {
        const on = this.getAttribute("words") !== "shown";
        if (on) this.setAttribute("words", "shown");
        else this.removeAttribute("words");
        this._toggle.setAttribute("aria-pressed", String(on));
      });
      this.run = null;
      this.state = new RunState();
      this._timer = 0;
    }
    get events() {
      return this.run ? this.run.events : [];
    }
    connectedCallback() {
      this._client = clientFor(this.getAttribute("weights"));
      this._view ||= new CanvasView(this._canvas);
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
    _say(text, kind) {
      this._status.textContent = text;
      this._status.classList.toggle("error", kind === true || kind === "error");
      this._status.classList.toggle("warn", kind === "warn");
    }
    cancel() {
      if (this.run) this.run.cancel();
    }
    /** draw (re)starts the drawing of the prompt; it resolves when the run ends. */
    async draw() {
      this.cancel();
      const prompt = (this.getAttribute("prompt") || "").trim();
      this._client ||= clientFor(this.getAttribute("weights"));
      if (!prompt) {
        this._reset(prompt);
        this.run = null;
        return this._say("no prompt: set the prompt attribute", true);
      }
      return this.play(this._client.draw(prompt, {
        settings: this.settings(), backend: this.getAttribute("backend") || "auto", gateway: this.getAttribute("gateway") || undefined,
      }));
    }
    /**
     * play shows a run from its first event — one twig.draw started, or a
     * twig.Run fed from a recorded trace — and resolves when it ends.
     */
    async play(run) {
      if (this.run && this.run !== run) this.run.cancel();
      this._client ||= clientFor(this.getAttribute("weights"));
      this._reset(run.prompt);
      this.run = run;
      this._say(this._client.status.phase === "ready" ? "drawing…" : "loading twig…");
      this._emit("twig-start", { run_id: run.id, prompt: run.prompt });
      for await (const ev of run) {
        if (this.run !== run) return;
        this._onEvent(ev);
      }
    }
    _reset(prompt) {
      this._view ||= new CanvasView(this._canvas);
      this.state = new RunState();
      this._list.textContent = "";
      this._stage.classList.remove("stale");
      this._view.show(this.state);
      this._canvas.setAttribute("aria-label", `twig drawing: ${prompt}`);
    }
    _item(i) {
      let li = this._list.children[i];
      while (!li) {
        li = document.createElement("li");
        li.innerHTML = `<div class="rejected"></div><span class="thought"></span><span class="words"></span> <span class="score"></span>`;
        this._list.append(li);
        li = this._list.children[i];
      }
      return li;
    }
    // _thought shows band b's thought: the model's words while they stream,
    // then plain English (the words on demand).
    _thought(b, li) {
      const words = li.querySelector(".words"), human = li.querySelector(".thought");
      words.textContent = b.thought;
      words.classList.toggle("streaming", !b.thoughtDone);
      human.textContent = b.thoughtDone ? human.textContent || "" : "";
      if (!b.thoughtDone || !b.thought) return;
      const thought = b.thought, run = this.run;
      this._client.humanize(thought, run ? run.prompt : "").then((h) => {
        if (this.run === run && b.thought === thought) human.textContent = h;
      }, () => (human.textContent = thought));
    }
    _showBand(rows, redraw) {
      if (!rows || rows.end < 0) return void (this._band.style.display = "none");
      this._band.style.display = "block";
      const f = this.state.fraction(rows);
      this._band.style.top = f.top * 100 + "%";
      this._band.style.height = f.height * 100 + "%";
      this._band.classList.toggle("redraw", !!redraw);
    }
    _onEvent(ev) {
      const st = this.state.apply(ev);
      if (st.lastRefused) return; // a malformed event: nothing to show
      this._view.event(ev);
      this._emit("twig-event", { event: ev });
      const b = ev.band !== undefined ? st.band(ev.band) : null;
      switch (ev.type) {
        case "band_started":
          this._showBand(b.rows);
          this._say(`band ${ev.band + 1} (${rowsText(b.rows)}): thinking…`);
          break;
        case "thought_delta":
        case "thought_done":
          this._thought(b, this._item(ev.band));
          if (ev.type === "thought_done" && b.rows) this._showBand(b.rows);
          this._emit("twig-thought", { band: ev.band, text: b.thought, done: ev.type === "thought_done", attempt: ev.attempt || 0 });
          break;
        case "plan_review": {
          const li = this._item(ev.band);
          if (!ev.accepted && ev.final) {
            const p = document.createElement("div");
            p.textContent = `the model doubted this plan${ev.reason ? ` (${ev.reason})` : ""} but has no rethinks left`;
            li.querySelector(".rejected").append(p);
          } else if (!ev.accepted) {
            const p = document.createElement("div");
            p.textContent = `plan ${ev.attempt + 1} rejected by the model${ev.reason ? `: ${ev.reason}` : ""}`;
            li.querySelector(".rejected").append(p);
            this._thought(b, li);
            this._say(`band ${ev.band + 1}: rethinking…`);
          }
          this._emit("twig-review", { band: ev.band, attempt: ev.attempt, accepted: ev.accepted, reason: ev.reason, final: !!ev.final });
          break;
        }
        case "band_progress":
          this._view.update(st.tokens);
          this._say(`band ${ev.band + 1}: drawing ${rowsText(st.lastStrip)}${b.rows && b.rows.end - b.rows.start > 1 ? ` of ${rowsText(b.rows)}` : ""}${ev.round ? " (redraw)" : ""}`);
          this._emit("twig-row", { band: ev.band, round: ev.round, row: st.lastStrip.start, rows: st.lastStrip });
          break;
        case "critique": {
          const sc = this._item(ev.band).querySelector(".score");
          const short = ev.reason === "max_revisions" || ev.reason === "revision_budget";
          const score = ev.parsed ? ev.score : "?";
          sc.textContent = ev.round ? `${sc.textContent} · redraw scored ${score}` : `score ${score}`;
          if (ev.verdict === "redraw") sc.textContent += " → redraw";
          if (short) sc.textContent += ` (below ${st.started.settings.threshold}: fell short)`;
          sc.classList.toggle("redraw", ev.verdict === "redraw");
          sc.classList.toggle("short", short);
          this._emit("twig-critique", { band: ev.band, round: ev.round, score: ev.score, verdict: ev.verdict, reason: ev.reason });
          break;
        }
        case "band_redrawn": {
          this._view.update(st.tokens);
          this._showBand(st.view(ev.rows), true);
          const r = b.redraws.at(-1);
          const li = this._item(ev.band);
          this._thought(b, li);
          if (r && r.changed) li.querySelector(".words").textContent = `${ev.thought} (revised)`;
          this._say(`band ${ev.band + 1}: redrawing${r && r.changed ? " with a revised thought" : ""}`);
          this._emit("twig-redraw", { band: ev.band, round: ev.round, thought: ev.thought });
          break;
        }
        case "run_done": {
          this._view.setTokens(st.tokens);
          this._showBand(null);
          const short = st.shortfalls();
          const base = `done in ${(ev.t_ms / 1000).toFixed(1)} s · ${ev.stats.revisions} redraw${ev.stats.revisions === 1 ? "" : "s"}`;
          if (short.length) this._say(`${base} · fell short: ${short.map((s) => `band ${s.band + 1} scored ${s.score} < ${s.threshold}`).join(", ")}`, "warn");
          else this._say(base);
          this._canvas.setAttribute("aria-label", `twig drawing of ${this.run.prompt}: ${ev.thoughts.filter(Boolean).join("; ")}`);
          this._emit("twig-done", { run_id: ev.run_id, tokens: ev.tokens, png: ev.png, thoughts: ev.thoughts, stats: ev.stats, short });
          break;
        }
        case "error":
          this._showBand(null);
          if (ev.code !== "canceled") this._stage.classList.add("stale");
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
    pictureBlob,
    rowsText,
    smoothPicture,
    SIDE,
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
