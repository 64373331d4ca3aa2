package guest

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/wasm/abi"
)

// backend is an engine.Backend whose roles are the host's, played through
// the one role-call client (package rolecall) over role_call / role_next /
// role_read.
type backend struct {
	h    Host
	info abi.BackendInfo
	lend bool         // Options.Lend
	kept *kept        // buffers (and canvas) reused run after run
	pix  []byte       // the pixels of the strip message being handed on
	last canvas.Strip // the last strip the host sent without a PNG
}

// hostPNG reports whether event p's PNG is left to the host: a
// band_progress of the strip the host just sent without one (the host
// keeps it, and a PNG encoded here would cost more than the rest of the
// guest's run), and run_done's final canvas (the host folds the same
// canvas from the run's events).
func (b *backend) hostPNG(p protocol.Payload) bool {
	switch e := p.(type) {
	case *protocol.BandProgress:
		s, ok := e.PNGSource().(canvas.Strip)
		if !ok || e.PNG != "" || s.Rows != b.last.Rows || len(s.Pix) == 0 || len(b.last.Pix) == 0 || &s.Pix[0] != &b.last.Pix[0] {
			return false
		}
		b.last = canvas.Strip{}
		return true
	case *protocol.RunDone:
		return e.PNG == "" && e.PNGSource() != nil
	}
	return false
}

// strip turns a call_strip into the engine's strip (rolecall.Client.Strip):
// with the pixels the host sent, not decoding a PNG, which in wasm cost
// more than the rest of the guest's run. The host sends no PNG beside them
// (its band_progress is left to the host, hostPNG); an older host's PNG is
// kept for the engine to pass on. Without pixels (an older host still),
// the PNG is decoded.
func (b *backend) strip(s *protocol.CallStrip, w int) (canvas.Strip, error) {
	h := s.Rows.End - s.Rows.Start
	if options.NoPixels && b.pix == nil && s.PNG == "" && w >= 1 && h >= 1 {
		// Kept by the host (abi.FlagNoPixels): a placeholder.
		b.last = canvas.Strip{Rows: s.Rows, W: w, Pix: b.placeholder(s.Rows, w), Tokens: s.Tokens}
		return b.last, nil
	}
	if b.pix == nil || w < 1 || h < 1 || len(b.pix) != 4*w*h {
		return canvas.DecodeBase64(s.PNG, s.Rows, w, s.Tokens)
	}
	if s.PNG == "" {
		b.last = canvas.Strip{Rows: s.Rows, W: w, Pix: b.pix, Tokens: s.Tokens}
		return b.last, nil
	}
	png, err := base64.StdEncoding.DecodeString(s.PNG)
	if err != nil {
		return canvas.Strip{}, errors.New("guest: the host's strip png is not base64")
	}
	return canvas.Strip{Rows: s.Rows, W: w, Pix: b.pix, Tokens: s.Tokens}.WithPNG(png), nil
}

// placeholder is the pixels of a strip the host kept (Options.NoPixels):
// lent, the canvas's own rows r, where the engine puts the strip; else
// zeros.
func (b *backend) placeholder(r protocol.Rows, w int) []byte {
	if c := b.kept.canvas; b.lend && c != nil && c.W == w && r.Start >= 0 && r.End <= c.H {
		return c.Pix[4*w*r.Start : 4*w*r.End : 4*w*r.End]
	}
	return make([]byte, 4*w*(r.End-r.Start))
}

func (b *backend) Name() string      { return b.info.Name }
func (b *backend) DefaultBands() int { return b.info.DefaultBands }

// CanvasPNG implements engine.CanvasPNG: none, so run_done leaves the
// final canvas's PNG out and the host fills it in from the canvas it folds
// from the run's events (the same pixels), natively.
func (b *backend) CanvasPNG(*canvas.Canvas) ([]byte, error) { return nil, nil }

// ReadsCanvasOnCall implements engine.CanvasReader: the requests carry no
// canvas (rolecall.Client.NoCanvas) and Call encodes each at once, so the
// engine need not copy its canvas for them.
func (b *backend) ReadsCanvasOnCall() bool { return true }

