//go:build js && wasm

package main

import (
	"context"
	"errors"
	"syscall/js"
)

// await waits for a JS promise, or for ctx. Its callbacks never block (the
// channels have room), so a promise that settles after ctx is done is fine.
func await(ctx context.Context, p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer then.Release()
		defer catch.Release()
		ch <- result{v: arg0(args)}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		defer then.Release()
		defer catch.Release()
		ch <- result{err: jsError(arg0(args))}
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

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// jsError turns a thrown JS value into a Go error.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject {
		if m := v.Get("message"); m.Type() == js.TypeString {
			return errors.New(v.Get("name").String() + ": " + m.String())
		}
	}
	return errors.New(v.String())
}

// try runs f, turning a JS exception (a panic of syscall/js) into an error.
func try(f func()) (err error) {
	defer func() {
		if r := recover(); r != nil {
			if e, ok := r.(js.Error); ok {
				err = jsError(e.Value)
				return
			}
			panic(r)
		}
	}()
	f()
	return nil
}
