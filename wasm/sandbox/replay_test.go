package sandbox

import (
	"bytes"
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
)

// replay is a backend that answers a run's role calls with what another
// backend answered to the same run (record): the same thoughts, strips
// (pixels and tokens), critiques, reviews and decisions, in the same order,
// at no cost. On it a run costs only the engine's orchestration and, in the
// sandbox, the sandbox's own work: the fixed cost of BenchmarkSandboxOverhead
// without the model's time around it.
type replay struct {
	name   string
	bands  int
	geom   engine.Geometry
	review bool
	thinks []replayThink
	paints [][]canvas.Strip
	crits  []engine.Critique
	revs   []engine.PlanReview
}

type replayThink struct {
	deltas []string
	text   string
}

// record plays spec natively on b and returns its replay.
func record(t testing.TB, b engine.Backend, spec engine.RunSpec) *replay {
	t.Helper()
	rp := &replay{bands: b.DefaultBands()}
	if n, ok := b.(engine.Named); ok {
		rp.name = n.Name()
	}
	if _, err := engine.Draw(context.Background(), recorder{b, rp}, spec, nil); err != nil {
		t.Fatal(err)
	}
	return rp
}

// recorder wraps b's roles, recording their answers into rp.
type recorder struct {
	b  engine.Backend
	rp *replay
}

func (r recorder) Name() string      { return r.rp.name }
func (r recorder) DefaultBands() int { return r.b.DefaultBands() }

func (r recorder) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	run, err := r.b.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	in := run.Roles()
	rp := r.rp
	rp.geom = engine.GeometryOf(in.Painter)
	if in.Decider != nil {
		return nil, errors.New("replay: a run with a decider (adaptive) is not recorded")
	}
	pr, review := in.Thinker.(engine.PlanReviewer)
	rp.review = review
	th := &recThinker{rp: rp, t: in.Thinker, pr: pr}
	roles := engine.Roles{Thinker: th, Painter: &recPainter{rp: rp, p: in.Painter}, Critic: engine.CriticFunc(
		func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
			c, err := in.Critic.Critique(ctx, req)
			rp.crits = append(rp.crits, c)
			return c, err
		})}
	if !review {
		roles.Thinker = engine.ThinkerFunc(th.Think)
	}
	return replayRun{roles: roles, close: run.Close}, nil
}

type recThinker struct {
	rp *replay
	t  engine.Thinker
	pr engine.PlanReviewer
}

func (r *recThinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	var rt replayThink
	text, err := r.t.Think(ctx, req, func(d string) { rt.deltas = append(rt.deltas, d); emit(d) })
	rt.text = text
	r.rp.thinks = append(r.rp.thinks, rt)
	return text, err
}

func (r *recThinker) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	v, err := r.pr.ReviewPlan(ctx, req)
	r.rp.revs = append(r.rp.revs, v)
	return v, err
}

type recPainter struct {
	rp *replay
	p  engine.Painter
}

func (r *recPainter) Geometry() engine.Geometry { return r.rp.geom }

func (r *recPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	var strips []canvas.Strip
	err := r.p.PaintBand(ctx, req, func(s canvas.Strip) {
		strips = append(strips, canvas.Strip{Rows: s.Rows, W: s.W, Pix: bytes.Clone(s.Pix), Tokens: slices.Clone(s.Tokens)})
		onStrip(s)
	})
	r.rp.paints = append(r.rp.paints, strips)
	return err
}

type replayRun struct {
	roles engine.Roles
	close func() error
}

func (r replayRun) Roles() engine.Roles { return r.roles }
func (r replayRun) Close() error        { return r.close() }

func (rp *replay) Name() string      { return rp.name }
func (rp *replay) DefaultBands() int { return rp.bands }

// NewRun plays the recording from its start.
func (rp *replay) NewRun(context.Context, engine.RunSpec) (engine.Run, error) {
	p := &replayer{rp: rp}
	roles := engine.Roles{Thinker: p, Painter: p, Critic: p}
	if !rp.review {
		roles.Thinker = engine.ThinkerFunc(p.Think)
	}
	return replayRun{roles: roles, close: func() error { return nil }}, nil
}

// replayer is one run of a replay: the next answer of each role.
type replayer struct {
	rp                      *replay
	think, paint, crit, rev int
}

var errReplay = errors.New("replay: the run asked more than was recorded")

func (p *replayer) Geometry() engine.Geometry { return p.rp.geom }

// next returns the recorded answer *i and advances *i: errReplay past the
// recording's end.
func next[T any](recorded []T, i *int) (T, error) {
	if *i >= len(recorded) {
		var zero T
		return zero, errReplay
	}
	*i++
	return recorded[*i-1], nil
}

func (p *replayer) Think(ctx context.Context, _ engine.ThinkRequest, emit func(string)) (string, error) {
	t, err := next(p.rp.thinks, &p.think)
	if err != nil {
		return "", err
	}
	for _, d := range t.deltas {
		if err := ctx.Err(); err != nil {
			return "", err
		}
		emit(d)
	}
	return t.text, nil
}

func (p *replayer) ReviewPlan(context.Context, engine.ReviewRequest) (engine.PlanReview, error) {
	return next(p.rp.revs, &p.rev)
}

func (p *replayer) PaintBand(ctx context.Context, _ engine.PaintRequest, onStrip func(canvas.Strip)) error {
	strips, err := next(p.rp.paints, &p.paint)
	if err != nil {
		return err
	}
	for _, s := range strips {
		if err := ctx.Err(); err != nil {
			return err
		}
		onStrip(s)
	}
	return nil
}

func (p *replayer) Critique(context.Context, engine.CritiqueRequest) (engine.Critique, error) {
	return next(p.rp.crits, &p.crit)
}

// TestReplayPlaysTheRecordedRun: a replay of the benchmark's model run gives
// the recorded run's events, natively and sandboxed, so the fixed-cost
// benchmark measures the same run as BenchmarkSandboxOverhead.
func TestReplayPlaysTheRecordedRun(t *testing.T) {
	m, _ := benchModel(t)
	spec := benchSpec
	spec.RunID = "replay"
	rp := record(t, m, spec)
	sb := benchSandbox(t)
	var runs [3][]protocol.Event
	for i, draw := range []func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error){
		engine.Draw, engine.Draw, sb.Draw} {
		var b engine.Backend = rp
		if i == 0 {
			b = m
		}
		if _, err := draw(context.Background(), b, spec, func(ev protocol.Event) error {
			runs[i] = append(runs[i], ev)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	want := rolecalltest.Normal(t, runs[0])
	if len(want) < 20 {
		t.Fatalf("the recorded run has %d events", len(want))
	}
	for i, name := range []string{"", "native replay", "sandboxed replay"} {
		if got := rolecalltest.Normal(t, runs[i]); i > 0 && strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("the %s's %d events differ from the recorded run's %d", name, len(got), len(want))
		}
	}
}