// NewCanvas implements engine.CanvasMaker: with Options.Lend, the canvas of
// the instance's last run, cleared (nil, for the engine to make one, else).
func (b *backend) NewCanvas(g engine.Geometry) (*canvas.Canvas, error) {
	if !b.lend {
		return nil, nil
	}
	c := b.kept.canvas
	if c == nil || c.W != g.Width || c.H != g.Height || c.Grid != g.Grid {
		var err error
		if c, err = g.NewCanvas(); err != nil {
			return nil, err
		}
		b.kept.canvas = c
		return c, nil
	}
	if err := c.ClearRows(protocol.Rows{Start: 0, End: c.H}); err != nil {
		return nil, err
	}
	return c, nil
}

// NewRun opens the host's run (role start) and returns the roles it has.
func (b *backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	var m abi.Message
	b.kept.req = abi.AppendSpec(b.kept.req[:0], &spec)
	err := b.exchange(ctx, abi.RoleStart, b.kept.req, func(x abi.Message) error {
		if x.Type == abi.MsgError {
			if x.Code == protocol.CodeInvalidRequest {
				return &engine.PromptError{Err: errors.New(x.Message)}
			}
			return errors.New(x.Message)
		}
		m = x
		return nil
	})
	if err != nil {
		return nil, err
	}
	if m.Roles == nil {
		return nil, errors.New("guest: the host's start message lists no roles")
	}
	// Requests go without the canvas (not even a painter of pixels' PNG,
	// which would be encoded here in wasm every call): the host keeps it
	// from the run's events (band_progress, band_redrawn), which the
	// engine emits before every request that depends on them.
	rc := &rolecall.Client{Name: "the host", T: b, Strip: b.strip, NoCanvas: true}
	r := rc.Roles(m.Roles.Reviewer)
	if !m.Roles.Thinker {
		r.Thinker = nil
	}
	if !m.Roles.Painter {
		r.Painter = nil
	}
	if !m.Roles.Critic {
		r.Critic = nil
	}
	if !m.Roles.Decider {
		r.Decider = nil
	}
	return hostRun(r), nil
}

type hostRun engine.Roles

func (r hostRun) Roles() engine.Roles { return engine.Roles(r) }
func (hostRun) Close() error          { return nil }

// Call plays one role call (rolecall.Transport): the host's messages become
// the call's protocol payloads (abi.Call).
func (b *backend) Call(ctx context.Context, c protocol.Call, on func(protocol.Payload) error) (*protocol.CallDone, error) {
	role := abi.RoleOf(c.Role)
	if role < 0 {
		return nil, fmt.Errorf("guest: no ABI role for %q", c.Role)
	}
	call := abi.Call{Role: c.Role}
	b.pix = nil
	b.kept.req = abi.AppendRequest(b.kept.req[:0], &c.Request)
	err := b.exchange(ctx, role, b.kept.req, func(m abi.Message) error {
		if m.Type == abi.MsgStrip {
			b.pix = m.Pix
		}
		p, err := call.Add(m)
		if err == nil && p != nil {
			// A stream callback's error (the engine ended an open band)
			// is ignored here: ctx is done too, so the next role_next
			// asks the host to cancel and the role ends with an error.
			on(p)
		}
		return err
	})
	if err != nil {
		return nil, err
	}
	return call.Done(), nil
}

// exchange sends req (a request's frame) and hands each of the host's
// messages to on until the call's done or error message. Once ctx is done (the engine cancels a
// role's context to stop it) the next role_next asks the host to cancel.
func (b *backend) exchange(ctx context.Context, role int, req []byte, on func(abi.Message) error) error {
	id := b.h.RoleCall(uint32(role), req)
	var bad error // a message the role cannot send: cancel, read to the end
	for {
		n := b.h.RoleNext(id, ctx.Err() != nil || bad != nil)
		if cap(b.kept.msg) < int(n) {
			b.kept.msg = make([]byte, n)
		}
		buf := b.kept.msg[:n]
		b.h.RoleRead(id, buf)
		// Lent, a strip's pixels stay in buf and its tokens and rows in
		// the reader, read over by the next message.
		m := &b.kept.m
		var err error
		if b.lend {
			err = b.kept.reader.Decode(buf, m)
		} else {
			err = abi.DecodeMessage(buf, m)
		}
		if err != nil {
			return fmt.Errorf("guest: the host's %s message: %w", abi.RoleName(role), err)
		}
		final := m.Type == abi.MsgDone || m.Type == abi.MsgError
		if bad != nil {
			if final {
				return bad
			}
			continue
		}
		err = on(*m)
		if final {
			return err
		}
		if err != nil {
			bad = fmt.Errorf("guest: %w", err)
		}
	}
}
