//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"sync"
	"syscall/js"
)

// await blocks the calling goroutine until p settles. It must not be called
// on the goroutine of a js.FuncOf callback (that deadlocks): callbacks start
// a goroutine first (see promise).
func await(p js.Value) (js.Value, error) {
	type result struct {
		v   js.Value
		err error
	}
	ch := make(chan result, 1)
	var then, catch js.Func
	then = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{v: arg0(args)}
		return nil
	})
	catch = js.FuncOf(func(_ js.Value, args []js.Value) any {
		ch <- result{err: jsError(arg0(args))}
		return nil
	})
	p.Call("then", then, catch)
	r := <-ch
	then.Release()
	catch.Release()
	return r.v, r.err
}

func arg0(args []js.Value) js.Value {
	if len(args) == 0 {
		return js.Undefined()
	}
	return args[0]
}

// jsError turns a thrown JS value into a Go error.
func jsError(v js.Value) error {
	if v.Type() == js.TypeObject && v.Get("message").Type() == js.TypeString {
		return errors.New(v.Get("message").String())
	}
	return errors.New(v.String())
}

// promise runs f on a new goroutine and returns a JS Promise of its result.
func promise(f func() (any, error)) js.Value {
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
				reject.Invoke(js.Global().Get("Error").New(err.Error()))
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

// yielder lets a computing goroutine give the JS event loop a turn (to take
// a cancel message, say) through a MessageChannel, which unlike setTimeout
// is not clamped to 4 ms.
type yielder struct {
	mu      sync.Mutex
	waiters []chan struct{}
	port    js.Value
	onMsg   js.Func
}

func newYielder() *yielder {
	y := &yielder{}
	mc := js.Global().Get("MessageChannel").New()
	y.port = mc.Get("port2")
	y.onMsg = js.FuncOf(func(js.Value, []js.Value) any {
		y.mu.Lock()
		if len(y.waiters) > 0 {
			close(y.waiters[0])
			y.waiters = y.waiters[1:]
		}
		y.mu.Unlock()
		return nil
	})
	mc.Get("port1").Set("onmessage", y.onMsg)
	return y
}

// yield returns after the event loop has run the tasks queued before it.
func (y *yielder) yield() {
	ch := make(chan struct{})
	y.mu.Lock()
	y.waiters = append(y.waiters, ch)
	y.mu.Unlock()
	y.port.Call("postMessage", nil)
	<-ch
}
