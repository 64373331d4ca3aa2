// Package rolecall is twig's one codec for role calls: a role of the engine
// (think, paint, critique, decide, review) played once, statelessly, by a
// model somewhere else. Every path that carries a role call uses it — the
// gateway's model calls (package gateway, over a websocket or POST /calls),
// the remote twig client (package remote), the edge worker (through
// client.Client) and the sandbox ABI between the wazero host and its guest
// (packages sandbox, guest and abi) — so a field added here travels everywhere, and
// one validator decides what a request may say.
//
// The wire types are package protocol's (Call, CallRequest, CallDone and the
// call_delta / call_strip payloads); this package turns the engine's requests
// into them (ThinkCall, PaintCall, …), checks a call and turns it back into
// the engine's request (Decode), plays a decoded call on a run's roles and
// streams its answer (Play), and plays the engine's roles through any
// Transport that can carry a call (Client).
//
// It imports the engine and the protocol, and the synthetic world only for
// the canvas's geometry (tokens.Grid), as the engine does today.
package rolecall
