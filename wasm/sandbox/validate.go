package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/world"
)

const gridRows = world.Grid

// maxBands bounds band indices in requests: one band a row, plus redraws
// never add bands.
const maxBands = world.Grid

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

// decodeRequest decodes a role request into q and checks its state (st
// points into q) so that no request can make a role index outside the
// canvas. A request without a canvas gets canvas, the run's canvas as its
// events describe it.
func decodeRequest(data []byte, q any, st *engine.State, prompt string, canvas world.Tokens) error {
	if err := json.Unmarshal(data, q); err != nil {
		return err
	}
	if st.Canvas == nil {
		st.Canvas = slices.Clone(canvas)
	}
	switch {
	case st.Prompt != prompt:
		return errors.New("the prompt is not the run's prompt")
	case len(st.Canvas) != world.Grid*world.Grid:
		return fmt.Errorf("the canvas has %d cells, want %d", len(st.Canvas), world.Grid*world.Grid)
	case st.Band < 0 || st.Band >= maxBands:
		return fmt.Errorf("band %d is outside [0, %d)", st.Band, maxBands)
	case len(st.Thoughts) > st.Band:
		return fmt.Errorf("%d thoughts for band %d: a request carries the thoughts of earlier bands only", len(st.Thoughts), st.Band)
	case st.Rows.Start < 0 || st.Rows.Start >= world.Grid:
		return fmt.Errorf("rows start at %d, outside [0, %d)", st.Rows.Start, world.Grid)
	case st.Rows.End != -1 && (st.Rows.End <= st.Rows.Start || st.Rows.End > world.Grid):
		return fmt.Errorf("rows [%d, %d) are not a band of the %d-row canvas", st.Rows.Start, st.Rows.End, world.Grid)
	}
	if err := st.Settings.Validate(); err != nil {
		return err
	}
	for i, t := range st.Canvas {
		if t < -1 || t >= world.NumImageTokens {
			return fmt.Errorf("canvas cell %d holds %d, outside -1..%d", i, t, world.NumImageTokens-1)
		}
	}
	switch q := q.(type) {
	case *engine.PaintRequest:
		if q.Round < 0 {
			return fmt.Errorf("round %d is negative", q.Round)
		}
	case *engine.CritiqueRequest:
		if q.Round < 0 {
			return fmt.Errorf("round %d is negative", q.Round)
		}
		if q.Rows.End < 0 {
			return errors.New("a critique needs a band with known rows")
		}
	}
	return nil
}
