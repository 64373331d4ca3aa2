//go:build js && wasm

package main

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"syscall/js"
	"unsafe"

	"github.com/twig-project/twig/internal/jsutil"
)

//go:embed matvec.wgsl
var matvecWGSL string

// webGPU is an nn.MatVec on a WebGPU device: every weight tensor is uploaded
// once (keyed by its first element's address, as nn.MatVec allows); each call
// writes x, dispatches one workgroup per output row and reads out back. One
// call at a time: the decoder is sequential, and runs on the GPU backend are
// serialized by the caller.
type webGPU struct {
	name     string
	device   js.Value
	queue    js.Value
	pipeline js.Value
	weights  map[*float32]js.Value // tensor → storage buffer
	groups   map[[2]*float32]js.Value
	zero     js.Value // bias buffer for products without one
	dims     js.Value // uniform Dims
	dimsArr  js.Value // Uint32Array(4) staging the uniform
	x, out   js.Value // storage buffers, capacity floats each
	read     js.Value // MAP_READ buffer for out
	capX     int
	capOut   int
	scratch  js.Value // Uint8Array staging for x and out
	mapRead  js.Value // GPUMapMode.READ
	lost     error
}

// GPU usage and map-mode flags (WebGPU spec constants).
const (
	usageMapRead  = 0x0001
	usageCopySrc  = 0x0004
	usageCopyDst  = 0x0008
	usageUniform  = 0x0040
	usageStorage  = 0x0080
	maxWorkgroups = 65535
)

// newWebGPU asks the browser for an adapter and a device and builds the
// pipeline. It says plainly why when there is none.
func newWebGPU() (*webGPU, error) {
	gpu := js.Global().Get("navigator").Get("gpu")
	if gpu.IsUndefined() || gpu.IsNull() {
		return nil, errors.New("this browser has no WebGPU (navigator.gpu is missing; Chromium needs --enable-unsafe-webgpu on Linux)")
	}
	adapter, err := jsutil.Await(context.Background(), gpu.Call("requestAdapter"))
	if err != nil {
		return nil, fmt.Errorf("WebGPU adapter request failed: %w", err)
	}
	if adapter.IsNull() || adapter.IsUndefined() {
		return nil, errors.New("WebGPU has no adapter here (no usable GPU)")
	}
	device, err := jsutil.Await(context.Background(), adapter.Call("requestDevice"))
	if err != nil {
		return nil, fmt.Errorf("WebGPU device request failed: %w", err)
	}
	g := &webGPU{name: "WebGPU" + adapterName(adapter), device: device, queue: device.Get("queue"),
		weights: map[*float32]js.Value{}, groups: map[[2]*float32]js.Value{},
		mapRead: js.Global().Get("GPUMapMode").Get("READ")}
	module := device.Call("createShaderModule", map[string]any{"code": matvecWGSL})
	if info, err := jsutil.Await(context.Background(), module.Call("getCompilationInfo")); err == nil {
		var errs []string
		msgs := info.Get("messages")
		for i := 0; i < msgs.Length(); i++ {
			if m := msgs.Index(i); m.Get("type").String() == "error" {
				errs = append(errs, m.Get("message").String())
			}
		}
		if len(errs) > 0 {
			return nil, fmt.Errorf("WebGPU shader did not compile: %s", strings.Join(errs, "; "))
		}
	}
	device.Call("pushErrorScope", "validation")
	g.pipeline = device.Call("createComputePipeline", map[string]any{
		"layout": "auto", "compute": map[string]any{"module": module, "entryPoint": "matvec"}})
	g.zero = g.buffer(4, usageStorage|usageCopyDst)
	g.dims = g.buffer(16, usageUniform|usageCopyDst)
	g.dimsArr = js.Global().Get("Uint32Array").New(4)
	if e, err := jsutil.Await(context.Background(), device.Call("popErrorScope")); err != nil || !(e.IsNull() || e.IsUndefined()) {
		if err == nil {
			err = errors.New(e.Get("message").String())
		}
		return nil, fmt.Errorf("WebGPU pipeline failed: %w", err)
	}
	return g, nil
}

// adapterName describes an adapter, e.g. " (google swiftshader, fallback)".
func adapterName(a js.Value) string {
	info := a.Get("info")
	if info.IsUndefined() {
		return ""
	}
	var parts []string
	for _, k := range []string{"vendor", "architecture", "description"} {
		if v := info.Get(k); v.Type() == js.TypeString && v.String() != "" {
			parts = append(parts, v.String())
		}
	}
	fb := info.Get("isFallbackAdapter")
	if fb.IsUndefined() {
		fb = a.Get("isFallbackAdapter")
	}
	s := strings.Join(parts, " ")
	if fb.Type() == js.TypeBoolean && fb.Bool() {
		s += ", fallback"
	}
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}

