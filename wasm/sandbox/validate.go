package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/wasm/abi"
)

// checkSpec accepts the spec of role_call(start): the run's own prompt and
// seed, valid settings with the bands resolved.
func (r *run) checkSpec(s engine.RunSpec) error {
	switch {
	case s.Prompt != r.spec.Prompt:
		return errors.New("the prompt is not the run's prompt")
	case s.Seed != r.seed || s.Settings.Seed != r.seed:
		return fmt.Errorf("the seed is not the run's seed %d (set spec.seed and settings.seed to it)", r.seed)
	case s.Settings.Bands < 1 || s.Settings.Bands > protocol.MaxBands:
		return fmt.Errorf("settings.bands %d is not resolved to 1..%d", s.Settings.Bands, protocol.MaxBands)
	}
	return s.Settings.Validate()
}

// decodeCall decodes a role request, a protocol call's request, and checks it
// with the one role-call validator (rolecall.Decode), so that no request can
// make a role index outside the canvas. A request without a canvas gets the
// run's canvas as its events describe it. The request must be about the
// run's own prompt.
func (r *run) decodeCall(role string, data []byte) (rolecall.Request, error) {
	c := protocol.Call{Role: role}
	if err := decodeIn(r, data, &c.Request, abi.DecodeRequest); err != nil {
		return rolecall.Request{}, err
	}
	if c.Request.Prompt != r.spec.Prompt {
		return rolecall.Request{}, errors.New("the prompt is not the run's prompt")
	}
	if c.Request.Canvas != nil || c.Request.CanvasPNG != "" || r.fold.Canvas == nil {
		return rolecall.Decode(c, r.fold.Canvas)
	}
	// A request without a canvas gets the run's as its events describe it:
	// one copy shared by the calls between the events that change it (the
	// engine's requests share theirs the same way; roles never change it).
	return rolecall.DecodeShared(c, r.sharedCanvas())
}

// sharedCanvas is the copy of the folded canvas that requests without one
// (and run_done's PNG) share until an event changes the canvas.
func (r *run) sharedCanvas() *canvas.Canvas {
	if r.reqCanvas == nil {
		r.reqCanvas = r.fold.Canvas.Clone()
	}
	return r.reqCanvas
}

// decodeIn decodes a request in the guest's ABI: a binary frame (with
// binary), or JSON in ABI 1.
func decodeIn[T any](r *run, data []byte, v *T, binary func([]byte, *T) error) error {
	if r.abi == abi.Version1 {
		return json.Unmarshal(data, v)
	}
	return binary(data, v)
}
