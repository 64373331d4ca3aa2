package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// testBackend samples from the seed like a model would (a test double: the
// real backend comes from the [model] issue).
func testBackend(context.Context, backendOptions) (Backend, error) {
	return engine.FuncBackend{Bands: 3, NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
		rng := rand.New(rand.NewPCG(uint64(spec.Seed), 2))
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				s := fmt.Sprintf("band %d: a %s shape ", req.Band, scene.Colors[rng.IntN(len(scene.Colors))])
				for _, w := range strings.SplitAfter(s, " ") {
					emit(w)
				}
				return s, nil
			}),
			Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
				u := req.Canvas.H / tokens.Grid
				end := req.Rows.End / u
				if req.Rows.End < 0 {
					end = tokens.Grid
				}
				for r := req.Rows.Start / u; r < end && ctx.Err() == nil; r++ {
					row := make([]int, tokens.Grid)
					for i := range row {
						row[i] = rng.IntN(tokens.NumImageTokens)
					}
					onStrip(model.TokenStrip(row, r, req.Canvas.W, req.Canvas.H))
				}
				return nil
			}),
			Critic: engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: 50 + 40*req.Round, Parsed: true, Revision: "revised " + req.Thought}, nil
			}),
		}, nil
	}}, nil
}

type outcome struct {
	code           int
	stdout, stderr string
}

func twig(t *testing.T, backend func(context.Context, backendOptions) (Backend, error), args ...string) outcome {
	t.Helper()
	var out, errb bytes.Buffer
	e := &env{stdout: &out, stderr: &errb, backend: backend}
	code := run(context.Background(), e, args)
	return outcome{code, out.String(), errb.String()}
}

