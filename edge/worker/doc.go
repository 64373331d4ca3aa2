// Command worker is twig's Cloudflare Worker: the edge gateway that holds the
// upstream models' keys, so a web page can use them without ever seeing
// them. Built with GOOS=js GOARCH=wasm on github.com/syumai/workers (`make
// edge`), it runs in workerd (`make edge-dev`, `wrangler deploy`).
//
// This package is only the platform glue (the *_js.go files): workerd's
// fetch as an http.RoundTripper, WebSocketPair and websocket dialling as
// gateway.Transports, the rate limiter's Durable Object (glue/), and main.
// Everything else — configuration, the proxy, secret scrubbing, rate
// limiting, the middleware and the websocket gateway — is package
// edge/proxy, tested natively; main_other.go serves the same handler on
// net/http. The glue's own check is `make e2e-edge` (the worker in real
// workerd). README.md says how to run and deploy it; RATIONALE.md why it is
// built this way.
package main