func (g *webGPU) buffer(bytes int, usage int) js.Value {
	return g.device.Call("createBuffer", map[string]any{"size": bytes, "usage": usage})
}

func f32bytes(f []float32) []byte {
	if len(f) == 0 {
		return nil
	}
	return unsafe.Slice((*byte)(unsafe.Pointer(&f[0])), 4*len(f))
}

// upload copies a tensor to a new storage buffer once.
func (g *webGPU) upload(t []float32) js.Value {
	if b, ok := g.weights[&t[0]]; ok {
		return b
	}
	b := g.buffer(4*len(t), usageStorage|usageCopyDst)
	u8 := js.Global().Get("Uint8Array").New(4 * len(t))
	js.CopyBytesToJS(u8, f32bytes(t))
	g.queue.Call("writeBuffer", b, 0, u8)
	g.weights[&t[0]] = b
	return b
}

// ensure grows the x/out buffers; bind groups refer to them, so they go too.
func (g *webGPU) ensure(k, n int) {
	if k <= g.capX && n <= g.capOut {
		return
	}
	g.capX, g.capOut = max(k, g.capX), max(n, g.capOut)
	for _, b := range []js.Value{g.x, g.out, g.read} {
		if !b.IsUndefined() {
			b.Call("destroy")
		}
	}
	g.x = g.buffer(4*g.capX, usageStorage|usageCopyDst)
	g.out = g.buffer(4*g.capOut, usageStorage|usageCopySrc)
	g.read = g.buffer(4*g.capOut, usageMapRead|usageCopyDst)
	g.scratch = js.Global().Get("Uint8Array").New(4 * max(g.capX, g.capOut))
	g.groups = map[[2]*float32]js.Value{}
}

// MatVec implements nn.MatVec: out[n] = w[n×k]·x[k] (+ bias).
func (g *webGPU) MatVec(out, x, w, bias []float32, k, n int) {
	if g.lost != nil {
		panic(g.lost)
	}
	g.ensure(k, n)
	key := [2]*float32{&w[0], nil}
	if bias != nil {
		key[1] = &bias[0]
	}
	bg, ok := g.groups[key]
	if !ok {
		bb := g.zero
		if bias != nil {
			bb = g.upload(bias)
		}
		entries := []any{
			map[string]any{"binding": 0, "resource": map[string]any{"buffer": g.upload(w)}},
			map[string]any{"binding": 1, "resource": map[string]any{"buffer": g.x}},
			map[string]any{"binding": 2, "resource": map[string]any{"buffer": bb}},
			map[string]any{"binding": 3, "resource": map[string]any{"buffer": g.out}},
			map[string]any{"binding": 4, "resource": map[string]any{"buffer": g.dims}},
		}
		bg = g.device.Call("createBindGroup", map[string]any{
			"layout": g.pipeline.Call("getBindGroupLayout", 0), "entries": entries})
		g.groups[key] = bg
	}
	hasBias := 0
	if bias != nil {
		hasBias = 1
	}
	g.dimsArr.SetIndex(0, k)
	g.dimsArr.SetIndex(1, n)
	g.dimsArr.SetIndex(2, hasBias)
	g.queue.Call("writeBuffer", g.dims, 0, g.dimsArr)
	js.CopyBytesToJS(g.scratch, f32bytes(x[:k]))
	g.queue.Call("writeBuffer", g.x, 0, g.scratch, 0, 4*k)

	enc := g.device.Call("createCommandEncoder")
	pass := enc.Call("beginComputePass")
	pass.Call("setPipeline", g.pipeline)
	pass.Call("setBindGroup", 0, bg)
	pass.Call("dispatchWorkgroups", min(n, maxWorkgroups), (n+maxWorkgroups-1)/maxWorkgroups)
	pass.Call("end")
	enc.Call("copyBufferToBuffer", g.out, 0, g.read, 0, 4*n)
	g.queue.Call("submit", []any{enc.Call("finish")})
	if _, err := jsutil.Await(context.Background(), g.read.Call("mapAsync", g.mapRead, 0, 4*n)); err != nil {
		g.lost = fmt.Errorf("twig: WebGPU readback failed (device lost?): %w", err)
		panic(g.lost)
	}
	view := js.Global().Get("Uint8Array").New(g.read.Call("getMappedRange", 0, 4*n))
	js.CopyBytesToGo(f32bytes(out[:n]), view)
	g.read.Call("unmap")
}
