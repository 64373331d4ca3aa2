// Command worker is twig's Cloudflare Worker: the edge gateway that holds the
// upstream models' keys, so a web page can use them without ever seeing
// them. Built with GOOS=js GOARCH=wasm on github.com/syumai/workers (`make
// edge`), it runs in workerd (`make edge-dev`, `wrangler deploy`); built
// natively, the same handler serves on net/http (the `!js` twins), which is
// how the Go tests run it.
//
// It does two things, both only towards the upstreams configured in
// UPSTREAMS (wrangler.toml), each named; a client picks one by name
// (/u/NAME/v1/…, or /v1/… for DEFAULT_UPSTREAM) and never by address:
//
//   - HTTP: a pass-through proxy for an allowlist of model endpoints
//     (chat completions, image generations and edits, models; for a twig
//     upstream also /v1/calls and /v1/runs). The upstream's key goes into
//     the Authorization header; the answer, SSE included, streams back as
//     it arrives, with every secret scrubbed from it.
//   - /v1/ws: the twig/1 session protocol of `twig serve` (package edge's
//     Gateway over a WebSocketPair shim), whose runs and model calls are
//     played by the upstream through core/remote.
//
// In front of both: request ids and one JSON log line per request (never a
// header, query or body), the CORS allowlist, an optional client token,
// per-client rate limiting (a Durable Object, see ratelimit.go), request
// and response size caps and per-call timeouts. Errors are JSON,
// {"error":{"message","type","param","code"}}. README.md says how to run
// and deploy it; RATIONALE.md why it is built this way.
package main
