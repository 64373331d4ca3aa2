// Package client is the Go client of a twig gateway: it sends runs and
// model calls over one gateway.Transport (package wsconn dials one; the
// Worker has its own) and plays the engine's roles with the server's model.
package client

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/edge/gateway"
)

// Client is the other end of a gateway: it sends runs and model calls over
// one Transport (package wsconn dials one) and plays the engine's roles
// with the server's model, so a loop running here can think, paint and
// critique there. Any number of calls and runs may go at once.
type Client struct {
	t    gateway.Transport
	wmu  sync.Mutex
	next atomic.Int64

	mu      sync.Mutex
	streams map[string]*clientStream
	hello   *protocol.Hello
	helloOK chan struct{}
	done    chan struct{}
	err     error

	// OnConnError, when set before the first request, gets the errors the
	// server sends about the connection itself (run_id ""), e.g. a refused
	// malformed message.
	OnConnError func(*protocol.Error)
}

// New starts a client on t; it reads t until t fails or Close.
func New(t gateway.Transport) *Client {
	c := &Client{t: t, streams: map[string]*clientStream{}, helloOK: make(chan struct{}), done: make(chan struct{})}
	go c.readLoop()
	return c
}

// Close closes the connection (code 1000); calls in flight fail.
func (c *Client) Close() error { return c.t.Close(protocol.CloseNormal, "") }

// Done is closed when the connection has ended; Err says why.
func (c *Client) Done() <-chan struct{} { return c.done }

// Err is why the connection ended (nil while it is open).
func (c *Client) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}

