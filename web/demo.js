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

// showEngine says in plain words where twig runs; the numbers are one click away.
function showEngine(w, gpu) {
  const mb = (w.bytes / 1e6).toFixed(1);
  const params = /([\d.]+)M params/.exec(w.model);
  const size = params ? `${params[1]} million numbers, ${mb} MB` : `${mb} MB`;
  const onGPU = gpu && gpu.available && gpu.auto === "webgpu";
  const where = !gpu ? "on this computer's processor (checking the graphics card…)"
    : onGPU ? "on this computer's graphics card (WebGPU)" : "on this computer's processor";
  const details = [`model: ${w.model}`, `weights: ${mb} MB${w.from_cache ? ", from the browser's cache" : ", downloaded"}`];
  if (gpu && gpu.available) {
    details.push(`WebGPU: ${gpu.name}; ${gpu.check.agree ? "agrees with" : "disagrees with"} the CPU (largest difference ${gpu.check.logits_max_abs_diff.toExponential(1)})`);
    details.push(`auto uses ${onGPU ? "WebGPU" : "the CPU"}: ${gpu.why}`);
  } else if (gpu) details.push(`no WebGPU: ${gpu.reason}`);
  $("engine").innerHTML = `twig's own small model (${escapeHTML(size)}) draws <strong>${where}</strong>, inside this page.` +
    ` <details class="engine-details"><summary>Details</summary><ul>${details.map((d) => `<li>${escapeHTML(d)}</li>`).join("")}</ul></details>`;
  const opt = $("backend").querySelector('option[value="webgpu"]');
  opt.disabled = !gpu || !gpu.available;
  opt.textContent = !gpu ? "WebGPU (checking…)" : gpu.available ? `WebGPU — ${gpu.name}` : "WebGPU (not available here)";
  $("backend").querySelector('option[value="auto"]').textContent = `auto (now: ${onGPU ? "WebGPU" : "CPU"})`;
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

// atStart says whether the text before position s holds only lead-in words
// ("please draw me a picture of"): only there are lead-ins worth offering.
function atStart(s) {
  const lead = new Set(vocab.filter((e) => e.kind === "lead-in").flatMap((e) => e.word.split(" ")));
  return input.value.slice(0, s).toLowerCase().split(/[\s,;]+/).filter(Boolean).every((w) => lead.has(w));
}

function showHints() {
  const [s, , w] = currentWord();
  const seen = new Set();
  const start = atStart(s);
  const list = !w
    ? []
    : vocab.filter((e) => e.word.startsWith(w) && e.word !== w && (start || e.kind !== "lead-in") && !seen.has(e.word) && seen.add(e.word)).slice(0, 8);
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
  // A remote run's prompt is free text: the gateway's model checks it if it
  // needs the world's words (twig.js does not check it either).
  if ($("backend").value === "remote") return showParseError(null), true;
  const r = await client.parse(text);
  if (input.value !== text) return false; // typed on meanwhile
  showParseError(r.ok ? null : r.error, text);
  return r.ok;
}

// showParseError shows, next to the prompt, every word twig does not know
// (marked in the prompt), what would work instead, and suggestions.
function showParseError(err, text) {
  const box = $("perror");
  if (!err) {
    box.hidden = true;
    box.textContent = "";
    input.removeAttribute("aria-invalid");
    return;
  }
  input.setAttribute("aria-invalid", "true");
  const errs = [err, ...(err.more || [])];
  box.textContent = "";
  const located = errs.filter((e) => e.pos >= 0 && e.word !== undefined);
  if (text !== undefined && located.length) {
    // the prompt with every bad word marked
    const where = document.createElement("p");
    where.className = "where";
    let at = 0;
    for (const e of [...located].sort((a, b) => a.pos - b.pos)) {
      if (e.pos < at) continue;
      where.append(text.slice(at, e.pos), Object.assign(document.createElement("mark"), { textContent: e.word || " " }));
      at = e.pos + (e.word || "").length;
    }
    where.append(text.slice(at));
    box.append(where);
  }
  const unknown = errs.filter((e) => e.word);
  if (unknown.length > 1) {
    box.append(Object.assign(document.createElement("p"), { className: "count",
      textContent: `${unknown.length} words twig cannot draw:` }));
  }
  const list = document.createElement("ul");
  for (const e of errs) {
    const li = document.createElement("li");
    if (e.word) li.append(Object.assign(document.createElement("strong"), { textContent: `“${e.word}”` }), ": ");
    li.append(sentence(e.reason === "unknown word" ? "not a word twig knows" : e.reason));
    if (e.hint) li.append(" ", Object.assign(document.createElement("span"), { className: "works", textContent: `What works here: ${e.hint}.` }));
    if (e.suggestions && e.suggestions.length) {
      const p = document.createElement("span");
      p.className = "did-you-mean";
      p.append(" Did you mean");
      for (const sug of e.suggestions) {
        const b = document.createElement("button");
        b.type = "button";
        b.textContent = sug;
        b.setAttribute("aria-label", `Use “${sug}” instead of “${e.word}”`);
        b.addEventListener("click", () => replaceRange(e.pos, e.pos + e.word.length, sug));
        p.append(b);
      }
      p.append("?");
      li.append(p);
    }
    list.append(li);
  }
  box.append(list);
  box.hidden = false;
}

// sentence capitalises and ends a reason: "pink is not…" → "Pink is not….".
function sentence(s) {
  s = String(s || "").trim();
  return s ? s[0].toUpperCase() + s.slice(1) + (/[.?!)]$/.test(s) ? "" : ".") : "";
}

