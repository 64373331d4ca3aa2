// The twig demo page: a prompt with vocabulary hints and parser errors, the
// canvas filling band by band with each thought beside its band, critiques
// and redraws (before/after), a replay timeline, downloads and settings.
// It uses only the public twig.js API. window.twigDemo exposes the state
// and a log of what was shown when, for the browser tests.
"use strict";

const $ = (id) => document.getElementById(id);
// ?weights=URL (a manifest or a .safetensors file, relative to twig.js) tries other weights;
// ?webgpu=off never starts WebGPU (the tests that do not need it save its check).
const query = new URLSearchParams(location.search);
const client = query.has("weights") || query.get("webgpu") === "off"
  ? new twig.Client({ weights: query.get("weights") || undefined, webgpu: query.get("webgpu") !== "off" })
  : twig.client();
const demo = (window.twigDemo = { log: [], run: null, state: null, events: [], info: null, client });
const t0 = performance.now();
const note = (kind, extra) => demo.log.push({ t: performance.now() - t0, kind, ...extra });

// ------------------------------------------------------------------ engine status

client.onStatus((s) => {
  if (s.phase === "ready" || s.phase === "gpu") return;
  $("engine").textContent = s.message;
  $("engine").classList.toggle("error", s.phase === "failed");
});
client.ready().then(
  (info) => {
    demo.info = info;
    showEngine(info.weights, null);
    return client.gpu().then((gpu) => {
      demo.info = { ...info, gpu };
      showEngine(info.weights, gpu);
    });
  },
  (e) => {
    $("engine").textContent = e.message;
    $("engine").classList.add("error");
  }
);

// showEngine says which model and which backend run here.
function showEngine(w, gpu) {
  const mb = (w.bytes / 1e6).toFixed(1);
  const g = !gpu
    ? "Checking WebGPU against the CPU…"
    : gpu.available
      ? `${escapeHTML(gpu.name)} ${gpu.check.agree ? "agrees with" : "disagrees with"} the CPU (max difference ${gpu.check.logits_max_abs_diff.toExponential(1)}); auto uses <strong>${gpu.auto === "webgpu" ? "WebGPU" : "the CPU"}</strong>: ${escapeHTML(gpu.why)}.`
      : `No WebGPU (${escapeHTML(gpu.reason)}): running on <strong>the CPU (WebAssembly)</strong>.`;
  $("engine").innerHTML = `Model ${escapeHTML(w.model)}, ${mb} MB${w.from_cache ? " (from the cache)" : ""}. ${g}`;
  const opt = $("backend").querySelector('option[value="webgpu"]');
  opt.disabled = !gpu || !gpu.available;
  opt.textContent = !gpu ? "WebGPU (checking…)" : gpu.available ? `WebGPU — ${gpu.name}` : "WebGPU (not available here)";
  $("backend").querySelector('option[value="auto"]').textContent = `auto (now: ${gpu && gpu.available && gpu.auto === "webgpu" ? "WebGPU" : "CPU"})`;
}

function escapeHTML(s) {
  return String(s).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);
}

// ------------------------------------------------------------------ settings (and ?query= presets)

const settingIDs = ["bands", "threshold", "revisions", "seed", "think", "reflect", "backend", "gateway"];
(function presets() {
  const q = new URLSearchParams(location.search);
  if (q.has("prompt")) $("prompt").value = q.get("prompt");
  for (const id of settingIDs) {
    if (!q.has(id)) continue;
    const el = $(id);
    if (el.type === "checkbox") el.checked = !/^(0|false|off|no)$/i.test(q.get(id));
    else el.value = q.get(id);
  }
  $("gateway").placeholder = twig.defaultGateway();
  syncSettings();
})();

function syncSettings() {
  $("threshold-out").value = $("threshold").value;
  document.body.classList.toggle("remote", $("backend").value === "remote");
  $("threshold").disabled = $("revisions").disabled = !$("reflect").checked;
}
for (const id of settingIDs) $(id).addEventListener("input", syncSettings);
$("dice").addEventListener("click", () => ($("seed").value = Math.floor(Math.random() * 1e6)));

function readSettings() {
  const num = (id, lo, hi) => Math.max(lo, Math.min(hi, Math.trunc(+$(id).value || 0)));
  return {
    bands: num("bands", 0, 16),
    threshold: num("threshold", 0, 100),
    max_revisions: num("revisions", 0, 8),
    seed: Math.trunc(+$("seed").value || 0),
    think: $("think").checked,
    reflect: $("reflect").checked,
  };
}

// ------------------------------------------------------------------ prompt: hints and parser errors