// Hello waits for the server's greeting.
func (c *Client) Hello(ctx context.Context) (*protocol.Hello, error) {
	select {
	case <-c.helloOK:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.hello, nil
	case <-c.done:
		return nil, c.Err()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (c *Client) readLoop() {
	var err error
	for {
		var b []byte
		if b, err = c.t.ReadMessage(); err != nil {
			break
		}
		ev, derr := protocol.Decode(b)
		if derr != nil {
			continue // a newer server's message this build cannot read
		}
		if ev.RunID == "" {
			switch p := ev.Payload.(type) {
			case *protocol.Hello:
				c.mu.Lock()
				if c.hello == nil {
					c.hello = p
					close(c.helloOK)
				}
				c.mu.Unlock()
			case *protocol.Error:
				if f := c.OnConnError; f != nil {
					f(p)
				}
			}
			continue
		}
		c.mu.Lock()
		st := c.streams[ev.RunID]
		c.mu.Unlock()
		if st != nil {
			st.put(ev)
		}
	}
	c.mu.Lock()
	c.err = fmt.Errorf("edge: client: the connection ended: %w", err)
	c.mu.Unlock()
	close(c.done)
}

func (c *Client) send(m protocol.Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.t.WriteMessage(b)
}

// open registers a new request's stream.
func (c *Client) open() (string, *clientStream) {
	id := "c" + strconv.FormatInt(c.next.Add(1), 10)
	st := &clientStream{ready: make(chan struct{}, 1), done: c.done}
	c.mu.Lock()
	c.streams[id] = st
	c.mu.Unlock()
	return id, st
}

func (c *Client) forget(id string) {
	c.mu.Lock()
	delete(c.streams, id)
	c.mu.Unlock()
}

// wait returns the stream's next event; once ctx has ended it cancels the
// request on the server and returns ctx's error, even when events had
// arrived meanwhile: a caller that gave up never gets a result.
func (c *Client) wait(ctx context.Context, id string, st *clientStream) (protocol.Event, error) {
	ev, err := st.next(ctx)
	if ctx.Err() != nil {
		c.send(protocol.Message{ID: id, Body: &protocol.Cancel{}})
		return protocol.Event{}, ctx.Err()
	}
	if err != nil {
		return ev, c.Err()
	}
	return ev, nil
}

// Call sends one model call and returns its result; onEvent (may be nil)
// sees its call_delta and call_strip events as they come. Once ctx ends the
// call is cancelled on the server and Call returns ctx.Err().
func (c *Client) Call(ctx context.Context, call protocol.Call, onEvent func(protocol.Event)) (*protocol.CallDone, error) {
	return c.callEvents(ctx, call, func(ev protocol.Event) error {
		if onEvent != nil {
			onEvent(ev)
		}
		return nil
	})
}

// call is Call as a rolecall.Transport: on sees the payloads.
func (c *Client) call(ctx context.Context, call protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
	return c.callEvents(ctx, call, func(ev protocol.Event) error { return on(ev.Payload) })
}

func (c *Client) callEvents(ctx context.Context, call protocol.Call, on func(protocol.Event) error) (*protocol.CallDone, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	id, st := c.open()
	defer c.forget(id)
	if err := c.send(protocol.Message{ID: id, Body: &call}); err != nil {
		return nil, err
	}
	for {
		ev, err := c.wait(ctx, id, st)
		if err != nil {
			return nil, err
		}
		switch p := ev.Payload.(type) {
		case *protocol.CallDone:
			return p, nil
		case *protocol.Error:
			err := fmt.Errorf("server: %s: %s", p.Code, p.Message)
			if p.Code == protocol.CodeInvalidRequest {
				// the request is wrong (a prompt with unknown words), not the
				// role: a run played through these calls fails with
				// invalid_request too, as it would on the server itself
				err = &engine.Error{Code: p.Code, Band: -1, Err: err}
			}
			return nil, &rolecall.Error{Code: p.Code, Err: err}
		default:
			if err := on(ev); err != nil {
				c.send(protocol.Message{ID: id, Body: &protocol.Cancel{}})
				return nil, err
			}
		}
	}
}

// Draw runs a whole run on the server; sink gets every event, the last
// being run_done (nil error) or error (returned as a *protocol.Error).
func (c *Client) Draw(ctx context.Context, prompt string, s protocol.Settings, sink func(protocol.Event) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	id, st := c.open()
	defer c.forget(id)
	if err := c.send(protocol.Message{ID: id, Body: &protocol.Start{Prompt: prompt, Settings: s}}); err != nil {
		return err
	}
	for {
		ev, err := c.wait(ctx, id, st)
		if err != nil {
			return err
		}
		if sink != nil {
			if err := sink(ev); err != nil {
				c.send(protocol.Message{ID: id, Body: &protocol.Cancel{}})
				return err
			}
		}
		switch p := ev.Payload.(type) {
		case *protocol.RunDone:
			return nil
		case *protocol.Error:
			return p
		}
	}
}

// Roles returns the engine roles played by the server's model, through
// the one role-call client (package rolecall). The thinker reviews its plans
// when the server's hello lists the review role (Hello must have arrived:
// a client that has not waited for it plays no reviews).
func (c *Client) Roles() engine.Roles {
	review := false
	var geom engine.Geometry // zero: a token model's
	select {
	case <-c.helloOK:
		c.mu.Lock()
		review = slices.Contains(c.hello.Roles, protocol.RoleReview)
		if k := c.hello.Canvas; k != nil {
			geom = engine.Geometry{Width: k.Width, Height: k.Height, Grid: k.Grid, Unit: k.Unit}
		}
		c.mu.Unlock()
	default:
	}
	rc := &rolecall.Client{Name: "the server", Geometry: geom, T: rolecall.TransportFunc(func(ctx context.Context, call protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
		return c.call(ctx, call, on)
	})}
	return rc.Roles(review)
}

// Backend returns an engine backend whose roles are played by the server's
// model; bands is its default number of bands.
func (c *Client) Backend(bands int) engine.Backend {
	return engine.FuncBackend{Bands: bands, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return c.Roles(), nil
	}}
}

// errClosed ends a stream whose connection has ended (wait returns why).
var errClosed = errors.New("edge: connection closed")

// clientStream queues one request's events; the read loop never blocks on it.
type clientStream struct {
	mu    sync.Mutex
	q     []protocol.Event
	ready chan struct{}
	done  <-chan struct{}
}

func (s *clientStream) put(ev protocol.Event) {
	s.mu.Lock()
	s.q = append(s.q, ev)
	s.mu.Unlock()
	select {
	case s.ready <- struct{}{}:
	default:
	}
}

func (s *clientStream) next(ctx context.Context) (protocol.Event, error) {
	for {
		s.mu.Lock()
		if len(s.q) > 0 {
			ev := s.q[0]
			s.q[0] = protocol.Event{}
			s.q = s.q[1:]
			s.mu.Unlock()
			return ev, nil
		}
		s.mu.Unlock()
		select {
		case <-s.ready:
		case <-s.done:
			s.mu.Lock()
			n := len(s.q)
			s.mu.Unlock()
			if n == 0 {
				return protocol.Event{}, errClosed
			}
		case <-ctx.Done():
			return protocol.Event{}, ctx.Err()
		}
	}
}
