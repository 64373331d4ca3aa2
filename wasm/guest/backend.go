package guest

import (
	"context"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/abi"
)

// backend is an engine.Backend whose roles are the host's.
type backend struct {
	h    Host
	info abi.BackendInfo
	buf  []byte // reused for messages
	req  []byte // reused for requests
	enc  requestEncoder
}

func (b *backend) Name() string      { return b.info.Name }
func (b *backend) DefaultBands() int { return b.info.DefaultBands }

// NewRun opens the host's run (role start) and returns the roles it has.
func (b *backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	m, err := b.call(ctx, abi.RoleStart, spec, nil)
	if err != nil {
		return nil, err
	}
	if m.Roles == nil {
		return nil, errors.New("guest: the host's start message lists no roles")
	}
	var r engine.Roles
	if m.Roles.Thinker {
		r.Thinker = thinker{b}
	}
	if m.Roles.Painter {
		r.Painter = painter{b}
	}
	if m.Roles.Critic {
		r.Critic = critic{b}
	}
	if m.Roles.Decider {
		r.Decider = decider{b}
	}
	return hostRun(r), nil
}

type hostRun engine.Roles

func (r hostRun) Roles() engine.Roles { return engine.Roles(r) }
func (hostRun) Close() error          { return nil }

// call plays one role call: it sends req, hands each streamed message to
// on, and returns the final message. Once ctx is done (the engine cancels a
// role's context to stop it) the next role_next asks the host to cancel.
func (b *backend) call(ctx context.Context, role int, req any, on func(abi.Message)) (abi.Message, error) {
	data, err := b.enc.appendRequest(b.req[:0], req)
	if err != nil {
		return abi.Message{}, fmt.Errorf("guest: encode the %s request: %w", abi.RoleName(role), err)
	}
	b.req = data
	id := b.h.RoleCall(uint32(role), data)
	for {
		n := b.h.RoleNext(id, ctx.Err() != nil)
		if cap(b.buf) < int(n) {
			b.buf = make([]byte, n)
		}
		buf := b.buf[:n]
		b.h.RoleRead(id, buf)
		var m abi.Message
		if err := decodeMessage(buf, &m); err != nil {
			return abi.Message{}, fmt.Errorf("guest: the host's %s message: %w", abi.RoleName(role), err)
		}
		switch m.Type {
		case abi.MsgDone:
			return m, nil
		case abi.MsgError:
			return m, errors.New(m.Message)
		}
		if on != nil {
			on(m)
		}
	}
}

type thinker struct{ b *backend }

func (t thinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	m, err := t.b.call(ctx, abi.RoleThink, req, func(m abi.Message) {
		switch {
		case m.Type == abi.MsgDelta:
			emit(m.Text)
		case m.Type == abi.MsgSetEnd && req.SetEnd != nil:
			req.SetEnd(m.End)
		}
	})
	return m.Text, err
}

type painter struct{ b *backend }

func (p painter) PaintBand(ctx context.Context, req engine.PaintRequest, onRow func(int, []int)) error {
	_, err := p.b.call(ctx, abi.RolePaint, req, func(m abi.Message) {
		if m.Type == abi.MsgRow {
			onRow(m.Row, m.Tokens)
		}
	})
	return err
}

type critic struct{ b *backend }

func (c critic) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	m, err := c.b.call(ctx, abi.RoleCritique, req, nil)
	if err != nil {
		return engine.Critique{}, err
	}
	if m.Critique == nil {
		return engine.Critique{}, errors.New("guest: the host's critique message has no critique")
	}
	return *m.Critique, nil
}

type decider struct{ b *backend }

func (d decider) ShouldThink(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	m, err := d.b.call(ctx, abi.RoleDecide, req, nil)
	return m.Think, m.Probability, err
}
