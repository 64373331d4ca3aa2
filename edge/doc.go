// Package edge is twig's gateway: the logic that serves runs and model calls
// to clients, used by `twig serve` (over gorilla/websocket and net/http) and
// by the Cloudflare Worker (over a WebSocketPair shim), so it knows nothing
// of either runtime.
//
// A client connection is a Transport: whole JSON messages in and out, and a
// close with a code. Gateway.Serve plays the session protocol over it
// (docs/PROTOCOL.md, "Client → server messages"): a client starts runs and
// sends model calls, each named by an id; every request answers with a stream
// of events carrying that id as run_id, ending with run_done, call_done or
// error. Runs and calls go concurrently; the events of all of them go through
// one bounded outbound queue per connection, so a slow client never blocks
// the engine or another client (see Limits for the policy).
//
// The HTTP side is plain http.Handler (Handler): the OpenAI-compatible
// endpoints over the engine's roles, twig's own SSE endpoints for runs and
// calls, health, and the middlewares for request ids, logs, tokens and
// origins. Client is the other end of the model calls: engine roles played by
// a remote twig gateway.
package edge
