// An OpenAI-compatible provider for the browser tests, in Node: its chat
// model writes a prose thought per band (streamed as SSE) and JSON scores
// (each band's first critique asks for a redraw), and its image model
// answers every edit with a camera photograph at its own size (Debian's
// mate-backgrounds, 1680×1050 JPEGs), ignoring the mask — the Go twin is
// core/remote/remotetest. .ci/run installs the package.
import http from "node:http";
import { readFileSync, existsSync } from "node:fs";

export const photoDir = "/usr/share/backgrounds/mate/nature";
const names = ["Dune.jpg", "Storm.jpg", "LadyBird.jpg", "FreshFlower.jpg"];

const thoughts = [
  "The top of the picture: a pale sky with soft light, clouds thinning towards the left.",
  "The middle of the picture: the land begins, warm sand and green leaves catching the sun.",
  "The bottom of the picture: the foreground in close detail, darker and richer in colour.",
];

// photoProvider starts the provider on a free port of 127.0.0.1; resolves
// with {url (the API root, …/v1), edits, chats, stop}.
export function photoProvider() {
  for (const n of names) {
    if (!existsSync(`${photoDir}/${n}`)) throw new Error(`the test photographs are missing (${photoDir}/${n}): apt-get install mate-backgrounds (.ci/run does)`);
  }
  const photos = names.map((n) => readFileSync(`${photoDir}/${n}`).toString("base64"));
  const critiqued = new Map();
  const p = { edits: 0, chats: 0 };
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on("data", (c) => chunks.push(c));
    req.on("end", () => {
      const body = Buffer.concat(chunks);
      if (req.url === "/v1/images/edits") {
        const photo = photos[p.edits++ % photos.length];
        res.setHeader("Content-Type", "application/json");
        return res.end(JSON.stringify({ created: 0, data: [{ b64_json: photo }] }));
      }
      if (req.url !== "/v1/chat/completions") {
        res.statusCode = 404;
        return res.end('{"error":{"message":"no such endpoint","type":"invalid_request_error"}}');
      }
      p.chats++;
      const cr = JSON.parse(body.toString());
      const text = (m) => (typeof m.content === "string" ? m.content : m.content.filter((x) => x.type === "text").map((x) => x.text).join(" "));
      const critic = cr.messages.some((m) => m.role === "system" && text(m).includes('{"score"'));
      const last = text(cr.messages.at(-1));
      const band = +(/band (\d+)/.exec(last)?.[1] || 1);
      const thought = thoughts[Math.min(Math.max(band - 1, 0), thoughts.length - 1)];
      let content = thought;
      if (critic) {
        const n = critiqued.get(band) || 0;
        critiqued.set(band, n + 1);
        content = JSON.stringify({ score: n === 0 ? 40 : 95, revision: thought + " Brighter." });
      }
      if (!cr.stream) {
        res.setHeader("Content-Type", "application/json");
        return res.end(JSON.stringify({ id: "c", object: "chat.completion", choices: [{ index: 0, message: { role: "assistant", content }, finish_reason: "stop" }] }));
      }
      res.setHeader("Content-Type", "text/event-stream");
      for (const w of content.split(/(?<= )/)) {
        res.write(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })}\n\n`);
      }
      res.end(`data: ${JSON.stringify({ id: "c", object: "chat.completion.chunk", choices: [{ index: 0, delta: {}, finish_reason: "stop" }] })}\n\ndata: [DONE]\n\n`);
    });
  });
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => {
      p.url = `http://127.0.0.1:${server.address().port}/v1`;
      p.stop = () => server.close();
      resolve(p);
    }));
}
