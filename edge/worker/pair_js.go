//go:build js && wasm

package main

import (
	"errors"
	"fmt"
	"net/http"
	"sync"
	"syscall/js"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/proxy"
	"github.com/twig-project/twig/internal/jsutil"
)

// wsStarted is closed when this instance's request became a websocket
// session, so main keeps the Go program alive for it (workerd gives each
// request its own instance).
var wsStarted = make(chan struct{})

// upgradePair answers a websocket request with a WebSocketPair: the glue
// (glue/entry.mjs) returns the 101 response carrying the pair's client end,
// which it finds in the request's binding; serve runs on the server end
// until the session ends.
func upgradePair(w http.ResponseWriter, r *http.Request, maxMessage int, serve func(gateway.Transport)) {
	var client, server js.Value
	err := jsutil.Try(func() {
		pair := js.Global().Get("WebSocketPair").New()
		client, server = pair.Index(0), pair.Index(1)
		server.Call("accept")
	})
	if err != nil {
		proxy.WriteError(w, http.StatusInternalServerError, "internal", "cannot open a WebSocketPair: "+err.Error())
		return
	}
	t := newPairConn(server, maxMessage)
	js.Global().Get("context").Get("binding").Set("webSocket", client)
	close(wsStarted)
	go serve(t)
	w.Header().Set("X-Twig-Websocket", "1")
	proxy.MarkSwitched(w)
}

// pairConn is the server end of a WebSocketPair as an gateway.Transport.
// Messages arrive as JS events; they queue here (bounded) until read.
type pairConn struct {
	ws        js.Value
	max, hard int
	maxQueued int
	mu        sync.Mutex
	queue     [][]byte // nil entry: a message over max, dropped
	queued    int      // bytes queued
	wake      chan struct{}
	closed    chan struct{}
	closeOnce sync.Once
	closeErr  error
	sentClose bool
	listeners []js.Func
}

// maxQueued bounds what a peer may have waiting to be read (the gateway
// reads promptly; only a flood fills it): 4 MiB, or two of its largest
// messages (an upstream's PNG strips).
func maxQueued(maxMsg int) int { return max(4<<20, 2*maxMsg) }

func newPairConn(ws js.Value, maxMsg int) *pairConn {
	// hard: a message past it closes the connection; one past max only is
	// dropped (the gateway answers too_large). 16 × max, at most 32 MiB.
	hard := max(min(16*maxMsg, 32<<20), maxMsg)
	c := &pairConn{ws: ws, max: maxMsg, hard: hard, maxQueued: maxQueued(maxMsg), wake: make(chan struct{}, 1), closed: make(chan struct{})}
	on := func(ev string, f func(js.Value)) {
		fn := jsutil.Guard(func(_ js.Value, args []js.Value) any {
			f(jsutil.Arg0(args))
			return nil
		}, func(err error) any { // a panic here would have ended the Go program, every request with it
			c.end(fmt.Errorf("websocket %s handler: %w", ev, err))
			jsutil.Try(func() { c.ws.Call("close", 1011, "internal error") })
			return nil
		})
		c.listeners = append(c.listeners, fn)
		ws.Call("addEventListener", ev, fn)
	}
	on("message", c.onMessage)
	on("close", func(ev js.Value) {
		code := ev.Get("code").Int()
		err := fmt.Errorf("websocket closed by the client (code %d)", code)
		if code == 1000 || code == 1001 || code == 1005 {
			err = fmt.Errorf("%w (code %d)", gateway.ErrClosedByPeer, code)
		}
		c.end(err)
	})
	on("error", func(js.Value) { c.end(errors.New("websocket error")) })
	return c
}

func (c *pairConn) onMessage(ev js.Value) {
	var b []byte
	switch d := ev.Get("data"); d.Type() {
	case js.TypeString:
		b = []byte(d.String())
	default: // ArrayBuffer
		u := js.Global().Get("Uint8Array").New(d)
		if u.Length() > c.hard {
			c.Close(1009, "message too big")
			return
		}
		b = make([]byte, u.Length())
		js.CopyBytesToGo(b, u)
	}
	if len(b) > c.hard {
		c.Close(1009, "message too big")
		return
	}
	var msg []byte
	if len(b) <= c.max {
		msg = b
	}
	c.mu.Lock()
	if c.queued+len(msg) > c.maxQueued {
		c.mu.Unlock()
		c.Close(1008, "too many unread messages")
		return
	}
	c.queue = append(c.queue, msg)
	c.queued += len(msg)
	c.mu.Unlock()
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

// ReadMessage returns the next message; see gateway.Transport.
func (c *pairConn) ReadMessage() ([]byte, error) {
	for {
		c.mu.Lock()
		if len(c.queue) > 0 {
			m := c.queue[0]
			c.queue = c.queue[1:]
			c.queued -= len(m)
			c.mu.Unlock()
			if m == nil {
				return nil, gateway.ErrMessageTooLarge
			}
			return m, nil
		}
		c.mu.Unlock()
		select {
		case <-c.wake:
		case <-c.closed:
			return nil, c.closeErr
		}
	}
}

// WriteMessage sends one text message (workerd buffers it; there is no
// backpressure to wait for).
func (c *pairConn) WriteMessage(b []byte) error {
	select {
	case <-c.closed:
		return c.closeErr
	default:
	}
	return jsutil.Try(func() { c.ws.Call("send", string(b)) })
}

// Close sends a close frame with code and reason, once.
func (c *pairConn) Close(code int, reason string) error {
	c.mu.Lock()
	send := !c.sentClose
	c.sentClose = true
	c.mu.Unlock()
	if send {
		if len(reason) > 123 {
			reason = reason[:123]
		}
		jsutil.Try(func() { c.ws.Call("close", code, reason) })
	}
	c.end(fmt.Errorf("%w (closed by the server, code %d)", gateway.ErrClosedByPeer, code))
	return nil
}

func (c *pairConn) end(err error) {
	c.closeOnce.Do(func() {
		c.closeErr = err
		close(c.closed)
	})
}
