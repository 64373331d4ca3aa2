// Package httpapi is a twig gateway's HTTP surface, a plain http.Handler
// (Handler): the OpenAI-compatible endpoints over the engine's roles
// (models, chat completions, image generations and edits), twig's own SSE
// endpoints for runs and calls (/v1/runs, /v1/calls), health, and the
// middlewares for request ids, logs, tokens and origins. Runs and calls go
// through a gateway.Gateway, under its limits; the websocket (/v1/ws) is the
// runtime's handler, ending in Gateway.Serve.
package httpapi