// ------------------------------------------------------------------ the canvas and the bands

const view = (demo.view = new twig.CanvasView($("canvas")));
const mark = $("bandmark");
const cards = new Map(); // band → the card's elements

// showBand marks view rows (RunState.view) on the canvas.
function showBand(rows, redraw, label) {
  if (!rows || rows.end < 0) return void (mark.style.display = "none");
  const f = shown.fraction(rows);
  mark.style.display = "block";
  mark.style.top = f.top * 100 + "%";
  mark.style.height = f.height * 100 + "%";
  mark.classList.toggle("redraw", !!redraw);
  mark.dataset.label = label || "";
}

function card(i) {
  if (cards.has(i)) return cards.get(i);
  const li = document.createElement("li");
  li.className = "band";
  li.dataset.band = i;
  li.innerHTML = `<h3>Band ${i + 1} <span class="rows"></span><span class="short" hidden>fell short</span><span class="state"></span></h3>
    <div class="plans"></div>
    <p class="human" aria-live="polite"></p><p class="thought pending"></p><div class="critiques"></div><div class="redraws"></div>`;
  // keep the cards in band order, whatever order they are made in
  const after = [...cards.keys()].filter((k) => k < i).sort((a, b) => b - a)[0];
  if (after === undefined) $("bandlist").prepend(li);
  else cards.get(after).li.after(li);
  const c = { li, rows: li.querySelector(".rows"), state: li.querySelector(".state"), short: li.querySelector(".short"),
    plans: li.querySelector(".plans"), thought: li.querySelector(".thought"), human: li.querySelector(".human"),
    critiques: li.querySelector(".critiques"), redraws: li.querySelector(".redraws"), shown: {} };
  cards.set(i, c);
  return c;
}

const stateWords = { thinking: "thinking", rethinking: "rethinking", drawing: "drawing", drawn: "drawn", redrawing: "redrawing", done: "done", waiting: "waiting" };