const input = $("prompt");
const hints = $("hints");
let vocab = [];
let hintIndex = -1;
client.vocabulary().then((v) => (vocab = demo.vocabulary = v));

// currentWord returns the word being typed at the caret: [start, end, text].
function currentWord() {
  const v = input.value;
  const caret = input.selectionStart ?? v.length;
  let s = caret;
  while (s > 0 && !/[\s,;]/.test(v[s - 1])) s--;
  let e = caret;
  while (e < v.length && !/[\s,;]/.test(v[e])) e++;
  return [s, e, v.slice(s, caret).toLowerCase()];
}

function showHints() {
  const [, , w] = currentWord();
  const seen = new Set();
  const list = !w
    ? []
    : vocab.filter((e) => e.word.startsWith(w) && e.word !== w && !seen.has(e.word) && seen.add(e.word)).slice(0, 8);
  hints.textContent = "";
  hintIndex = -1;
  list.forEach((e, i) => {
    const li = document.createElement("li");
    li.id = `hint-${i}`;
    li.setAttribute("role", "option");
    li.setAttribute("aria-selected", "false");
    li.dataset.word = e.word;
    li.innerHTML = `<span>${escapeHTML(e.word)}</span><small>${escapeHTML(e.kind)}${e.meaning && e.meaning !== e.word ? ": " + escapeHTML(e.meaning) : ""}</small>`;
    li.addEventListener("mousedown", (ev) => {
      ev.preventDefault();
      takeHint(e.word);
    });
    hints.append(li);
  });
  hints.hidden = list.length === 0;
  input.setAttribute("aria-expanded", String(list.length > 0));
  input.removeAttribute("aria-activedescendant");
}

function moveHint(d) {
  const items = hints.children;
  if (!items.length) return;
  if (hintIndex >= 0) items[hintIndex].setAttribute("aria-selected", "false");
  hintIndex = (hintIndex + d + items.length) % items.length;
  items[hintIndex].setAttribute("aria-selected", "true");
  items[hintIndex].scrollIntoView({ block: "nearest" });
  input.setAttribute("aria-activedescendant", items[hintIndex].id);
}

function closeHints() {
  hints.hidden = true;
  hintIndex = -1;
  input.setAttribute("aria-expanded", "false");
  input.removeAttribute("aria-activedescendant");
}

function takeHint(word) {
  const [s, e] = currentWord();
  const rest = input.value.slice(e);
  replaceRange(s, e + (rest.startsWith(" ") ? 1 : 0), word + " ");
  closeHints();
}

function replaceRange(s, e, text) {
  const v = input.value;
  input.value = v.slice(0, s) + text + v.slice(e);
  const caret = s + text.length;
  input.setSelectionRange(caret, caret);
  input.focus();
  checkPrompt();
}

input.addEventListener("input", () => {
  showHints();
  checkSoon();
});
input.addEventListener("blur", () => setTimeout(closeHints, 100));
input.addEventListener("keydown", (e) => {
  const open = !hints.hidden;
  if (e.key === "ArrowDown" && open) return e.preventDefault(), moveHint(1);
  if (e.key === "ArrowUp" && open) return e.preventDefault(), moveHint(-1);
  if (e.key === "Escape" && open) return e.preventDefault(), closeHints();
  if ((e.key === "Enter" || e.key === "Tab") && open && (hintIndex >= 0 || e.key === "Tab")) {
    e.preventDefault();
    takeHint(hints.children[Math.max(hintIndex, 0)].dataset.word);
  }
});

let checkTimer = 0;
function checkSoon() {
  clearTimeout(checkTimer);
  checkTimer = setTimeout(checkPrompt, 300);
}

// checkPrompt parses the prompt and shows the parser's error, if any; it
// resolves to true when the prompt is good.
async function checkPrompt() {
  const text = input.value;
  if (!text.trim()) return showParseError(null), false;
  const r = await client.parse(text);
  if (input.value !== text) return false; // typed on meanwhile
  showParseError(r.ok ? null : r.error, text);
  return r.ok;
}

