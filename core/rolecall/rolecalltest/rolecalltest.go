// Package rolecalltest proves that a role-call path carries every field.
// Backend's roles answer with every result field set to a value no default
// has — critique tokens and raw text, plan-review verdicts, reasons and
// tokens, thinker-chosen band ends, decider probabilities — and Check
// compares a run played through a path (the gateway, the remote twig
// client, the sandbox, the worker) with the same run played natively.
package rolecalltest

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// The scripted painter is a token model on engine.TokenGeometry: 16 tokens
// a row, each token row unit pixel rows.
const (
	grid  = 16
	unit  = 16
	width = 256
)

// TokenStrip is token row r painted with toks as a token model hands it
// on: unit pixel rows, each cell a flat colour made of its token, and the
// tokens.
func TokenStrip(r int, toks []int) canvas.Strip {
	s := canvas.Strip{Rows: protocol.Rows{Start: r * unit, End: (r + 1) * unit}, W: width, Pix: make([]uint8, 4*width*unit), Tokens: toks}
	for y := range unit {
		for x := range width {
			t := toks[x/(width/grid)]
			i := 4 * (y*width + x)
			s.Pix[i], s.Pix[i+1], s.Pix[i+2], s.Pix[i+3] = uint8(t), uint8(t*7), uint8(r*16), 255
		}
	}
	return s
}

// ZeroPainter paints every row of its band with token 0 (TokenStrip): a
// painter for tests that need one but not its picture. It stops at the
// first row after its context ends, as a real painter does.
var ZeroPainter = engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	for r := req.Rows.Start / unit; r < req.Rows.End/unit; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		onStrip(TokenStrip(r, make([]int, grid)))
	}
	return nil
})

// Backend is the scripted backend. Its thinker reviews its plans, and it
// says so (ReviewsPlans), so a gateway in front of it offers review calls.
type Backend struct{}

// Name implements engine.Named.
func (Backend) Name() string { return "scripted" }

// DefaultBands implements engine.Backend.
func (Backend) DefaultBands() int { return 3 }

// ReviewsPlans implements rolecall.PlanReviewing.
func (Backend) ReviewsPlans() bool { return true }

// NewRun implements engine.Backend.
func (Backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	r := roles{adaptive: spec.Settings.Adaptive && spec.Settings.Think}
	return run{r}, nil
}

type run struct{ r roles }

func (r run) Roles() engine.Roles {
	out := engine.Roles{Thinker: r.r, Painter: r.r, Critic: r.r}
	if r.r.adaptive {
		out.Decider = r.r
	}
	return out
}
func (run) Close() error { return nil }

type roles struct{ adaptive bool }

// Think streams three words naming the band, the attempt and how many
// rejected plans it saw; an open-ended band ends four token rows on.
func (roles) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	if req.SetEnd != nil {
		req.SetEnd(min(req.Rows.Start+4*unit, grid*unit))
	}
	var b strings.Builder
	for i := range 3 {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		w := fmt.Sprintf("b%da%dr%dw%d ", req.Band, req.Attempt, len(req.Rejected), i)
		emit(w)
		b.WriteString(w)
	}
	return b.String(), nil
}

// ReviewPlan rejects each band's first plan, with a reason quoting the
// plan, and accepts the rewrite.
func (roles) ReviewPlan(_ context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	if req.Attempt == 0 {
		return engine.PlanReview{Accepted: false, Reason: "no room below for " + strings.TrimSpace(req.Thought), Tokens: 5 + req.Band}, nil
	}
	return engine.PlanReview{Accepted: true, Tokens: 2 + len(req.Rejected)}, nil
}

// PaintBand paints rows whose tokens depend on the band, round, row and
// the thought's length.
func (roles) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	end := req.Rows.End / unit
	if req.Rows.End < 0 {
		end = grid
	}
	for r := req.Rows.Start / unit; r < end; r++ {
		if err := ctx.Err(); err != nil {
			return err
		}
		row := make([]int, grid)
		for c := range row {
			row[c] = (req.Band*31 + req.Round*17 + r*5 + c + len(req.Thought)) % protocol.MaxToken
		}
		onStrip(TokenStrip(r, row))
	}
	return nil
}