// english returns the plain English of a thought once the engine has it ("" until then).
function english(st, thought) {
  const prompt = st.started ? st.started.prompt : "";
  const key = prompt + "\n" + thought;
  if (englishOf.has(key)) return englishOf.get(key);
  if (!pendingEnglish.has(key)) {
    pendingEnglish.add(key);
    client.humanize(thought, prompt).then((h) => {
      englishOf.set(key, h);
      if (shown === st) st.bands.forEach((b) => b && renderBand(st, b));
      if (shown === st) liveCaption(st);
    });
  }
  return "";
}
const englishOf = new Map();
const pendingEnglish = new Set();

// renderBand brings band b's card up to date with the state.
function renderBand(st, b) {
  const c = card(b.index);
  if (b.rows) c.rows.textContent = twig.rowsText(b.rows);
  c.li.dataset.status = b.status;
  c.state.textContent = stateWords[b.status] + (b.round ? ` · redraw ${b.round}` : "");
  const thinking = st.started && st.started.settings.think;
  // Plans the model rejected, each with its reason, before the plan it kept.
  // (A rejected plan the band keeps anyway — its last allowed attempt, final — is shown as the kept plan.)
  const rejected = b.plans.filter((p) => p.review && !p.review.accepted && !p.review.final);
  if (c.plans.childElementCount !== rejected.length || rejected.some((p, i) => !c.shown["plan" + i])) {
    c.plans.textContent = "";
    rejected.forEach((p, i) => {
      const d = document.createElement("div");
      d.className = "plan rejected";
      const h = english(st, p.thought);
      d.innerHTML = `<p class="verdict">Plan ${i + 1} <strong>rejected by the model</strong>${p.review.reason ? `: ${escapeHTML(p.review.reason)}` : ""}${escapeHTML(sure(p.review))}</p>` +
        (h ? `<p class="human">${escapeHTML(h)}</p>` : "") + `<p class="thought words">${escapeHTML(p.thought)}</p>`;
      c.plans.append(d);
      if (h) c.shown["plan" + i] = true;
      if (!c.shown["rejected" + i]) {
        c.shown["rejected" + i] = true;
        note("rethink", { band: b.index, attempt: p.attempt });
      }
    });
  }
  const kept = b.plans.at(-1);
  const accepted = kept && kept.review && kept.review.accepted ? kept.review : null;

  if (b.thought) {
    if (c.thought.textContent !== b.thought) c.thought.textContent = b.thought;
    c.thought.classList.remove("pending");
    c.thought.classList.toggle("final", b.thoughtDone);
    if (!c.shown.thought) {
      c.shown.thought = true;
      note("thought", { band: b.index });
    }
  } else {
    c.thought.textContent = thinking ? (rejected.length ? "rethinking…" : "thinking…") : "(no thought: thinking is off)";
    c.thought.classList.add("pending");
    c.thought.classList.remove("final");
  }
  const h = b.thoughtDone ? english(st, b.thought) : "";
  const doubted = kept && kept.review && !kept.review.accepted && kept.review.final ? kept.review : null;
  const review = accepted ? ` The model checked this plan: it fits${sure(accepted)}.`
    : doubted ? ` The model doubted this plan (${doubted.reason || "no reason given"}) but had no rethinks left, so it draws it.` : "";
  const hText = h ? `${h}.${review}` : "";
  if (c.human.textContent !== hText) c.human.textContent = hText;
  c.human.hidden = !h;
  if (c.critiques.childElementCount !== b.critiques.length) {
    c.critiques.textContent = "";
    for (const k of b.critiques) {
      const p = document.createElement("p");
      p.className = "critique" + (k.verdict === "redraw" ? " redraw" : "") + (k.reason === "max_revisions" || k.reason === "revision_budget" ? " short" : "");
      const th = st.started.settings.threshold;
      const why = { above_threshold: `at least ${th}: passes`, unparsed: "the model's score could not be read: passes",
        below_threshold: `below ${th}: <strong>redraw</strong>`,
        max_revisions: `<strong>below ${th}, and no redraw left: this band fell short</strong>`,
        revision_budget: `<strong>below ${th}, and the run's redraws are spent: this band fell short</strong>` }[k.reason] || escapeHTML(k.reason);
      p.innerHTML = `${k.round ? `Redraw ${k.round}` : "The drawing"} scored <strong>${k.parsed ? k.score : "?"}</strong>/100` +
        `<span class="meter" aria-hidden="true"><span style="width:${k.parsed ? k.score : 0}%"></span></span>${why}`;
      c.critiques.append(p);
    }
  }
  c.short.hidden = !b.critiques.length || !/max_revisions|revision_budget/.test(b.critiques.at(-1).reason);
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
      if (r.changed) {
        const oldH = english(st, r.oldThought || ""), newH = english(st, r.thought || "");
        was.innerHTML = `The model revised its thought. Was: <s>${escapeHTML(oldH || r.oldThought || "(none)")}</s>` +
          ` Now: <span class="now">${escapeHTML(newH || r.thought)}</span>`;
      } else {
        was.textContent = "Same thought, drawn again.";
      }
      box.append(was);
      c.redraws.append(box);
      if (!c.shown["redraw" + i]) {
        c.shown["redraw" + i] = true;
        note("redraw", { band: b.index, round: r.round });
      }
    });
  }
}

