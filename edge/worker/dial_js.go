//go:build js && wasm

package main

import (
	"context"
	"net/http"
	"syscall/js"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/proxy"
	"github.com/twig-project/twig/internal/jsutil"
)

// dialFetch opens a websocket to an upstream the Workers way: a fetch with
// "Upgrade: websocket" whose 101 answer carries the socket.
func dialFetch(ctx context.Context, url string, header http.Header, maxMessage int) (gateway.Transport, error) {
	init := js.Global().Get("Object").New()
	hdr := js.Global().Get("Headers").New()
	for k, vs := range header {
		for _, v := range vs {
			hdr.Call("append", k, v)
		}
	}
	hdr.Call("set", "Upgrade", "websocket")
	init.Set("headers", hdr)
	init.Set("redirect", "manual")
	ac := js.Global().Get("AbortController").New()
	init.Set("signal", ac.Get("signal"))
	stop := context.AfterFunc(ctx, func() { jsutil.Try(func() { ac.Call("abort") }) })
	defer stop()
	var p js.Value
	if err := jsutil.Try(func() { p = js.Global().Get("fetch").Invoke(url, init) }); err != nil {
		return nil, err
	}
	res, err := jsutil.Await(ctx, p)
	if err != nil {
		return nil, err
	}
	ws := res.Get("webSocket")
	if ws.IsNull() || ws.IsUndefined() {
		if b := res.Get("body"); !b.IsNull() && !b.IsUndefined() {
			jsutil.Try(func() { b.Call("cancel") })
		}
		return nil, &proxy.StatusError{Status: res.Get("status").Int()}
	}
	if err := jsutil.Try(func() { ws.Call("accept") }); err != nil {
		return nil, err
	}
	return newPairConn(ws, maxMessage), nil // the upstream's messages (a strip's PNG), up to MAX_RESPONSE_BYTES
}
