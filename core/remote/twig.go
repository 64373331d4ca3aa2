package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
)

// TwigCaller plays roles with a twig gateway's model (`twig serve`, or the
// edge worker in front of one) through its stateless model calls: POST
// {base}/calls with a twig/1 call message, answered by server-sent events
// (call_delta, call_row, then call_done or error). It implements
// engine.Thinker, Painter, Critic and Decider.
type TwigCaller struct{ c caller }

// NewTwigCaller returns a caller on ep (ep.Model is only used in names).
// role names it in errors ("thinker", "painter", …).
func NewTwigCaller(role string, ep Endpoint, o Options) (*TwigCaller, error) {
	if ep.Model == "" {
		ep.Model = "twig"
	}
	if err := ep.check(role); err != nil {
		return nil, err
	}
	return &TwigCaller{c: caller{role: role, ep: ep, o: o.withDefaults()}}, nil
}

// call sends one model call (a rolecall.Transport); onEvent sees its
// call_delta and call_row events.
func (t *TwigCaller) call(ctx context.Context, c protocol.Call, onEvent func(protocol.Payload) error) (*protocol.CallDone, error) {
	var id [8]byte
	rand.Read(id[:])
	role := c.Role
	body, err := json.Marshal(protocol.Message{ID: "remote-" + hex.EncodeToString(id[:]), Body: &c})
	if err != nil {
		return nil, err
	}
	var done *protocol.CallDone
	r := request{op: role + " call", path: "/calls", contentType: "application/json", accept: "text/event-stream",
		body: func() (io.Reader, error) { return bytes.NewReader(body), nil }, limit: t.c.o.MaxResponseBytes}
	err = t.c.do(ctx, r, func(resp *http.Response, body io.Reader) error {
		sse := newSSEReader(body)
		for {
			data, err := sse.next()
			if err == io.EOF {
				return errors.New("the call's stream ended before call_done")
			}
			if err != nil {
				return err
			}
			ev, err := protocol.Decode(data)
			if err != nil {
				return err
			}
			switch p := ev.Payload.(type) {
			case *protocol.CallDone:
				done = p
				return nil
			case *protocol.Error:
				return &upstreamError{code: p.Code, msg: p.Message}
			default:
				if err := onEvent(p); err != nil {
					return err
				}
			}
		}
	})
	return done, err
}

// roles are the roles played through the one role-call client. Plan
// reviews are not offered: POST /calls has no hello to say whether the
// server's model reviews its plans.
func (t *TwigCaller) roles() engine.Roles {
	rc := &rolecall.Client{Name: "twig server " + t.c.ep.Host(), T: rolecall.TransportFunc(t.call)}
	return rc.Roles(false)
}

// Think implements engine.Thinker.
func (t *TwigCaller) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	return t.roles().Thinker.Think(ctx, req, emit)
}

// PaintBand implements engine.Painter: a twig server's model paints token
// rows, each a strip (engine.TokenGeometry's canvas).
func (t *TwigCaller) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	return t.roles().Painter.PaintBand(ctx, req, onStrip)
}

// Critique implements engine.Critic.
func (t *TwigCaller) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	return t.roles().Critic.Critique(ctx, req)
}

// ShouldThink implements engine.Decider.
func (t *TwigCaller) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	return t.roles().Decider.ShouldThink(ctx, req)
}
