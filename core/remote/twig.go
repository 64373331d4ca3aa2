package remote

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
)

// TwigCaller plays roles with a twig gateway's model (`twig serve`, or the
// edge worker in front of one) through its stateless model calls: POST
// {base}/calls with a twig/1 call message, answered by server-sent events
// (call_delta, call_strip, then call_done or error). It implements
// engine.Thinker, Painter, Critic and Decider, and engine.Sizer: the far
// server's painter's canvas, which its GET {base}/models announces (a twig
// model's 256×256 token canvas, or a remote image model's own size when the
// server's painter is one).
type TwigCaller struct {
	c    caller
	geom *farGeometry // shared by the copies of one caller
}

// farGeometry is the far server's painter's canvas once asked.
type farGeometry struct {
	mu    sync.Mutex
	known bool
	g     engine.Geometry
}

// NewTwigCaller returns a caller on ep (ep.Model is only used in names).
// role names it in errors ("thinker", "painter", …).
func NewTwigCaller(role string, ep Endpoint, o Options) (*TwigCaller, error) {
	if ep.Model == "" {
		ep.Model = "twig"
	}
	if err := ep.check(role); err != nil {
		return nil, err
	}
	return &TwigCaller{c: caller{role: role, ep: ep, o: o.withDefaults()}, geom: &farGeometry{}}, nil
}

// Geometry implements engine.Sizer: the far server's painter's canvas as
// its GET /models said (Backend.NewRun asks before a run), else a twig
// model's (engine.TokenGeometry).
func (t *TwigCaller) Geometry() engine.Geometry {
	if t.geom != nil {
		t.geom.mu.Lock()
		defer t.geom.mu.Unlock()
		if t.geom.known {
			return t.geom.g
		}
	}
	return engine.TokenGeometry
}

// learnGeometry asks the far server's GET {base}/models, once, for its
// painter's canvas (the "twig" extension of the twig-painter model). A
// server that announces none (an older one) paints a twig model's canvas.
func (t *TwigCaller) learnGeometry(ctx context.Context) error {
	t.geom.mu.Lock()
	defer t.geom.mu.Unlock()
	if t.geom.known {
		return nil
	}
	var g engine.Geometry
	r := request{method: http.MethodGet, op: "model list", path: "/models", accept: "application/json", limit: t.c.o.MaxResponseBytes}
	err := t.c.do(ctx, r, func(resp *http.Response, body io.Reader) error {
		var err error
		g, err = painterCanvas(body)
		return err
	})
	if e, ok := errors.AsType[*Error](err); ok && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed) {
		g, err = engine.TokenGeometry, nil // no model list: a twig model's canvas
	}
	if err != nil {
		return err
	}
	t.geom.g, t.geom.known = g, true
	return nil
}

// call sends one model call (a rolecall.Transport); onEvent sees its
// call_delta and call_strip events.
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
	rc := &rolecall.Client{Name: "twig server " + t.c.ep.Host(), T: rolecall.TransportFunc(t.call), Geometry: t.Geometry()}
	return rc.Roles(false)
}

// Think implements engine.Thinker.
func (t *TwigCaller) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	return t.roles().Thinker.Think(ctx, req, emit)
}

// PaintBand implements engine.Painter: the server's painter paints strips
// of the canvas (token rows of a twig model, a band of an image model).
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

// painterCanvas reads a twig server's GET /v1/models answer: the canvas
// its painter paints (the "twig" extension of the twig-painter model), or
// a twig model's (engine.TokenGeometry) when it announces none. A canvas
// the engine cannot cut into bands is an error.
func painterCanvas(r io.Reader) (engine.Geometry, error) {
	var list struct {
		Data []struct {
			ID   string `json:"id"`
			Twig *struct {
				Canvas protocol.Canvas `json:"canvas"`
			} `json:"twig"`
		} `json:"data"`
	}
	if err := json.NewDecoder(r).Decode(&list); err != nil {
		return engine.Geometry{}, fmt.Errorf("the model list is not JSON: %w", err)
	}
	g := engine.TokenGeometry
	for _, m := range list.Data {
		if m.ID == "twig-painter" && m.Twig != nil {
			c := m.Twig.Canvas
			g = engine.Geometry{Width: c.Width, Height: c.Height, Grid: c.Grid, Unit: c.Unit}
		}
	}
	if err := g.Check(); err != nil {
		return engine.Geometry{}, fmt.Errorf("the server's painter's canvas: %w", err)
	}
	return g, nil
}
