//go:build js && wasm

// Command js is twig's browser build: the engine and the embedded model
// compiled to WebAssembly (GOOS=js), meant to run in a Web Worker
// (web/twig-worker.js). It installs globalThis.twigGo, a thin bridge to Host;
// every function returns {value: V} or {error: "message"}, and V is a
// string of JSON, a Uint8Array or a Promise:
//
//	loadWeights(bytes Uint8Array) → JSON WeightsInfo        (error: a bad file, and why)
//	enableWebGPU() → Promise<JSON AccelInfo>                (rejects: why no WebGPU)
//	draw(requestJSON, onEvent(eventJSON))                   (returns at once; the stream ends with run_done or error)
//	cancel(runID) → bool
//	compare(steps) → Promise<JSON Agreement>
//	parse(prompt) → JSON ParseResult
//	vocabulary() → JSON [VocabEntry]
//	humanize(thought) → string                             (thought.Humanize: the thought in plain English)
//	png(tokensJSON) → Uint8Array                           (error: a bad canvas)
//	gif(traceJSONL) → Uint8Array                           (error: a bad trace)
//	atlas() → {rgba: Uint8ClampedArray, side, cell_px, undrawn}
package main

import (
	"context"
	"encoding/json"
	"sync"
	"syscall/js"

	"github.com/twig-project/twig/internal/jsutil"
	"github.com/twig-project/twig/internal/webhost"
)

func main() {
	h := webhost.NewHost()
	y := newYielder()
	h.Yield = y.yield
	var gpuMu sync.Mutex // one run at a time on the GPU: its buffers are shared

	api := map[string]any{
		"loadWeights": fn(func(args []js.Value) (any, error) {
			data := make([]byte, args[0].Get("length").Int())
			js.CopyBytesToGo(data, args[0])
			info, err := h.LoadWeights(data)
			return jsonString(info), err
		}),
		"enableWebGPU": fn(func([]js.Value) (any, error) {
			return jsutil.Promise(func() (any, error) {
				g, err := newWebGPU()
				if err != nil {
					return nil, err
				}
				info, err := h.SetAccelerator(g, g.name)
				return jsonString(info), err
			}), nil
		}),
		"draw": fn(func(args []js.Value) (any, error) {
			var req webhost.DrawRequest
			if err := json.Unmarshal([]byte(args[0].String()), &req); err != nil {
				return nil, err
			}
			onEvent := args[1]
			go func() {
				if req.Backend == webhost.BackendGPU || (req.Backend != webhost.BackendCPU && h.AutoBackend() == webhost.BackendGPU) {
					gpuMu.Lock()
					defer gpuMu.Unlock()
				}
				h.Draw(context.Background(), req, func(b []byte) { onEvent.Invoke(string(b)) })
			}()
			return nil, nil
		}),
		"cancel": fn(func(args []js.Value) (any, error) {
			return h.Cancel(args[0].String()), nil
		}),
		"compare": fn(func(args []js.Value) (any, error) {
			steps := args[0].Int()
			return jsutil.Promise(func() (any, error) {
				gpuMu.Lock()
				defer gpuMu.Unlock()
				a, err := h.Compare(steps)
				return jsonString(a), err
			}), nil
		}),
		"parse": fn(func(args []js.Value) (any, error) {
			return jsonString(webhost.Parse(args[0].String())), nil
		}),
		"humanize": fn(func(args []js.Value) (any, error) {
			prompt := ""
			if len(args) > 1 && args[1].Type() == js.TypeString {
				prompt = args[1].String()
			}
			return webhost.Humanize(args[0].String(), prompt), nil
		}),
		"vocabulary": fn(func([]js.Value) (any, error) {
			return jsonString(webhost.Vocabulary()), nil
		}),
		"png": fn(func(args []js.Value) (any, error) {
			var tokens []int
			if err := json.Unmarshal([]byte(args[0].String()), &tokens); err != nil {
				return nil, err
			}
			b, err := webhost.PNG(tokens)
			return jsutil.Bytes(b), err
		}),
		"gif": fn(func(args []js.Value) (any, error) {
			b, err := webhost.GIF([]byte(args[0].String()))
			return jsutil.Bytes(b), err
		}),
		"atlas": fn(func([]js.Value) (any, error) {
			pix, side, cell, undrawn := webhost.Atlas()
			arr := js.Global().Get("Uint8ClampedArray").New(len(pix))
			js.CopyBytesToJS(arr, pix)
			return map[string]any{"rgba": arr, "side": side, "cell_px": cell, "undrawn": undrawn}, nil
		}),
	}
	js.Global().Set("twigGo", js.ValueOf(api))
	if ready := js.Global().Get("twigGoReady"); ready.Type() == js.TypeFunction {
		ready.Invoke()
	}
	select {}
}

// fn wraps a Go function for JS. It returns {value} or {error: message}:
// throwing through Go's frames would break the runtime, so the worker's JS
// unwraps the result and throws there. A panic is an error too, not the end
// of the program.
func fn(f func(args []js.Value) (any, error)) js.Func {
	return jsutil.Guard(func(_ js.Value, args []js.Value) any {
		v, err := f(args)
		if err != nil {
			return map[string]any{"error": err.Error()}
		}
		return map[string]any{"value": v}
	}, func(err error) any { return map[string]any{"error": "twig: " + err.Error()} })
}

func jsonString(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return `null`
	}
	return string(b)
}
