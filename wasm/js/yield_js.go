//go:build js && wasm

package main

import (
	"sync"
	"syscall/js"
)

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