// liveCaption puts what the model is thinking over the canvas (shown on
// narrow screens, where the cards are below the picture).
function liveCaption(st) {
  const cap = $("livecap");
  const b = st.current >= 0 ? st.bands[st.current] : null;
  if (!b) return void (cap.textContent = "");
  const last = b.plans.at(-1);
  let text;
  if (last && last.review && !last.review.accepted && !last.review.final) text = `Band ${b.index + 1}: plan rejected${last.review.reason ? ` (${last.review.reason})` : ""}; rethinking…`;
  else if (b.thoughtDone) text = `Band ${b.index + 1}: ${english(st, b.thought) || b.thought}`;
  else text = `Band ${b.index + 1} thinking: ${b.thought || "…"}`;
  const k = b.critiques.at(-1);
  if (k && b.status !== "drawing") text += ` · scored ${k.parsed ? k.score : "?"}${k.verdict === "redraw" ? ", redrawing" : ""}`;
  cap.textContent = text;
}

// render shows the whole state (the replay uses it; a live run updates in
// place, and at its end keeps the picture it has drawn: rebuild false).
let shown = new twig.RunState(); // the state the cards show
function render(st, rebuild = true) {
  shown = st;
  if (rebuild) view.show(st);
  else view.setTokens(st.tokens);
  const live = new Set(st.bands.map((b) => b && b.index));
  for (const [i, c] of cards) if (!live.has(i)) (c.li.remove(), cards.delete(i));
  st.bands.forEach((b) => b && renderBand(st, b));
  const cur = st.current >= 0 ? st.bands[st.current] : null;
  showBand(cur && cur.rows, cur && cur.round > 0, cur ? `band ${cur.index + 1}${cur.round ? " · redraw" : ""}` : "");
  liveCaption(st);
}

function resetView() {
  for (const [, c] of cards) c.li.remove();
  cards.clear();
  showBand(null);
  $("stats").textContent = "";
  $("livecap").textContent = "";
  $("stage").classList.remove("stale");
}

function say(text, kind) {
  $("status").textContent = text;
  $("status").classList.toggle("error", kind === true || kind === "error");
  $("status").classList.toggle("warn", kind === "warn");
}

// doneText says how a run ended, and says so when a band fell short of the threshold.
function doneText(st) {
  const ev = st.done;
  const base = `Done in ${(ev.t_ms / 1000).toFixed(2)} s: ${ev.stats.bands} bands, ${ev.stats.revisions} redraw${ev.stats.revisions === 1 ? "" : "s"}.`;
  const short = st.shortfalls();
  if (!short.length) return [base, ""];
  const which = short.map((s) => `band ${s.band + 1} (${s.score})`).join(", ");
  return [`${base} Fell short: ${which} stayed below ${short[0].threshold}.`, "warn"];
}