func read(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDrawAndReplay(t *testing.T) {
	dir := t.TempDir()
	a, b, r := filepath.Join(dir, "a"), filepath.Join(dir, "b"), filepath.Join(dir, "r")
	o := twig(t, testBackend, "draw", "--seed", "1", "--out", a, "a red circle above a blue square")
	if o.code != 0 || o.stderr != "" {
		t.Fatalf("draw: %+v", o)
	}
	for _, want := range []string{"prompt: a red circle above a blue square", "thought: band 0: a ", "critique: 50/100 → redraw",
		"redraw 1", "done in", "wrote " + filepath.Join(a, "image.png")} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("draw output lacks %q:\n%s", want, o.stdout)
		}
	}
	for _, f := range []string{imageFile, gifFile, traceFile} {
		if fi, err := os.Stat(filepath.Join(a, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	// Same seed: byte-identical image; flags after the prompt work too.
	if o := twig(t, testBackend, "draw", "a red circle above a blue square", "--out", b, "--seed", "1"); o.code != 0 {
		t.Fatalf("second draw: %+v", o)
	}
	if !bytes.Equal(read(t, filepath.Join(a, imageFile)), read(t, filepath.Join(b, imageFile))) {
		t.Error("same seed, different image.png")
	}
	// Replay rebuilds the same files from the trace alone.
	o = twig(t, nil, "replay", filepath.Join(a, traceFile), "--out", r)
	if o.code != 0 {
		t.Fatalf("replay: %+v", o)
	}
	for _, f := range []string{imageFile, gifFile} {
		if !bytes.Equal(read(t, filepath.Join(a, f)), read(t, filepath.Join(r, f))) {
			t.Errorf("replayed %s differs from the drawn one", f)
		}
	}
}

func TestDrawJSON(t *testing.T) {
	dir := t.TempDir()
	o := twig(t, testBackend, "draw", "--json", "--no-reflect", "--bands", "2", "--out", dir, "x")
	if o.code != 0 {
		t.Fatalf("%+v", o)
	}
	events, err := protocol.ReadAll(strings.NewReader(o.stdout))
	if err != nil {
		t.Fatalf("stdout is not JSONL events: %v", err)
	}
	if events[0].Type != protocol.TypeRunStarted || events[len(events)-1].Type != protocol.TypeRunDone {
		t.Errorf("events %s … %s", events[0].Type, events[len(events)-1].Type)
	}
	if !bytes.Equal([]byte(o.stdout), read(t, filepath.Join(dir, traceFile))) {
		t.Error("stdout and trace.jsonl differ")
	}
}

func TestExitCodes(t *testing.T) {
	noModel := func(ctx context.Context, o backendOptions) (Backend, error) { return defaultBackend(ctx, o) }
	boom := func(context.Context, backendOptions) (Backend, error) { return nil, errors.New("boom") }
	dir := t.TempDir()
	corrupt := filepath.Join(dir, "corrupt.safetensors")
	if err := os.WriteFile(corrupt, []byte("\x10\x00\x00\x00\x00\x00\x00\x00{not json at all"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		backend func(context.Context, backendOptions) (Backend, error)
		args    []string
		code    int
		out     string // in stdout
		err     string // in stderr
	}{
		{"no args", nil, nil, exitUsage, "", "Commands:"},
		{"help", nil, []string{"--help"}, exitOK, "replay", ""},
		{"help draw", nil, []string{"help", "draw"}, exitOK, "-max-revisions", ""},
		{"draw -h", nil, []string{"draw", "-h"}, exitOK, "-no-think", ""},
		{"replay -h", nil, []string{"replay", "-h"}, exitOK, "-out", ""},
		{"unknown command", nil, []string{"paint"}, exitUsage, "", `unknown command "paint"`},
		{"unknown flag", nil, []string{"draw", "--nope", "x"}, exitUsage, "", "not defined: -nope"},
		{"no prompt", nil, []string{"draw"}, exitUsage, "", "no prompt"},
		{"bad threshold", nil, []string{"draw", "--threshold", "120", "x"}, exitUsage, "", "threshold 120"},
		{"missing weights", noModel, []string{"draw", "--weights", filepath.Join(dir, "none.safetensors"), "--out", dir, "x"}, exitFail, "", "twig draw: model: open weights"},
		{"corrupt weights", noModel, []string{"draw", "--weights", corrupt, "--out", dir, "x"}, exitFail, "", "corrupt"},
		{"backend fails", boom, []string{"draw", "--out", dir, "x"}, exitFail, "", "twig draw: boom"},
		{"run fails", testBackend, []string{"draw", "--timeout", "1ns", "--out", dir, "x"}, exitFail, "", "deadline"},
		{"replay missing", nil, []string{"replay", filepath.Join(dir, "none.jsonl")}, exitFail, "", "cannot read the trace"},
		{"replay args", nil, []string{"replay"}, exitUsage, "", "want one trace file"},
		{"train recipe", nil, []string{"train", "--recipe", "nope"}, exitUsage, "", "--recipe is default, canonical, canonical-control or dense-review"},
		{"analyze mode", nil, []string{"eval", "--analyze", "1", "--mode", "paint"}, exitUsage, "", `not "paint"`},
		{"canonical steps", nil, []string{"train", "--recipe", "canonical", "--steps", "5"}, exitUsage, "", "has its own (800 steps from step 10000)"},
		{"rl mix category", nil, []string{"rl", "--mix", "complex=2,pictures=1"}, exitUsage, "", `unknown category "pictures"`},
		{"rl mix weight", nil, []string{"rl", "--mix", "complex=-1"}, exitUsage, "", "not category=weight"},
		{"rl mix zero", nil, []string{"rl", "--mix", "complex=0"}, exitUsage, "", "every weight is 0"},
		{"rl export missing", nil, []string{"rl", "--export", "--ckpt", filepath.Join(dir, "none.gob")}, exitFail, "", "none.gob"},
	} {
		o := twig(t, tc.backend, tc.args...)
		if o.code != tc.code || !strings.Contains(o.stdout, tc.out) || !strings.Contains(o.stderr, tc.err) {
			t.Errorf("%s: code %d, stdout %q, stderr %q", tc.name, o.code, o.stdout, o.stderr)
		}
		if tc.args != nil && strings.Count(o.stderr, "\n") > 1 || tc.code == exitOK && o.stderr != "" {
			t.Errorf("%s: stderr is not one line: %q", tc.name, o.stderr)
		}
	}
}

func TestReplayRejectsBadTrace(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "t.jsonl")
	os.WriteFile(p, []byte(`{"v":"twig/7","type":"run_started"}`+"\n"), 0o644)
	o := twig(t, nil, "replay", p, "--out", dir)
	if o.code != exitFail || !strings.Contains(o.stderr, `speaks "twig/7"`) {
		t.Errorf("%+v", o)
	}
}

// adaptiveBackend thinks at rows 0 and 9 only.
func adaptiveBackend(ctx context.Context, o backendOptions) (Backend, error) {
	b, _ := testBackend(ctx, o)
	fb := b.(engine.FuncBackend)
	inner := fb.NewRoles
	fb.NewRoles = func(ctx context.Context, spec engine.RunSpec) (engine.Roles, error) {
		r, err := inner(ctx, spec)
		r.Decider = engine.DeciderFunc(func(_ context.Context, req engine.DecideRequest) (bool, float64, error) {
			return req.Row == 9*16, 0.7, nil
		})
		return r, err
	}
	return fb, nil
}

func TestDrawAdaptiveDisplay(t *testing.T) {
	var out bytes.Buffer
	e := &env{stdout: &out, stderr: &out, tty: true, backend: adaptiveBackend}
	if code := run(context.Background(), e, []string{"draw", "--adaptive", "--no-reflect", "--out", t.TempDir(), "x"}); code != 0 {
		t.Fatalf("exit %d: %s", code, out.String())
	}
	for _, want := range []string{"adaptive bands", "band 1 · rows 0– · the model chose not to think (p=0.70)",
		"band 2 · rows 9– · the model chose to think here (p=0.70)", "\r\033[K  draw     [█████████] 9/9 rows\n", "[████············] 4/16 rows", "done in", "2 bands"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
}

// reviewThinker reviews its own plans: it rejects every band's first plan.
type reviewThinker struct{ engine.Thinker }

func (reviewThinker) ReviewPlan(_ context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	if req.Attempt == 0 {
		return engine.PlanReview{Reason: "blue square not below red circle", Tokens: 8, POk: 0.25}, nil
	}
	return engine.PlanReview{Accepted: true, Tokens: 2, POk: 0.9}, nil
}

// The live view, the trace and the GIF show a plan the model rejected, its
// reason and the rewrite.
func TestDrawShowsPlanReviews(t *testing.T) {
	backend := func(ctx context.Context, o backendOptions) (Backend, error) {
		b, _ := testBackend(ctx, o)
		fb := b.(engine.FuncBackend)
		inner := fb.NewRoles
		fb.NewRoles = func(ctx context.Context, spec engine.RunSpec) (engine.Roles, error) {
			roles, err := inner(ctx, spec)
			roles.Thinker = reviewThinker{roles.Thinker}
			return roles, err
		}
		return fb, nil
	}
	dir := t.TempDir()
	o := twig(t, backend, "draw", "--seed", "1", "--out", dir, "a red circle above a blue square")
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	for _, want := range []string{"review: bad — blue square not below red circle (75 % sure) → rethinking", "rethought (1): band 0: a ",
		"review: ok (90 % sure)", "6 plan reviews (3 rejected)"} {
		if !strings.Contains(o.stdout, want) {
			t.Errorf("draw output lacks %q:\n%s", want, o.stdout)
		}
	}
	if trace := string(read(t, filepath.Join(dir, traceFile))); !strings.Contains(trace, `"type":"plan_review"`) ||
		!strings.Contains(trace, `"attempt":1`) {
		t.Error("the trace lacks the plan reviews")
	}
	if r := twig(t, nil, "replay", filepath.Join(dir, traceFile), "--out", filepath.Join(dir, "r")); r.code != 0 {
		t.Fatalf("replay: %+v", r)
	}
}
