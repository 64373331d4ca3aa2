// End-to-end checks of `twig serve` from Node: a real server process, the
// `ws` package speaking the twig/2 session protocol, and the official
// `openai` client on the OpenAI-compatible endpoints.
//
// Run: make e2e (or TWIG_BIN=bin/twig node --test e2e/node/). TWIG_BIN is
// the twig binary; the tiny test weights come from core/model/testdata.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import zlib from 'node:zlib';
import WebSocket from 'ws';
import OpenAI, { toFile } from 'openai';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const bin = path.resolve(root, process.env.TWIG_BIN ?? 'bin/twig');
const weights = path.join(root, 'core/model/testdata/tiny.safetensors');
const token = 'e2e-token';
const prompt = 'a red circle above a blue square';

let server; // the child process
let base; // http://127.0.0.1:PORT
let openai;

before(async () => {
  server = spawn(bin, ['serve', '--addr', '127.0.0.1:0', '--weights', weights, '--token', token,
    '--origins', 'https://ok.example', '--grace', '5s'], { stdio: ['ignore', 'pipe', 'pipe'] });
  server.stderr.on('data', (b) => { if (process.env.TWIG_E2E_LOGS) process.stderr.write(b); }); // JSON logs
  base = await new Promise((resolve, reject) => {
    let out = '';
    server.stdout.on('data', (b) => {
      out += b;
      const m = out.match(/listening on (http:\/\/[\d.:]+)/);
      if (m) resolve(m[1]);
    });
    server.on('exit', (code) => reject(new Error(`twig serve exited with ${code} before listening`)));
    setTimeout(() => reject(new Error('twig serve did not start in 120 s')), 120_000).unref(); // a bound for a failing start
  });
  openai = new OpenAI({ baseURL: `${base}/v1`, apiKey: token, maxRetries: 0 });
});

after(async () => {
  // SIGTERM drains and exits 0
  server.kill('SIGTERM');
  const [code] = await once(server, 'exit');
  assert.equal(code, 0, 'twig serve should exit 0 after SIGTERM');
});

// Opens a websocket and resolves once the server's hello arrived.
function connect(headers = { Authorization: `Bearer ${token}` }) {
  const ws = new WebSocket(`${base.replace('http', 'ws')}/v1/ws`, { headers });
  const queue = [];
  let wake = null;
  ws.on('message', (data) => {
    queue.push(JSON.parse(data.toString()));
    if (wake) wake();
  });
  const next = async () => {
    while (queue.length === 0) await new Promise((r) => { wake = r; });
    return queue.shift();
  };
  return new Promise((resolve, reject) => {
    ws.on('error', reject);
    ws.on('unexpected-response', (_req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { status: res.statusCode })));
    ws.on('open', async () => {
      const hello = await next();
      assert.equal(hello.type, 'hello');
      resolve({ ws, next, hello });
    });
  });
}

test('a run over the websocket streams interleaved events and ends in a valid image', async () => {
  const { ws, next, hello } = await connect();
  assert.deepEqual(hello.roles, ['think', 'paint', 'critique', 'decide']);
  ws.send(JSON.stringify({ v: 'twig/2', type: 'start', id: 'r1', prompt, settings: { seed: 3 } }));
  const events = [];
  for (;;) {
    const ev = await next();
    assert.equal(ev.run_id, 'r1');
    events.push(ev);
    if (ev.type === 'run_done' || ev.type === 'error') break;
  }
  assert.equal(events[0].type, 'run_started');
  assert.equal(events.at(-1).type, 'run_done', JSON.stringify(events.at(-1)));
  let seq = -1;
  const canvas = new Array(256).fill(-1);
  const types = new Set();
  for (const ev of events) {
    seq += ev.coalesced > 1 ? ev.coalesced : 1;
    assert.equal(ev.seq, seq, 'no event lost, duplicated or reordered');
    types.add(ev.type);
    // twig/2: a token model's strip is whole token rows of 16 pixel rows each, with their
    // tokens; token row r's first cell (16r) is its first pixel row (16r): the indexes coincide
    if (ev.type === 'band_progress') {
      assert.ok(ev.png.length > 0 && ev.rows.start % 16 === 0 && ev.rows.end % 16 === 0, 'a PNG strip of whole token rows');
      canvas.splice(ev.rows.start, ev.tokens.length, ...ev.tokens);
    }
    if (ev.type === 'band_redrawn') canvas.fill(-1, ev.rows.start, ev.rows.end);
  }
  for (const t of ['band_started', 'thought_delta', 'thought_done', 'band_progress', 'band_done', 'critique']) {
    assert.ok(types.has(t), `a ${t} event`);
  }
  const done = events.at(-1);
  assert.equal(events[0].width, 256);
  assert.ok(done.png.length > 0, 'run_done carries the final canvas as a PNG');
  assert.deepEqual(canvas, done.tokens, 'the rows rebuild the final canvas');
  assert.ok(done.tokens.every((t) => Number.isInteger(t) && t >= 0 && t < 181), 'every cell is an image token');
  ws.close();
});

test('a model call over the websocket streams the thought token by token', async () => {
  const { ws, next } = await connect();
  ws.send(JSON.stringify({ v: 'twig/2', type: 'call', id: 'c1', role: 'think',
    request: { prompt, band: 0, rows: { start: 0, end: 96 }, thoughts: [], width: 256, height: 256 } }));
  let text = '';
  let ev;
  while ((ev = await next()).type === 'call_delta') text += ev.text;
  assert.equal(ev.type, 'call_done', JSON.stringify(ev));
  assert.equal(ev.thought.text, text.trim());
  assert.ok(ev.thought.tokens > 1);
  ws.close();
});

