package sandbox_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/internal/world/tokens"
)

// fakeBackend is a deterministic backend whose roles take every path the
// engine has: streamed thoughts, thinker-chosen band ends, low scores and
// redraws, decider stops, and failures on request.
type fakeBackend struct {
	failRole string // "think", "paint", "critique" or "decide": that role fails at band 1
	cancel   func() // when set, called by the painter at band 1's second row
	pixels   bool   // a painter of pixels: strips without tokens
}

func (f fakeBackend) DefaultBands() int { return 3 }

func (f fakeBackend) Name() string { return "fake" }

func (f fakeBackend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	if spec.Prompt == "unknown words" {
		return nil, errors.New("fake: cannot parse the prompt")
	}
	return engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(f.think), Painter: engine.PainterFunc(f.paint),
			Critic: engine.CriticFunc(f.critique), Decider: engine.DeciderFunc(f.decide),
		}, nil
	}}.NewRun(ctx, spec)
}

func (f fakeBackend) think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	if f.failRole == "think" && req.Band == 1 {
		return "", errors.New("fake thinker failed")
	}
	if req.SetEnd != nil {
		req.SetEnd(min(req.Rows.Start+(3+req.Band%2)*16, 256))
	}
	text := ""
	for i := range 4 + req.Band {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		w := fmt.Sprintf("b%dw%d ", req.Band, i)
		emit(w)
		text += w
	}
	return text, nil
}

func (f fakeBackend) paint(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	end := req.Rows.End
	end /= 16 // token rows of the embedded model's canvas
	if req.Rows.End < 0 {
		end = tokens.Grid
	}
	for r := req.Rows.Start / 16; r < end; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		if f.failRole == "paint" && req.Band == 1 {
			return errors.New("fake painter failed")
		}
		if f.cancel != nil && req.Band == 1 && r == req.Rows.Start/16+1 {
			f.cancel()
		}
		row := make([]int, tokens.Grid)
		for c := range row {
			row[c] = 1 + (req.Band*31+req.Round*17+r*5+c+len(req.Thought))%(tokens.NumImageTokens-1)
		}
		st := rolecalltest.TokenStrip(r, row)
		if f.pixels {
			st.Tokens = nil
		}
		onStrip(st)
	}
	return nil
}

func (f fakeBackend) critique(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	if f.failRole == "critique" && req.Band == 1 {
		return engine.Critique{}, errors.New("fake critic failed")
	}
	if c := req.Canvas; f.pixels && (c == nil || c.Pix[4*c.W*req.Rows.Start+3] == 0) {
		// The host's canvas for the guest's request must hold the band.
		return engine.Critique{}, errors.New("fake critic: the band is not on the request's canvas")
	}
	score := 95
	if req.Band == 1 && req.Round == 0 {
		score = 40
	}
	return engine.Critique{Score: score, Parsed: req.Band != 2, Revision: req.Thought + "better", Raw: "raw"}, nil
}

func (f fakeBackend) decide(_ context.Context, req engine.DecideRequest) (bool, float64, error) {
	if f.failRole == "decide" && req.Band == 1 {
		return false, 0, errors.New("fake decider failed")
	}
	return req.Row%(5*16) == 0, float64(req.Row) / 256, nil
}

func TestSandboxedRunEqualsNativeOnEveryPath(t *testing.T) {
	s := sb(t)
	for _, tc := range []struct {
		name   string
		b      fakeBackend
		prompt string
		mod    func(*engine.Settings)
	}{
		{"fixed", fakeBackend{}, prompt, func(*engine.Settings) {}},
		{"adaptive", fakeBackend{}, prompt, func(s *engine.Settings) { s.Adaptive = true }},
		{"thought budget", fakeBackend{}, prompt, func(s *engine.Settings) { s.MaxThoughtTokens = 6 }},
		{"revision budget", fakeBackend{}, prompt, func(s *engine.Settings) { s.MaxRevisionsTotal = 1; s.Bands = 4 }},
		{"no reflect", fakeBackend{}, prompt, func(s *engine.Settings) { s.Reflect = false }},
		{"a painter of pixels", fakeBackend{pixels: true}, prompt, func(*engine.Settings) {}},
		{"thinker fails", fakeBackend{failRole: "think"}, prompt, func(*engine.Settings) {}},
		{"painter fails", fakeBackend{failRole: "paint"}, prompt, func(*engine.Settings) {}},
		{"critic fails", fakeBackend{failRole: "critique"}, prompt, func(*engine.Settings) {}},
		{"decider fails", fakeBackend{failRole: "decide"}, prompt, func(s *engine.Settings) { s.Adaptive = true }},
		{"backend fails", fakeBackend{}, "unknown words", func(*engine.Settings) {}},
		{"empty prompt", fakeBackend{}, " ", func(*engine.Settings) {}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := engine.DefaultSettings()
			tc.mod(&st)
			spec := engine.RunSpec{Prompt: tc.prompt, Seed: 9, Settings: st, RunID: "fake"}
			var native, boxed record
			nres, nerr := engine.Draw(context.Background(), tc.b, spec, native.sink)
			bres, berr := s.Draw(context.Background(), tc.b, spec, boxed.sink)
			if engine.Code(nerr) != engine.Code(berr) || fmt.Sprint(nerr) != fmt.Sprint(berr) {
				t.Fatalf("errors differ:\nnative:    %v\nsandboxed: %v", nerr, berr)
			}
			if tc.b.pixels && nerr != nil {
				t.Fatalf("the painter of pixels' run failed: %v", nerr)
			}
			sameEvents(t, native.evs, boxed.evs)
			if fmt.Sprint(nres.Tokens) != fmt.Sprint(bres.Tokens) {
				t.Fatalf("the canvases differ")
			}
			if nerr == nil && (fmt.Sprint(nres.Thoughts, nres.Bands) != fmt.Sprint(bres.Thoughts, bres.Bands)) {
				t.Fatalf("results differ: %v %v vs %v %v", nres.Thoughts, nres.Bands, bres.Thoughts, bres.Bands)
			}
		})
	}
}

// TestSandboxedRunCancelled: cancelling the caller's context stops the
// guest and ends the stream like a native run (code canceled).
func TestSandboxedRunCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var rec record
	_, err := sb(t).Draw(ctx, fakeBackend{cancel: cancel}, engine.RunSpec{Prompt: prompt, Seed: 1}, rec.sink)
	if engine.Code(err) != "canceled" {
		t.Fatalf("err = %v (code %s), want code canceled", err, engine.Code(err))
	}
	last := rec.evs[len(rec.evs)-1]
	if last.Type != "error" {
		t.Fatalf("the stream ends with %s, want error", last.Type)
	}
}
