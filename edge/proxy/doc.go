// Package proxy is the logic of twig's Cloudflare Worker (edge/worker),
// importable and tested natively: the edge gateway that holds the upstream
// models' keys, so a web page can use them without ever seeing them.
// edge/worker is only its platform glue (workerd's fetch, WebSocketPair,
// the Durable Object limiter); the same handler serves on net/http with
// NativeRuntime, which is how the Go tests run it. The real check of the
// glue is `make e2e-edge` (the worker in workerd).
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
//   - /v1/ws: the session protocol of `twig serve` (package edge/gateway's Gateway
//     over the runtime's websocket), whose runs and model calls are played
//     by the upstream over one websocket (edgeclient.Client).
//
// In front of both: request ids and one JSON log line per request (never a
// header, query or body), the CORS allowlist, an optional client token,
// per-client rate limiting (a Durable Object in workerd, see ratelimit.go),
// request and response size caps and per-call timeouts. Errors are JSON,
// {"error":{"message","type","param","code"}}. edge/worker's README says
// how to run and deploy it; its RATIONALE.md why it is built this way.
package proxy
