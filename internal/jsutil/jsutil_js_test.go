//go:build js && wasm

package jsutil

import (
	"context"
	"errors"
	"strings"
	"syscall/js"
	"testing"
)

// These run in a real JS engine: GOOS=js GOARCH=wasm go test -exec
// "$(go env GOROOT)/lib/wasm/go_js_wasm_exec" ./internal/jsutil (Node), as
// `make test-js` does.

func eval(src string) js.Value { return js.Global().Get("Function").New("return " + src).Invoke() }

func TestAwait(t *testing.T) {
	ctx := context.Background()
	v, err := Await(ctx, eval("Promise.resolve(42)"))
	if err != nil || v.Int() != 42 {
		t.Fatalf("resolved: %v %v", v, err)
	}
	_, err = Await(ctx, eval(`Promise.reject(new TypeError("not a function"))`))
	if err == nil || err.Error() != "TypeError: not a function" {
		t.Fatalf("rejected with a TypeError: %v", err)
	}
	_, err = Await(ctx, eval(`Promise.reject(new Error("plain"))`))
	if err == nil || err.Error() != "plain" {
		t.Fatalf("rejected with an Error: %v", err)
	}
	_, err = Await(ctx, eval(`Promise.reject("a string")`))
	if err == nil || err.Error() != "a string" {
		t.Fatalf("rejected with a string: %v", err)
	}
	// A promise that never settles gives way to the context.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := Await(cctx, eval("new Promise(() => {})")); !errors.Is(err, context.Canceled) {
		t.Fatalf("a cancelled wait: %v", err)
	}
}

func TestTry(t *testing.T) {
	err := Try(func() { js.Global().Get("JSON").Call("parse", "{") })
	if err == nil || !strings.HasPrefix(err.Error(), "SyntaxError: ") {
		t.Fatalf("a JS exception: %v", err)
	}
	if err := Try(func() {}); err != nil {
		t.Fatal(err)
	}
	defer func() {
		if r := recover(); r != "go panic" {
			t.Fatalf("a Go panic was not passed on: %v", r)
		}
	}()
	Try(func() { panic("go panic") })
}

func TestPromiseAndGuard(t *testing.T) {
	ctx := context.Background()
	v, err := Await(ctx, Promise(func() (any, error) { return "done", nil }))
	if err != nil || v.String() != "done" {
		t.Fatalf("resolved: %v %v", v, err)
	}
	_, err = Await(ctx, Promise(func() (any, error) { return nil, errors.New("refused") }))
	if err == nil || err.Error() != "refused" {
		t.Fatalf("rejected: %v", err)
	}
	_, err = Await(ctx, Promise(func() (any, error) { panic("boom") }))
	if err == nil || !strings.Contains(err.Error(), "boom") {
		t.Fatalf("a panic: %v", err)
	}

	var caught error
	f := Guard(func(js.Value, []js.Value) any { panic("in a callback") }, func(err error) any { caught = err; return "instead" })
	defer f.Release()
	got := f.Invoke() // JS calls it: the panic must not escape
	if caught == nil || !strings.Contains(caught.Error(), "in a callback") || got.String() != "instead" {
		t.Fatalf("Guard: %v, result %v", caught, got)
	}
	g := Guard(func(_ js.Value, args []js.Value) any { return Arg0(args).Int() + 1 }, nil)
	defer g.Release()
	if got := g.Invoke(1).Int(); got != 2 {
		t.Fatalf("Guard passes the result: %d", got)
	}
	if got := Bytes([]byte{1, 2, 3}); got.Get("length").Int() != 3 || got.Index(2).Int() != 3 {
		t.Fatal("Bytes")
	}
	if !Arg0(nil).IsUndefined() {
		t.Fatal("Arg0 of nothing")
	}
}
