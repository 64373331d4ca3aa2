package engine_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// The test painter is a token model on engine.TokenGeometry: a grid of 16
// tokens a side, each token row u pixel rows. The tests speak of token rows
// and convert (px) where the engine speaks pixel rows.
const (
	grid    = 16
	u       = 16  // pixel rows a token row
	width   = 256 // the canvas's width
	numToks = 181 // image tokens
)

// px is token rows [s, e) in pixel rows (e -1 stays open).
func px(s, e int) engine.Rows {
	if e < 0 {
		return engine.Rows{Start: s * u, End: -1}
	}
	return engine.Rows{Start: s * u, End: e * u}
}

// tokenStrip is token row row painted with toks: each cell a flat colour
// made of its token.
func tokenStrip(row int, toks []int) canvas.Strip {
	s := canvas.Strip{Rows: px(row, row+1), W: width, Pix: make([]uint8, 4*width*u), Tokens: toks}
	for y := range u {
		for x := range width {
			i := 4 * (y*width + x)
			s.Pix[i], s.Pix[i+1], s.Pix[i+2], s.Pix[i+3] = uint8(toks[x/(width/grid)]), uint8(row), 7, 255
		}
	}
	return s
}

// Test doubles for the roles. They record what they were asked so tests can
// check the requests too.

// tok is what the test painter paints at a cell: different for every band,
// round, row and column, and a valid image token.
func tok(band, round, row, col int) int {
	return 1 + (band*31+round*17+row*5+col)%(numToks-1)
}

// fakes is one run's test roles and their log.
type fakes struct {
	mu       sync.Mutex
	thinks   []engine.ThinkRequest
	paints   []engine.PaintRequest
	critics  []engine.CritiqueRequest
	decides  []engine.DecideRequest
	critique func(req engine.CritiqueRequest) engine.Critique // nil: score 100
	decide   func(req engine.DecideRequest) bool              // nil: think at row 0 only
	words    int                                              // words a thought (default 3)
	endAfter int                                              // >0: in adaptive mode the thinker ends its band after this many token rows
	// hooks, called inside the roles (e.g. to cancel the run)
	onThink func(ctx context.Context, emitted int) error
	onRow   func(ctx context.Context, row int) error // row: the token row about to be painted
}

func (f *fakes) roles() engine.Roles {
	return engine.Roles{
		Thinker: engine.ThinkerFunc(f.think),
		Painter: engine.PainterFunc(f.paint),
		Critic:  engine.CriticFunc(f.crit),
		Decider: engine.DeciderFunc(f.decideFn),
	}
}

func (f *fakes) think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	f.mu.Lock()
	f.thinks = append(f.thinks, req)
	f.mu.Unlock()
	n := f.words
	if n == 0 {
		n = 3
	}
	var b strings.Builder
	for i := range n {
		w := fmt.Sprintf("b%dw%d ", req.Band, i)
		if f.onThink != nil {
			if err := f.onThink(ctx, i); err != nil {
				return "", err
			}
		}
		if err := ctx.Err(); err != nil {
			return "", err
		}
		emit(w)
		b.WriteString(w)
	}
	if f.endAfter > 0 && req.SetEnd != nil {
		req.SetEnd(min(grid*u, req.Rows.Start+f.endAfter*u))
	}
	return b.String(), nil
}

func (f *fakes) paint(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	f.mu.Lock()
	f.paints = append(f.paints, req)
	f.mu.Unlock()
	end := req.Rows.End / u
	if req.Rows.End < 0 {
		end = grid
	}
	for row := req.Rows.Start / u; row < end; row++ {
		if f.onRow != nil {
			if err := f.onRow(ctx, row); err != nil {
				return err
			}
		}
		if err := ctx.Err(); err != nil {
			return err
		}
		toks := make([]int, grid)
		for c := range toks {
			toks[c] = tok(req.Band, req.Round, row, c)
		}
		onStrip(tokenStrip(row, toks))
	}
	return nil
}

func (f *fakes) crit(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	f.mu.Lock()
	f.critics = append(f.critics, req)
	f.mu.Unlock()
	if f.critique == nil {
		return engine.Critique{Score: 100, Parsed: true, Revision: req.Thought}, nil
	}
	return f.critique(req), nil
}

func (f *fakes) decideFn(ctx context.Context, req engine.DecideRequest) (bool, float64, error) {
	f.mu.Lock()
	f.decides = append(f.decides, req)
	f.mu.Unlock()
	think := req.Row == 0
	if f.decide != nil {
		think = f.decide(req)
	}
	p := 0.1
	if think {
		p = 0.9
	}
	return think, p, nil
}

// backend gives every run the same fakes; closes counts closed runs.
type backend struct {
	f      *fakes
	bands  int
	noDec  bool // no Decider
	err    error
	mu     sync.Mutex
	closes int
}

func (b *backend) DefaultBands() int { return b.bands }
func (b *backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	if b.err != nil {
		return nil, b.err
	}
	return &run{b: b}, nil
}

type run struct{ b *backend }

func (r *run) Roles() engine.Roles {
	roles := r.b.f.roles()
	if r.b.noDec {
		roles.Decider = nil
	}
	return roles
}
func (r *run) Close() error {
	r.b.mu.Lock()
	r.b.closes++
	r.b.mu.Unlock()
	return nil
}

// result is a finished test run.
type result struct {
	res    engine.Result
	err    error
	events []protocol.Event
}

// types lists the event types in order.
func (r result) types() []string {
	var out []string
	for _, ev := range r.events {
		out = append(out, ev.Type)
	}
	return out
}

// of returns the events of one type.
func of[P protocol.Payload](r result) []P {
	var out []P
	for _, ev := range r.events {
		if p, ok := ev.Payload.(P); ok {
			out = append(out, p)
		}
	}
	return out
}

func settings(mod func(*engine.Settings)) engine.Settings {
	s := engine.DefaultSettings()
	if mod != nil {
		mod(&s)
	}
	return s
}

func draw(t testing.TB, ctx context.Context, b engine.Backend, s engine.Settings) result {
	t.Helper()
	var r result
	r.res, r.err = engine.Draw(ctx, b, engine.RunSpec{Prompt: "a red circle above a blue square", Settings: s},
		func(ev protocol.Event) error {
			r.events = append(r.events, ev)
			return nil
		})
	return r
}

// mustDraw runs and fails the test on a run error or a broken stream.
func mustDraw(t testing.TB, b engine.Backend, s engine.Settings) result {
	t.Helper()
	r := draw(t, context.Background(), b, s)
	if r.err != nil {
		t.Fatalf("run failed: %v", r.err)
	}
	checkStream(t, r)
	return r
}

// checkStream checks what every stream must satisfy: run_started first, the
// last event run_done or error, seq from 0 without gaps, one run id.
func checkStream(t testing.TB, r result) {
	t.Helper()
	if len(r.events) == 0 {
		t.Fatal("no events")
	}
	for i, ev := range r.events {
		if ev.Seq != int64(i) || ev.RunID != r.events[0].RunID || ev.V != protocol.Version {
			t.Fatalf("event %d: seq %d run %q v %q", i, ev.Seq, ev.RunID, ev.V)
		}
	}
	last := r.events[len(r.events)-1].Type
	if r.err == nil && last != protocol.TypeRunDone || r.err != nil && last != protocol.TypeError {
		t.Fatalf("last event %s with run error %v", last, r.err)
	}
}