// ------------------------------------------------------------------ running

async function start() {
  closeHints();
  if (demo.run && !demo.run.ended) demo.run.cancel();
  stopPlay();
  if (!(await checkPrompt())) {
    // A prompt that cannot be drawn: the old picture and thoughts go, so
    // nobody takes them for an answer to this prompt.
    demo.run = null;
    resetView();
    view.show(new twig.RunState());
    setReplay(null);
    for (const id of ["play", "timeline", "dl-png", "dl-gif", "dl-trace"]) $(id).disabled = true;
    input.focus();
    const n = $("perror").querySelectorAll("li").length || 1;
    say(n > 1 ? `Nothing drawn: ${n} problems with the prompt, listed under it.` : "Nothing drawn: the problem with the prompt is shown under it.", true);
    return;
  }
  const settings = readSettings();
  const backend = $("backend").value;
  const run = client.draw(input.value, { settings, backend, gateway: $("gateway").value || undefined });
  await play(run, backend);
}

// play shows a run as its events come: a live run, or a trace being replayed
// at its own pace (openTrace).
async function play(run, backend) {
  demo.run = run;
  demo.events = run.events;
  demo.log = [];
  const st = (demo.state = shown = new twig.RunState());
  resetView();
  view.show(st);
  setRunning(true);
  setReplay(null);
  say(backend === "trace" ? "Playing the trace…" : client.status.phase === "ready" || backend === "remote" ? "Starting…" : "Loading twig…");
  note("start");
  // On a phone the cards are below the picture: bring the picture (with the
  // thought over it) into view while the run goes on.
  if (matchMedia("(max-width: 720px)").matches) $("stage").scrollIntoView({ block: "start" });
  let firstThought = null;
  for await (const ev of run) {
    if (demo.run !== run) return;
    st.apply(ev);
    if (st.lastRefused) continue; // a malformed event changes nothing (st.refused says why)
    view.event(ev);
    const b = ev.band !== undefined ? st.band(ev.band) : null;
    switch (ev.type) {
      case "run_started":
        say(backend === "trace" ? "Playing the trace…" : ev.backend === "remote" || backend === "remote" ? "Drawing on the server…" : "Drawing…");
        $("canvas").setAttribute("aria-label", `The canvas: twig is drawing “${ev.prompt}”`);
        break;
      case "band_started":
        showBand(b.rows, false, `band ${ev.band + 1}`);
        renderBand(st, b);
        say(`Band ${ev.band + 1} (${twig.rowsText(b.rows)}): thinking…`);
        break;
      case "thought_delta":
        firstThought ??= ev.t_ms;
        renderBand(st, b);
        note("delta", { band: ev.band, attempt: ev.attempt || 0 });
        break;
      case "thought_done":
        renderBand(st, b);
        if (b.rows) showBand(b.rows, false, `band ${ev.band + 1}`);
        break;
      case "plan_review":
        renderBand(st, b);
        note("review", { band: ev.band, attempt: ev.attempt, accepted: ev.accepted });
        say(ev.accepted ? `Band ${ev.band + 1}: the model checked its plan` : `Band ${ev.band + 1}: the model rejected its plan and is rethinking…`);
        break;
      case "band_progress":
        view.update(st.tokens);
        note("row", { band: ev.band, row: st.lastStrip.start, rows: st.lastStrip, round: ev.round });
        if (b.rowsDrawn === 1) renderBand(st, b);
        say(`Band ${ev.band + 1}: drawing ${twig.rowsText(st.lastStrip)}${b.rows && b.rows.end - b.rows.start > 1 ? ` of ${twig.rowsText(b.rows)}` : ""}${ev.round ? ` (redraw ${ev.round})` : ""}`);
        break;
      case "band_done":
      case "critique":
        renderBand(st, b);
        if (ev.type === "critique") {
          note("critique", { band: ev.band, score: ev.score, verdict: ev.verdict });
          say(`Band ${ev.band + 1} scored ${ev.parsed ? ev.score : "?"}${ev.verdict === "redraw" ? ": redrawing it" : ""}`);
        }
        break;
      case "band_redrawn":
        view.update(st.tokens);
        showBand(st.view(ev.rows), true, `band ${ev.band + 1} · redraw`);
        renderBand(st, b);
        say(`Band ${ev.band + 1}: the model asked for a redraw`);
        break;
      case "run_done": {
        render(st, false);
        note("done");
        const [text, kind] = doneText(st);
        say(text, kind);
        $("canvas").setAttribute("aria-label", `twig's drawing of “${run.prompt}”. ${ev.thoughts.filter(Boolean).join(". ")}`);
        showStats(ev, firstThought, run);
        break;
      }
      case "error":
        render(st);
        note("error", { code: ev.code });
        if (ev.parse_error) showParseError(ev.parse_error, run.prompt);
        if (ev.code !== "canceled") $("stage").classList.add("stale"); // what is shown is not a finished answer
        say(ev.code === "canceled" ? "Cancelled." : `Failed: ${ev.message}`, ev.code !== "canceled");
        break;
    }
    liveCaption(st);
  }
  setRunning(false);
  setReplay(run);
}

