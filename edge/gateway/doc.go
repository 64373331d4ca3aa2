// Package gateway is twig's gateway: the logic that serves runs and model
// calls to clients, used by `twig serve` (over gorilla/websocket and
// net/http) and by the Cloudflare Worker (over a WebSocketPair shim), so it
// knows nothing of either runtime.
//
// A client connection is a Transport: whole JSON messages in and out, and a
// close with a code. Gateway.Serve plays the session protocol over it
// (docs/PROTOCOL.md, "Client → server messages"): a client starts runs and
// sends model calls, each named by an id; every request answers with a stream
// of events carrying that id as run_id, ending with run_done, call_done or
// error. Runs and calls go concurrently; the events of all of them go through
// one bounded outbound queue per connection, so a slow client never blocks
// the engine or another client (see Limits for the policy). Model calls are
// played by package rolecall (Call).
//
// The HTTP side is package httpapi (the OpenAI-compatible endpoints and
// twig's own SSE endpoints, over a Gateway's Draw, Call, Acquire and Relay);
// package client is the other end of a connection: runs and engine roles
// played by a remote twig gateway.
package gateway