// Critique fails each band's first drawing (score 37, a revision, raw
// text and a token count) and passes the redraw.
func (roles) Critique(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	if req.Round == 0 {
		return engine.Critique{Score: 37, Parsed: true, Revision: "redo " + strings.TrimSpace(req.Thought),
			Raw: fmt.Sprintf("raw band %d", req.Band), Tokens: 13 + req.Band}, nil
	}
	return engine.Critique{Score: 95, Parsed: true, Revision: req.Thought, Raw: "fine", Tokens: 3}, nil
}

// ShouldThink thinks at every fifth token row, with a probability that says which.
func (roles) ShouldThink(_ context.Context, req engine.DecideRequest) (bool, float64, error) {
	return req.Row%(5*unit) == 0, 0.25 + float64(req.Row/unit)/100, nil
}

// Specs are the runs a path is checked with: fixed bands, and adaptive
// bands (the decider, thinker-chosen ends); both reflect, and with review
// the thinker reviews its plans (a path that cannot offer reviews — POST
// /calls has no hello to say the server reviews — is checked without).
func Specs(review bool) []engine.RunSpec {
	s := protocol.DefaultSettings()
	s.Bands, s.Reflect, s.PlanAttempts, s.Seed = 3, true, 0, 7
	if review {
		s.PlanAttempts = 3
	}
	a := s
	a.Adaptive, a.Bands = true, 0
	return []engine.RunSpec{{Prompt: "a red circle", Seed: 7, Settings: s}, {Prompt: "a red circle", Seed: 7, Settings: a}}
}

// Native plays spec natively.
func Native(t testing.TB, spec engine.RunSpec) []protocol.Event {
	t.Helper()
	return Draw(t, Backend{}, spec)
}

// Draw plays spec on b (a path's backend) and returns its events; a failed
// run fails t.
func Draw(t testing.TB, b engine.Backend, spec engine.RunSpec) []protocol.Event {
	t.Helper()
	var evs []protocol.Event
	if _, err := engine.Draw(context.Background(), b, spec, func(e protocol.Event) error {
		evs = append(evs, e)
		return nil
	}); err != nil {
		t.Fatalf("run of %q: %v", spec.Prompt, err)
	}
	return evs
}

// Check fails t unless got, a run of spec played through a path, has the
// native run's events, field for field (times, run ids, the backend's name
// and role timings aside), and unless those include every field this
// backend sets: critique tokens and raw text, plan reviews with reasons and
// tokens, and in adaptive runs the thinker's band ends and the decider's
// probabilities.
func Check(t testing.TB, spec engine.RunSpec, got []protocol.Event) {
	t.Helper()
	want := Native(t, spec)
	w, g := Normal(t, want), Normal(t, got)
	for i := range max(len(w), len(g)) {
		switch {
		case i >= len(g):
			t.Fatalf("event %d missing: want %s", i, w[i])
		case i >= len(w):
			t.Fatalf("event %d extra: %s", i, g[i])
		case w[i] != g[i]:
			t.Fatalf("event %d differs:\nnative: %s\npath:   %s", i, w[i], g[i])
		}
	}
	all := strings.Join(w, "\n")
	needs := []string{`"type":"critique"`, `"tokens":13`, `"raw":"raw band 0"`, `"type":"band_redrawn"`}
	if spec.Settings.PlanAttempts > 0 {
		needs = append(needs, `"type":"plan_review"`, `"reason":"no room below for b0a0r0w0`, `"attempt":1`, `"b0a1r1w0 `)
	}
	if spec.Settings.Adaptive {
		needs = append(needs, `"type":"think_decision"`, `"probability":0.3`, `"end_row":64`)
	}
	for _, n := range needs {
		if !strings.Contains(all, n) {
			t.Fatalf("the native run lacks %s: the scripted backend no longer exercises it", n)
		}
	}
}

// Normal is each event as JSON with what legitimately differs between
// paths zeroed: t_ms, run_id, run_started's backend and run_done's timings.
func Normal(t testing.TB, evs []protocol.Event) []string {
	t.Helper()
	out := make([]string, len(evs))
	for i, e := range evs {
		e.TMs, e.RunID = 0, ""
		switch p := e.Payload.(type) {
		case *protocol.RunStarted:
			q := *p
			q.Backend = ""
			e.Payload = &q
		case *protocol.RunDone:
			q := *p
			q.Stats.Timings = protocol.Timings{}
			e.Payload = &q
		}
		b, err := json.Marshal(e)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = string(b)
	}
	return out
}