function setRunning(on) {
  $("cancel").disabled = !on;
  $("draw").textContent = on ? "Restart" : "Draw";
  document.body.classList.toggle("running", on);
  for (const id of ["play", "timeline", "dl-png", "dl-gif", "dl-trace", "open-trace"]) $(id).disabled = on;
}

function showStats(done, firstThought, run) {
  const s = done.stats;
  const rows = [
    ["backend", run.events[0].backend || ""],
    ["first thought", firstThought == null ? "—" : `${firstThought} ms`],
    ["finished", `${done.t_ms} ms`],
    ["thought tokens", s.thought_tokens],
    s.pixel_rows && !s.image_tokens ? ["pixel rows painted", s.pixel_rows] : ["image tokens", s.image_tokens],
    ["plans reviewed", s.plan_reviews ? `${s.plan_reviews} (${s.plan_rejections || 0} rejected and rethought)` : "—"],
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
$("words").addEventListener("change", () => document.body.classList.toggle("show-words", $("words").checked));

// ------------------------------------------------------------------ replay

let playTimer = 0;
let finalStatus = null; // [text, kind] of the status when the run ended

// setReplay points the timeline at a finished run (null: none yet, or a run going on).
function setReplay(run) {
  const tl = $("timeline");
  if (!run) {
    finalStatus = null;
    tl.max = 0;
    tl.value = 0;
    $("tlabel").value = demo.run && !demo.run.ended ? "The replay is ready when the run ends." : "No run yet.";
    return;
  }
  finalStatus = [$("status").textContent, $("status").classList.contains("error") ? "error" : $("status").classList.contains("warn") ? "warn" : ""];
  tl.max = run.events.length;
  tl.value = run.events.length;
  showReplay(run, run.events.length, false);
}

// describe says what an event did, in the page's words (rows from 1: st's
// view rows, st being the state after ev).
function describe(ev, st) {
  if (!ev) return "the start";
  const band = ev.band !== undefined ? `band ${ev.band + 1}: ` : "";
  switch (ev.type) {
    case "run_started": return "the run starts";
    case "band_started": return `${band}starts (${twig.rowsText(st.view(ev.rows))})`;
    case "thought_delta": return `${band}thinking “${ev.text.trim()}”`;
    case "thought_done": return `${band}thought written`;
    case "plan_review": return `${band}the model ${ev.accepted ? "keeps" : "rejects"} its plan${ev.reason ? ` (${ev.reason})` : ""}${sure(ev)}`;
    case "band_progress": return `${band}draws ${twig.rowsText(st.lastStrip)}${ev.round ? ` (redraw ${ev.round})` : ""}`;
    case "band_done": return `${band}drawn`;
    case "critique": return `${band}scored ${ev.parsed ? ev.score : "?"}${ev.verdict === "redraw" ? ", redraw" : ""}`;
    case "band_redrawn": return `${band}redraw ${ev.round} begins`;
    case "run_done": return "the run is done";
    case "error": return `the run failed: ${ev.message}`;
  }
  return `${band}${ev.type.replace(/_/g, " ")}`;
}

function showReplay(run, n, rerender = true) {
  const st = twig.RunState.from(run.events, n);
  if (rerender) render(st);
  const ev = run.events[n - 1];
  $("tlabel").value = `Event ${n} of ${run.events.length}: ${describe(ev, st)}${ev ? ` (at ${ev.t_ms} ms)` : ""}`;
  if (!rerender || !finalStatus) return;
  if (n < run.events.length) say(`Replay, event ${n} of ${run.events.length}: ${describe(ev, st)}.`);
  else say(...finalStatus);
}

$("timeline").addEventListener("input", () => {
  stopPlay();
  if (demo.run && demo.run.ended) showReplay(demo.run, +$("timeline").value);
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
  // a picture at its own size; a token model's canvas smooth, as the page shows it
  save(st.picture ? await twig.pictureBlob(st) : await client.png(st.tokens), `${base()}.png`);
});
$("dl-gif").addEventListener("click", async () => {
  try {
    save(await client.gif(demo.run), `${base()}.gif`);
  } catch (e) {
    say(`No GIF: ${e.message}`, true);
  }
});
$("dl-trace").addEventListener("click", () => save(twig.trace(demo.run), `${base()}.jsonl`));

// openTrace plays a trace (a trace.jsonl from `twig draw` or this page) in
// the page, event by event at the pace it was recorded (gaps capped at 0.3 s).
async function openTrace(text) {
  const lines = text.split("\n").filter((l) => l.trim());
  let events;
  try {
    events = lines.map((l) => JSON.parse(l));
  } catch (e) {
    return say(`That file is not a trace: ${e.message}`, true);
  }
  const first = events[0];
  if (!first || first.type !== "run_started") return say("That file is not a trace: it does not begin with run_started.", true);
  if (demo.run && !demo.run.ended) demo.run.cancel();
  let stop = false;
  const run = new twig.Run(first.run_id, first.prompt, () => (stop = true));
  const shown = play(run, "trace");
  let last = 0;
  for (let i = 0; i < events.length && !stop; i++) {
    const wait = Math.min(Math.max((events[i].t_ms || 0) - last, 0), 300);
    last = events[i].t_ms || last;
    if (wait) await new Promise((r) => setTimeout(r, wait));
    run._push(lines[i], events[i]);
  }
  if (!run.ended) run._push(null, { v: twig.version, type: "error", run_id: run.id, seq: events.length, t_ms: last, code: "canceled", message: "the trace ends before the run did" });
  await shown;
}
$("open-trace").addEventListener("click", () => $("trace-file").click());
$("trace-file").addEventListener("change", async () => {
  const f = $("trace-file").files[0];
  if (f) await openTrace(await f.text());
  $("trace-file").value = "";
});
demo.openTrace = openTrace;

// ------------------------------------------------------------------ start

checkPrompt();
if (new URLSearchParams(location.search).has("autostart")) start();

// sure says how sure the model was of a plan review's verdict, from its
// reported p_ok (the thinker's probability that the plan is right; absent
// when it reports none): " (97 % sure)".
function sure(review) {
  const p = review && review.p_ok;
  if (typeof p !== "number" || !(p > 0 && p <= 1)) return "";
  const pct = Math.round(100 * (review.accepted ? p : 1 - p));
  return ` (${pct} % sure)`;
}