function showParseError(err, text) {
  const box = $("perror");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    input.removeAttribute("aria-invalid");
    return;
  }
  input.setAttribute("aria-invalid", "true");
  let where = "";
  if (err.pos >= 0 && text !== undefined) {
    const w = err.word || "";
    where = `<p class="where">${escapeHTML(text.slice(0, err.pos))}<mark>${escapeHTML(w || " ")}</mark>${escapeHTML(text.slice(err.pos + w.length))}</p>`;
  }
  const what = err.word ? `twig does not know <strong>“${escapeHTML(err.word)}”</strong>: ` : "";
  box.innerHTML = `${where}<p>${what}${escapeHTML(err.reason)}.</p>`;
  if (err.suggestions && err.suggestions.length) {
    const p = document.createElement("p");
    p.textContent = "Did you mean";
    for (const s of err.suggestions) {
      const b = document.createElement("button");
      b.type = "button";
      b.textContent = s;
      b.setAttribute("aria-label", `Use “${s}” instead of “${err.word}”`);
      b.addEventListener("click", () => replaceRange(err.pos, err.pos + err.word.length, s));
      p.append(b);
    }
    p.append("?");
    box.append(p);
  }
  box.hidden = false;
}

// ------------------------------------------------------------------ the canvas and the bands

const view = new twig.CanvasView($("canvas"), client);
const mark = $("bandmark");
const cards = new Map(); // band → {li, thought, human, critique, redraws}

function showBand(rows, redraw, label) {
  if (!rows || rows.end < 0) return void (mark.style.display = "none");
  mark.style.display = "block";
  mark.style.top = (rows.start / 16) * 100 + "%";
  mark.style.height = ((rows.end - rows.start) / 16) * 100 + "%";
  mark.classList.toggle("redraw", !!redraw);
  mark.dataset.label = label || "";
}

function card(i) {
  if (cards.has(i)) return cards.get(i);
  const li = document.createElement("li");
  li.className = "band";
  li.dataset.band = i;
  li.innerHTML = `<h3>Band ${i + 1} <span class="rows"></span><span class="state"></span></h3>
    <p class="thought pending" aria-live="polite">thinking…</p><p class="human"></p><div class="critiques"></div><div class="redraws"></div>`;
  $("bandlist").append(li);
  const c = { li, rows: li.querySelector(".rows"), state: li.querySelector(".state"), thought: li.querySelector(".thought"),
    human: li.querySelector(".human"), critiques: li.querySelector(".critiques"), redraws: li.querySelector(".redraws"), shown: {} };
  cards.set(i, c);
  return c;
}

const stateWords = { thinking: "thinking", drawing: "drawing", drawn: "drawn", redrawing: "redrawing", done: "done", waiting: "waiting" };

// renderBand brings band b's card up to date with the state.
function renderBand(st, b) {
  const c = card(b.index);
  if (b.rows) c.rows.textContent = `rows ${b.rows.start}–${b.rows.end < 0 ? "…" : b.rows.end - 1}`;
  c.li.dataset.status = b.status;
  c.state.textContent = stateWords[b.status] + (b.round ? ` · redraw ${b.round}` : "");
  const thinking = st.started && st.started.settings.think;
  if (b.thought) {
    if (c.thought.textContent !== b.thought) c.thought.textContent = b.thought;
    c.thought.classList.remove("pending");
    if (!c.shown.thought) {
      c.shown.thought = true;
      note("thought", { band: b.index });
    }
  } else {
    c.thought.textContent = thinking ? "thinking…" : "(no thought: thinking is off)";
    c.thought.classList.add("pending");
  }
  c.human.textContent = b.thoughtDone && b.humanFor === b.thought ? b.human : "";
  if (c.critiques.childElementCount !== b.critiques.length) {
    c.critiques.textContent = "";
    for (const k of b.critiques) {
      const p = document.createElement("p");
      p.className = "critique" + (k.verdict === "redraw" ? " redraw" : "");
      const why = { above_threshold: "passes", unparsed: "the critic's answer could not be read: passes",
        below_threshold: `below ${st.started.settings.threshold}: <strong>redraw</strong>`,
        max_revisions: "below the threshold, no redraw left", revision_budget: "below the threshold, redraw budget spent" }[k.reason] || k.reason;
      p.innerHTML = `${k.round ? `Redraw ${k.round}` : "Drawing"} scored <strong>${k.parsed ? k.score : "?"}</strong>/100` +
        `<span class="meter" aria-hidden="true"><span style="width:${k.parsed ? k.score : 0}%"></span></span>${why}`;
      c.critiques.append(p);
    }
  }
  if (c.redraws.childElementCount !== b.redraws.length || b.redraws.some((r, i) => r.after && !c.shown["after" + i])) {
    c.redraws.textContent = "";
    b.redraws.forEach((r, i) => {
      const box = document.createElement("div");
      box.className = "redraw-view";
      box.setAttribute("role", "group");
      box.setAttribute("aria-label", `Band ${b.index + 1}, redraw ${r.round}: before and after`);
      const fig = (tokens, caption) => {
        const f = document.createElement("figure");
        const cv = view.bandImage(tokens, r.rows);
        cv.setAttribute("role", "img");
        cv.setAttribute("aria-label", `${caption}: band ${b.index + 1}`);
        f.append(cv, Object.assign(document.createElement("figcaption"), { textContent: caption }));
        return f;
      };
      box.append(fig(r.before, "before"), Object.assign(document.createElement("span"), { className: "arrow", textContent: "→" }));
      if (r.after) {
        box.append(fig(r.after, "after"));
        c.shown["after" + i] = true;
      } else box.append(Object.assign(document.createElement("span"), { textContent: "redrawing…" }));
      const was = document.createElement("p");
      was.className = "was";
      was.innerHTML = `Thought was <s>${escapeHTML(r.oldThought || "(none)")}</s>`;
      box.append(was);
      c.redraws.append(box);
      if (!c.shown["redraw" + i]) {
        c.shown["redraw" + i] = true;
        note("redraw", { band: b.index, round: r.round });
      }
    });
  }
}

