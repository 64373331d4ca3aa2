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

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
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

// call sends one model call; onEvent sees its call_delta and call_row events.
func (t *TwigCaller) call(ctx context.Context, role string, cr protocol.CallRequest, onEvent func(protocol.Payload) error) (*protocol.CallDone, error) {
	var id [8]byte
	rand.Read(id[:])
	body, err := json.Marshal(protocol.Message{ID: "remote-" + hex.EncodeToString(id[:]), Body: &protocol.Call{Role: role, Request: cr}})
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

func callRequest(st engine.State, round int, thought string, row int) protocol.CallRequest {
	return protocol.CallRequest{Prompt: st.Prompt, Settings: st.Settings, Band: st.Band, Rows: st.Rows,
		Thoughts: d0(st.Thoughts), Canvas: []int(st.Canvas), Round: round, Thought: thought, Row: row}
}

// Think implements engine.Thinker.
func (t *TwigCaller) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	done, err := t.call(ctx, protocol.RoleThink, callRequest(req.State, 0, "", 0), func(p protocol.Payload) error {
		if d, ok := p.(*protocol.CallDelta); ok && emit != nil {
			emit(d.Text)
		}
		return nil
	})
	if err != nil {
		return "", err
	}
	if done.Thought == nil {
		return "", t.bad("think", "no thought")
	}
	if done.Thought.EndRow != 0 && req.SetEnd != nil {
		req.SetEnd(done.Thought.EndRow)
	}
	return done.Thought.Text, nil
}

// PaintBand implements engine.Painter.
func (t *TwigCaller) PaintBand(ctx context.Context, req engine.PaintRequest, onRow func(int, []int)) error {
	_, err := t.call(ctx, protocol.RolePaint, callRequest(req.State, req.Round, req.Thought, 0), func(p protocol.Payload) error {
		if r, ok := p.(*protocol.CallRow); ok {
			onRow(r.Row, r.Tokens)
		}
		return ctx.Err() // the engine cancels ctx to end an open band
	})
	return err
}

// Critique implements engine.Critic.
func (t *TwigCaller) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	done, err := t.call(ctx, protocol.RoleCritique, callRequest(req.State, req.Round, req.Thought, 0), ignore)
	if err != nil {
		return engine.Critique{}, err
	}
	if done.Critique == nil {
		return engine.Critique{}, t.bad("critique", "no critique")
	}
	c := done.Critique
	return engine.Critique{Score: c.Score, Parsed: c.Parsed, Revision: c.Revision, Raw: c.Raw, Tokens: c.Tokens}, nil
}

// ShouldThink implements engine.Decider.
func (t *TwigCaller) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	done, err := t.call(ctx, protocol.RoleDecide, callRequest(req.State, 0, req.Thought, req.Row), ignore)
	if err != nil {
		return false, 0, err
	}
	if done.Decision == nil {
		return false, 0, t.bad("decide", "no decision")
	}
	return done.Decision.Think, done.Decision.Probability, nil
}

func ignore(protocol.Payload) error { return nil }

func (t *TwigCaller) bad(role, what string) error {
	return &Error{Role: t.c.role, Host: t.c.ep.Host(), Op: role + " call", Err: fmt.Errorf("call_done has %s", what)}
}
