package gateway

import (
	"context"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
)

// CallError is a failed call: a protocol error code and the cause.
//
// Deprecated: it is rolecall.Error, the one codec's; use that name.
type CallError = rolecall.Error

// ErrClientGone is wrapped by the error of a failed write of a response
// (an HTTP stream): the client went away, so ErrorCode says canceled, not
// internal.
var ErrClientGone = errors.New("edge: the client went away")

// ErrorCode returns the protocol error code of err: a *rolecall.Error's or an
// *engine.Error's code, invalid_request for a prompt the backend refused (an
// *engine.PromptError: unknown words), canceled for ErrClientGone or a
// cancelled context, deadline_exceeded for an expired one, else internal.
func ErrorCode(err error) string {
	if errors.Is(err, ErrClientGone) {
		return protocol.CodeCanceled
	}
	if e, ok := errors.AsType[*rolecall.Error](err); ok {
		return e.Code
	}
	if _, ok := errors.AsType[*engine.PromptError](err); ok {
		return protocol.CodeInvalidRequest
	}
	if e, ok := errors.AsType[*engine.Error](err); ok {
		return e.Code
	}
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return protocol.CodeDeadline
	case errors.Is(err, context.Canceled):
		return protocol.CodeCanceled
	}
	return protocol.CodeInternal
}

// Call plays one role once on a fresh run of backend b: the request carries
// the whole state, so nothing is kept between calls. Thought tokens (think)
// and painted strips (paint) go to emit as *protocol.CallDelta and
// *protocol.CallStrip as they come; an emit error stops the call and is
// returned as is. The result is the call_done payload. The request is
// checked and played by package rolecall, the codec every path shares.
//
// The fresh run is seeded from the request: settings.seed mixed with the
// role, band and round, so the same request gives the same answer and the
// bands of one run do not share a random stream. A request with no size
// and no canvas is on the backend's painter's canvas when the backend
// says its size (an engine.Sizer), else on a twig model's.
func Call(ctx context.Context, b engine.Backend, c protocol.Call, emit func(protocol.Payload) error) (*protocol.CallDone, error) {
	if r := &c.Request; r.Width == 0 && r.Height == 0 && r.Canvas == nil && r.CanvasPNG == "" {
		// a request that says no size and carries no canvas is on the
		// backend's painter's canvas (a remote image model's own size)
		if s, ok := b.(engine.Sizer); ok {
			if g := s.Geometry(); g.Check() == nil {
				r.Width, r.Height, r.Grid = g.Width, g.Height, g.Grid
			}
		}
	}
	req, err := rolecall.Decode(c, nil)
	if err != nil {
		return nil, &rolecall.Error{Code: protocol.CodeInvalidRequest, Err: err}
	}
	if b == nil {
		return nil, &rolecall.Error{Code: protocol.CodeBackend, Err: errors.New("this gateway has no model backend")}
	}
	r := c.Request
	spec := engine.RunSpec{Prompt: r.Prompt, Settings: r.Settings, Seed: CallSeed(r.Settings.Seed, c.Role, r.Band, r.Round)}
	spec.Settings.Seed = spec.Seed
	if spec.Settings.Bands == 0 {
		spec.Settings.Bands = b.DefaultBands()
	}
	run, err := b.NewRun(ctx, spec)
	if err != nil {
		if _, ok := errors.AsType[*engine.PromptError](err); ok {
			return nil, &rolecall.Error{Code: protocol.CodeInvalidRequest, Err: fmt.Errorf("the prompt: %w", err)}
		}
		if e, ok := errors.AsType[*rolecall.Error](err); ok {
			return nil, e
		}
		if ctx.Err() != nil {
			return nil, &rolecall.Error{Code: ErrorCode(ctx.Err()), Err: fmt.Errorf("call stopped while starting the model: %w", err)}
		}
		return nil, &rolecall.Error{Code: protocol.CodeBackend, Err: fmt.Errorf("starting the model: %w", err)}
	}
	defer run.Close()
	return rolecall.Play(ctx, run.Roles(), req, emit)
}

// CallSeed derives a call's seed from the run's seed, the role, the band and
// the round (splitmix64 over the four), so calls of one run differ.
func CallSeed(seed int64, role string, band, round int) int64 {
	x := uint64(seed)
	for _, c := range role {
		x = mix(x ^ uint64(c))
	}
	x = mix(x ^ uint64(band)<<8 ^ uint64(round))
	s := int64(x >> 1)
	if s == 0 {
		s = 1
	}
	return s
}

func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ x>>30) * 0xbf58476d1ce4e5b9
	x = (x ^ x>>27) * 0x94d049bb133111eb
	return x ^ x>>31
}
