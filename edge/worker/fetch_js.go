//go:build js && wasm

package main

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"syscall/js"

	"github.com/twig-project/twig/internal/jsutil"
)

// fetchTransport is an http.RoundTripper over the Workers runtime's fetch.
// Unlike net/http's own js transport (which sets fields workerd rejects)
// and syumai/workers' cloudflare/fetch (which has no AbortSignal), it
// aborts the upstream request when the request's context ends, so timeouts
// and cancelled calls reach the socket. It follows no redirect.
type fetchTransport struct{}

func (fetchTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	init := js.Global().Get("Object").New()
	init.Set("method", req.Method)
	init.Set("redirect", "manual")
	hdr := js.Global().Get("Headers").New()
	for k, vs := range req.Header {
		for _, v := range vs {
			hdr.Call("append", k, v)
		}
	}
	init.Set("headers", hdr)
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > 0 {
			u := js.Global().Get("Uint8Array").New(len(b))
			js.CopyBytesToJS(u, b)
			init.Set("body", u)
		}
	}
	ac := js.Global().Get("AbortController").New()
	init.Set("signal", ac.Get("signal"))
	stop := context.AfterFunc(ctx, func() { jsutil.Try(func() { ac.Call("abort") }) })
	var p js.Value
	if err := jsutil.Try(func() { p = js.Global().Get("fetch").Invoke(req.URL.String(), init) }); err != nil {
		stop()
		return nil, err
	}
	res, err := jsutil.Await(ctx, p)
	if err != nil {
		stop()
		return nil, err
	}
	h := http.Header{}
	entries := js.Global().Get("Array").Call("from", res.Get("headers").Call("entries"))
	for i := range entries.Length() {
		e := entries.Index(i)
		h.Add(e.Index(0).String(), e.Index(1).String())
	}
	status := res.Get("status").Int()
	n, cerr := strconv.ParseInt(h.Get("Content-Length"), 10, 64)
	if cerr != nil {
		n = -1
	}
	body := &fetchBody{ctx: ctx, stop: stop}
	if b := res.Get("body"); !b.IsNull() && !b.IsUndefined() {
		body.reader = b.Call("getReader")
	}
	return &http.Response{Status: strconv.Itoa(status) + " " + res.Get("statusText").String(), StatusCode: status,
		Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Header: h, Body: body, ContentLength: n, Request: req}, nil
}

// fetchBody reads a fetch response's ReadableStream chunk by chunk, as the
// upstream sends them.
type fetchBody struct {
	ctx    context.Context
	stop   func() bool
	reader js.Value // undefined: no body
	chunk  []byte
	done   bool
}

func (b *fetchBody) Read(p []byte) (int, error) {
	for len(b.chunk) == 0 {
		if b.done || b.reader.IsUndefined() {
			return 0, io.EOF
		}
		var prom js.Value
		if err := jsutil.Try(func() { prom = b.reader.Call("read") }); err != nil {
			return 0, err
		}
		r, err := jsutil.Await(b.ctx, prom)
		if err != nil {
			return 0, err
		}
		if r.Get("done").Bool() {
			b.done = true
			return 0, io.EOF
		}
		v := r.Get("value")
		b.chunk = make([]byte, v.Get("byteLength").Int())
		js.CopyBytesToGo(b.chunk, v)
	}
	n := copy(p, b.chunk)
	b.chunk = b.chunk[n:]
	return n, nil
}

func (b *fetchBody) Close() error {
	if !b.done && !b.reader.IsUndefined() {
		jsutil.Try(func() {
			b.reader.Call("cancel").Call("catch", js.FuncOf(func(js.Value, []js.Value) any { return nil }))
		})
	}
	b.done = true
	b.stop()
	return nil
}