// render shows the whole state (the replay uses it; a live run updates in place).
let shown = null; // the state the cards show
function render(st) {
  shown = st;
  view.setTokens(st.tokens);
  const live = new Set(st.bands.map((b) => b && b.index));
  for (const [i, c] of cards) if (!live.has(i)) (c.li.remove(), cards.delete(i));
  st.bands.forEach((b) => b && renderBand(st, b));
  const cur = st.current >= 0 ? st.bands[st.current] : null;
  showBand(cur && cur.rows, cur && cur.round > 0, cur ? `band ${cur.index + 1}${cur.round ? " · redraw" : ""}` : "");
}

function resetView() {
  for (const [, c] of cards) c.li.remove();
  cards.clear();
  showBand(null);
  $("stats").textContent = "";
}

function say(text, error) {
  $("status").textContent = text;
  $("status").classList.toggle("error", !!error);
}

// ------------------------------------------------------------------ running

async function start() {
  closeHints();
  if (demo.run && !demo.run.ended) demo.run.cancel();
  if (!(await checkPrompt())) {
    input.focus();
    say("Fix the prompt first: see the message under it.", true);
    return;
  }
  const settings = readSettings();
  const backend = $("backend").value;
  const run = client.draw(input.value, { settings, backend, gateway: $("gateway").value || undefined });
  demo.run = run;
  demo.events = run.events;
  demo.log = [];
  const st = (demo.state = shown = new twig.RunState());
  resetView();
  view.setTokens(st.tokens);
  setRunning(true);
  say(client.status.phase === "ready" || backend === "remote" ? "Starting…" : "Loading twig…");
  note("start");
  let firstThought = null;
  for await (const ev of run) {
    if (demo.run !== run) return;
    st.apply(ev);
    const b = ev.band !== undefined ? st.band(ev.band) : null;
    switch (ev.type) {
      case "run_started":
        say(`Drawing on ${ev.backend || backend}…`);
        $("canvas").setAttribute("aria-label", `The canvas: twig is drawing “${ev.prompt}”`);
        break;
      case "band_started":
        showBand(ev.rows, false, `band ${ev.band + 1}`);
        renderBand(st, b);
        say(`Band ${ev.band + 1}: thinking…`);
        break;
      case "thought_delta":
        firstThought ??= ev.t_ms;
        renderBand(st, b);
        break;
      case "thought_done":
        renderBand(st, b);
        humanize(st, b);
        break;
      case "band_progress":
        view.update(st.tokens);
        note("row", { band: ev.band, row: ev.row, round: ev.round });
        if (b.rowsDrawn === 1) renderBand(st, b);
        say(`Band ${ev.band + 1}: drawing row ${ev.row + 1}${ev.round ? ` (redraw ${ev.round})` : ""}`);
        break;
      case "band_done":
      case "critique":
        renderBand(st, b);
        if (ev.type === "critique") note("critique", { band: ev.band, score: ev.score, verdict: ev.verdict });
        break;
      case "band_redrawn":
        view.update(st.tokens);
        showBand(ev.rows, true, `band ${ev.band + 1} · redraw`);
        renderBand(st, b);
        humanize(st, b);
        say(`Band ${ev.band + 1}: the critic asked for a redraw`);
        break;
      case "run_done":
        render(st);
        note("done");
        say(`Done in ${(ev.t_ms / 1000).toFixed(2)} s: ${ev.stats.bands} bands, ${ev.stats.revisions} redraw${ev.stats.revisions === 1 ? "" : "s"}.`);
        $("canvas").setAttribute("aria-label", `twig's drawing of “${run.prompt}”. ${ev.thoughts.filter(Boolean).join(". ")}`);
        showStats(ev, firstThought, run);
        break;
      case "error":
        render(st);
        note("error", { code: ev.code });
        if (ev.parse_error) showParseError(ev.parse_error, run.prompt);
        say(ev.code === "canceled" ? "Cancelled." : `Failed: ${ev.message}`, ev.code !== "canceled");
        break;
    }
  }
  setRunning(false);
  setupReplay(run);
}