test('refused messages get an error with a code, and the connection survives', async () => {
  const { ws, next } = await connect();
  ws.send('{"v":"twig/2",');
  let ev = await next();
  assert.equal(ev.type, 'error');
  assert.equal(ev.code, 'bad_message');
  ws.send(JSON.stringify({ v: 'twig/2', type: 'launch', id: 'x' }));
  ev = await next();
  assert.deepEqual([ev.type, ev.run_id, ev.code], ['error', 'x', 'unknown_type']);
  ws.send(JSON.stringify({ v: 'twig/2', type: 'start', id: 'y', prompt: 'a red blorp' }));
  ev = await next();
  assert.deepEqual([ev.type, ev.run_id, ev.code], ['error', 'y', 'invalid_request']);
  ws.close();
});

test('the websocket refuses a wrong token and a foreign origin', async () => {
  await assert.rejects(connect({ Authorization: 'Bearer wrong' }), { status: 401 });
  await assert.rejects(connect({ Authorization: `Bearer ${token}`, Origin: 'https://evil.example' }), { status: 403 });
  const { ws } = await connect({ Authorization: `Bearer ${token}`, Origin: 'https://ok.example' });
  ws.close();
});

test('openai: models and chat completions, whole and streamed', async () => {
  const models = await openai.models.list();
  assert.ok(models.data.some((m) => m.id === 'twig-critic'));

  const req = { model: 'twig', seed: 5, messages: [{ role: 'user', content: prompt }] };
  const whole = await openai.chat.completions.create(req);
  const content = whole.choices[0].message.content;
  assert.match(content, /^rows 0 5 :/);
  assert.equal(whole.choices[0].finish_reason, 'stop');
  assert.ok(whole.usage.completion_tokens > 0);

  const stream = await openai.chat.completions.create({ ...req, stream: true, stream_options: { include_usage: true } });
  let streamed = '';
  let chunks = 0;
  let finish = null;
  let usage = null;
  for await (const chunk of stream) {
    chunks++;
    for (const c of chunk.choices) {
      streamed += c.delta?.content ?? '';
      finish = c.finish_reason ?? finish;
    }
    usage = chunk.usage ?? usage;
  }
  assert.equal(streamed, content, 'the same seed gives the same thought, streamed or not');
  assert.ok(chunks > 4, `${chunks} chunks: the thought streams token by token`);
  assert.equal(finish, 'stop');
  assert.equal(usage.completion_tokens, whole.usage.completion_tokens);

  await assert.rejects(openai.chat.completions.create({ ...req, temperature: 0.3 }),
    (err) => err.status === 400 && err.code === 'unsupported_parameter' && err.param === 'temperature');
  const noKey = new OpenAI({ baseURL: `${base}/v1`, apiKey: 'wrong', maxRetries: 0 });
  await assert.rejects(noKey.models.list(), (err) => err.status === 401);
});

test('openai: a picture, its critique, and images.edit redrawing a band', async () => {
  const gen = await openai.images.generate({ model: 'twig', prompt, size: '256x256' });
  const png = Buffer.from(gen.data[0].b64_json, 'base64');
  assert.deepEqual([...png.subarray(1, 4)], [0x50, 0x4e, 0x47], 'a PNG');
  const dataURL = `data:image/png;base64,${gen.data[0].b64_json}`;

  const critique = await openai.chat.completions.create({
    model: 'twig-critic',
    messages: [
      { role: 'user', content: prompt },
      { role: 'assistant', content: 'rows 0 5 : new small solid red circle at 1 6' },
      { role: 'user', content: [{ type: 'text', text: 'score the band' }, { type: 'image_url', image_url: { url: dataURL } }] },
    ],
  });
  const verdict = JSON.parse(critique.choices[0].message.content);
  assert.ok(verdict.score === null || (verdict.score >= 0 && verdict.score <= 100), JSON.stringify(verdict));
  assert.equal(typeof verdict.revision, 'string');

  // a mask transparent over rows 6–10 (pixels 96–175): those rows are redrawn
  const mask = rgbaPNG(256, 256, (x, y) => (y >= 96 && y < 176 ? 0 : 255));
  const edit = await openai.images.edit({
    model: 'twig-painter',
    prompt,
    image: await toFile(png, 'canvas.png', { type: 'image/png' }),
    mask: await toFile(mask, 'mask.png', { type: 'image/png' }),
  });
  assert.equal(edit.data.length, 1);
  assert.ok(Buffer.from(edit.data[0].b64_json, 'base64').length > 100);
  assert.match(edit.data[0].revised_prompt, /^rows 6 10 :/, 'the band was thought about, then painted');
});

// rgbaPNG encodes a black w×h PNG whose alpha at (x, y) is alpha(x, y).
function rgbaPNG(w, h, alpha) {
  const raw = Buffer.alloc((w * 4 + 1) * h);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) raw[y * (w * 4 + 1) + 1 + x * 4 + 3] = alpha(x, y);
  }
  const chunk = (type, data) => {
    const body = Buffer.concat([Buffer.from(type, 'latin1'), data]);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(data.length);
    const crc = Buffer.alloc(4);
    crc.writeUInt32BE(crc32(body));
    return Buffer.concat([len, body, crc]);
  };
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 6, 0, 0, 0], 8); // 8 bits, RGBA
  return Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr), chunk('IDAT', zlib.deflateSync(raw)), chunk('IEND', Buffer.alloc(0))]);
}

function crc32(buf) {
  let c = ~0;
  for (const b of buf) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}
