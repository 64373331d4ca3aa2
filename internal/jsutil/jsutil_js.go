//go:build js && wasm

// Package jsutil holds the syscall/js helpers that the two Go programs
// running on a JavaScript host share — the Cloudflare Worker (edge/worker,
// in workerd) and the browser build (wasm/js, in a Web Worker): awaiting a
// Promise, turning JS exceptions into Go errors and back, guarding
// callbacks so a Go panic never unwinds through JS, and exposing Go work
// as a Promise. It builds only for GOOS=js; the doc.go twin says so
// elsewhere.
package jsutil

import (
	"context"
	"errors"
	"fmt"
	"syscall/js"
)

// Await waits for a JS promise to settle, or for ctx. A rejection is an
// error (Error). Its callbacks never block (the channel has room), so a
// promise that settles after ctx is done is fine; they are released when it
// settles.
//
// Await blocks the calling goroutine: it must not run on the goroutine of a
// js.FuncOf callback, which would deadlock (the promise's callbacks could
// never run) — start a goroutine first, as Promise does.
func Await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer then.Release()
		defer catch.Release()
		ch <- result{v: Arg0(args)}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer then.Release()
		defer catch.Release()
		ch <- result{err: Error(Arg0(args))}
		return nil
	})
	p.Call("then", then, catch)
	select {
	case r := <-ch:
		return r.v, r.err
	case <-ctx.Done():
		return js.Undefined(), ctx.Err()
	}
}

// Arg0 is a callback's first argument, or undefined when it got none.
func Arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// Error turns a thrown or rejected JS value into a Go error: "Name:
// message" for an Error object of a named kind (TypeError, AbortError, …),
// its message for a plain Error, and the value as a string otherwise.
func Error(v js.Value) error {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			if n := v.Get("name"); n.Type() == js.TypeString && n.String() != "" && n.String() != "Error" {
				return errors.New(n.String() + ": " + m.String())
			}
			return errors.New(m.String())
		}
	}
	return errors.New(v.String())
}

// NewError is a JS Error object carrying err's message, to reject a
// promise or report to JS.
func NewError(err error) js.Value { return js.Global().Get("Error").New(err.Error()) }

// Try runs f, turning a JS exception (which syscall/js raises as a panic of
// js.Error) into an error. Any other panic goes on.
func Try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(js.Error); ok {
				err = Error(e.Value)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}

// Guard wraps f as a JS callback that never lets a Go panic escape: a panic
// would end the Go program, and every request or run it serves with it.
// onPanic gets the panic as an error and gives the callback's result
// instead (nil onPanic: undefined).
func Guard(f func(this js.Value, args []js.Value) any, onPanic func(error) any) js.Func {
	return js.FuncOf(func(this js.Value, args []js.Value) (v any) {
		defer func() {
			if r := recover(); r != nil {
				v = nil
				if onPanic != nil {
					v = onPanic(fmt.Errorf("BUG: %v", r))
				}
			}
		}()
		return f(this, args)
	})
}

// Promise runs f on a new goroutine and returns a JS Promise of its result:
// an error or a panic rejects it with an Error.
func Promise(f func() (any, error)) js.Value {
	var executor js.Func
	executor = js.FuncOf(func(_ js.Value, args []js.Value) any {
		resolve, reject := args[0], args[1]
		go func() {
			defer func() {
				if p := recover(); p != nil {
					reject.Invoke(js.Global().Get("Error").New(fmt.Sprint("twig: ", p)))
				}
			}()
			v, err := f()
			if err != nil {
				reject.Invoke(NewError(err))
				return
			}
			resolve.Invoke(v)
		}()
		return nil
	})
	p := js.Global().Get("Promise").New(executor)
	executor.Release()
	return p
}

// Bytes copies b into a new Uint8Array.
func Bytes(b []byte) js.Value {
	arr := js.Global().Get("Uint8Array").New(len(b))
	js.CopyBytesToJS(arr, b)
	return arr
}