// humanize adds the thought in plain English under it (world.Humanize).
function humanize(st, b) {
  const thought = b.thought;
  client.humanize(thought).then((h) => {
    if (b.thought !== thought) return;
    b.human = h;
    b.humanFor = thought;
    if (shown === st) renderBand(st, b);
  });
}

function setRunning(on) {
  $("cancel").disabled = !on;
  $("draw").textContent = on ? "Restart" : "Draw";
  for (const id of ["play", "timeline", "dl-png", "dl-gif", "dl-trace"]) $(id).disabled = on;
}

function showStats(done, firstThought, run) {
  const s = done.stats;
  const rows = [
    ["backend", run.events[0].backend || ""],
    ["first thought", firstThought == null ? "—" : `${firstThought} ms`],
    ["finished", `${done.t_ms} ms`],
    ["thought tokens", s.thought_tokens],
    ["image tokens", s.image_tokens],
    ["critiques", `${s.critiques} (${s.unparsed} unreadable)`],
    ["redraws", s.revisions],
  ];
  const dl = $("stats");
  dl.textContent = "";
  for (const [k, v] of rows) dl.append(Object.assign(document.createElement("dt"), { textContent: k }), Object.assign(document.createElement("dd"), { textContent: v }));
}

$("form").addEventListener("submit", (e) => {
  e.preventDefault();
  start();
});
$("cancel").addEventListener("click", () => demo.run && demo.run.cancel());

// ------------------------------------------------------------------ replay

let playTimer = 0;
function setupReplay(run) {
  const tl = $("timeline");
  tl.max = run.events.length;
  tl.value = run.events.length;
  showReplay(run, run.events.length, false);
}

function describe(ev) {
  if (!ev) return "start";
  const band = ev.band !== undefined ? ` band ${ev.band + 1}` : "";
  const extra = ev.type === "band_progress" ? ` row ${ev.row + 1}` : ev.type === "critique" ? ` score ${ev.score} (${ev.verdict})` : "";
  return `${ev.type.replace(/_/g, " ")}${band}${extra}`;
}

function showReplay(run, n, rerender = true) {
  const st = twig.RunState.from(run.events, n);
  if (rerender) {
    render(st);
    st.bands.forEach((b) => b && b.thoughtDone && humanize(st, b));
  }
  const ev = run.events[n - 1];
  $("tlabel").value = `event ${n} of ${run.events.length}: ${describe(ev)}${ev ? ` at ${ev.t_ms} ms` : ""}`;
}

$("timeline").addEventListener("input", () => {
  stopPlay();
  showReplay(demo.run, +$("timeline").value);
});

function stopPlay() {
  clearInterval(playTimer);
  playTimer = 0;
  $("play").textContent = "▶ Play";
  $("play").setAttribute("aria-label", "Play the run from the start");
}

$("play").addEventListener("click", () => {
  if (playTimer) return stopPlay();
  const run = demo.run;
  const tl = $("timeline");
  if (+tl.value >= run.events.length) tl.value = 0;
  $("play").textContent = "❚❚ Pause";
  $("play").setAttribute("aria-label", "Pause the replay");
  playTimer = setInterval(() => {
    tl.value = +tl.value + 1;
    showReplay(run, +tl.value);
    if (+tl.value >= run.events.length) stopPlay();
  }, 60);
});

// ------------------------------------------------------------------ downloads

function save(blob, name) {
  const a = document.createElement("a");
  a.href = URL.createObjectURL(blob);
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 10000);
}
const base = () => `twig-${(demo.run && demo.run.id) || "run"}`;
$("dl-png").addEventListener("click", async () => {
  const st = twig.RunState.from(demo.run.events, +$("timeline").value || demo.run.events.length);
  save(await client.png(st.tokens), `${base()}.png`);
});
$("dl-gif").addEventListener("click", async () => {
  try {
    save(await client.gif(demo.run), `${base()}.gif`);
  } catch (e) {
    say(`No GIF: ${e.message}`, true);
  }
});
$("dl-trace").addEventListener("click", () => save(twig.trace(demo.run), `${base()}.jsonl`));

// ------------------------------------------------------------------ start

checkPrompt();
if (new URLSearchParams(location.search).has("autostart")) start();
