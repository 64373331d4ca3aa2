package engine_test

import (
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/render"
)

// schedule is engine.Schedule on the test painter's canvas, in pixel rows.
func schedule(k int) []engine.Rows { return engine.Schedule(k, engine.TokenGeometry) }

func TestSchedule(t *testing.T) {
	for _, tc := range []struct {
		k    int
		want []int // band sizes
	}{
		{1, []int{16}}, {2, []int{8, 8}}, {3, []int{6, 5, 5}}, {4, []int{4, 4, 4, 4}},
		{5, []int{4, 3, 3, 3, 3}}, {16, slices.Repeat([]int{1}, 16)}, {0, []int{16}}, {99, slices.Repeat([]int{1}, 16)},
	} {
		plan := schedule(tc.k)
		var sizes []int
		next := 0
		for _, r := range plan {
			if r.Start != next {
				t.Fatalf("k=%d: %v is not contiguous", tc.k, plan)
			}
			sizes = append(sizes, r.Len()/u)
			next = r.End
		}
		if !slices.Equal(sizes, tc.want) || next != grid*u {
			t.Errorf("k=%d: sizes %v, want %v", tc.k, sizes, tc.want)
		}
	}
}

// wantCanvas is the token view the test painter leaves when band b of plan
// (pixel rows) was last drawn in round rounds[b].
func wantCanvas(plan []engine.Rows, rounds []int) []int {
	c := slices.Repeat([]int{-1}, grid*grid)
	for b, rows := range plan {
		for row := rows.Start / u; row < rows.End/u; row++ {
			for col := range grid {
				c[row*grid+col] = tok(b, rounds[b], row, col)
			}
		}
	}
	return c
}

func TestFixedSchedules(t *testing.T) {
	for k := 1; k <= 4; k++ {
		f := &fakes{}
		r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands = k }))
		plan := schedule(k)
		if got := of[*protocol.RunStarted](r)[0].Plan; !reflect.DeepEqual(got, plan) {
			t.Errorf("k=%d: plan %v, want %v", k, got, plan)
		}
		if !reflect.DeepEqual(r.res.Bands, plan) {
			t.Errorf("k=%d: bands %v", k, r.res.Bands)
		}
		if want := wantCanvas(plan, make([]int, k)); !slices.Equal(r.res.Tokens, want) {
			t.Errorf("k=%d: canvas differs from the painted rows", k)
		}
		// The exact stream of one band: started, thought, rows, done, critique.
		var want []string
		want = append(want, protocol.TypeRunStarted)
		for _, rows := range plan {
			want = append(want, protocol.TypeBandStarted)
			want = append(want, slices.Repeat([]string{protocol.TypeThoughtDelta}, 3)...)
			want = append(want, protocol.TypeThoughtDone)
			want = append(want, slices.Repeat([]string{protocol.TypeBandProgress}, rows.Len()/u)...)
			want = append(want, protocol.TypeBandDone, protocol.TypeCritique)
		}
		want = append(want, protocol.TypeRunDone)
		if got := r.types(); !slices.Equal(got, want) {
			t.Errorf("k=%d: events\n got %v\nwant %v", k, got, want)
		}
		st := r.res.Stats
		if st.Bands != k || st.ThoughtTokens != 3*k || st.ImageTokens != grid*grid || st.PixelRows != grid*u || st.Critiques != k || st.Revisions != 0 {
			t.Errorf("k=%d: stats %+v", k, st)
		}
	}
}

func TestBackendDefaultBands(t *testing.T) {
	r := mustDraw(t, &backend{f: &fakes{}, bands: 4}, settings(nil))
	if len(r.res.Bands) != 4 {
		t.Errorf("bands %v, want the backend's 4", r.res.Bands)
	}
	r = mustDraw(t, &backend{f: &fakes{}}, settings(nil))
	if len(r.res.Bands) != 3 {
		t.Errorf("bands %v, want 3 when the backend says 0", r.res.Bands)
	}
}

// TestRequestsCarryState checks that each role sees the prompt, the earlier
// thoughts and the canvas so far — and that thoughts of band i+1 are written
// after band i's rows (interleaved, not planned up front).
func TestRequestsCarryState(t *testing.T) {
	f := &fakes{}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands = 3 }))
	plan := schedule(3)
	for i, req := range f.thinks {
		if req.Band != i || req.Rows != plan[i] || req.Prompt == "" || req.SetEnd != nil {
			t.Errorf("think %d: %+v", i, req.State)
		}
		if len(req.Thoughts) != i {
			t.Errorf("think %d sees %d earlier thoughts", i, len(req.Thoughts))
		}
		// Canvas: every earlier band drawn, the rest undrawn.
		want := wantCanvas(plan[:i], make([]int, i))
		if !slices.Equal(req.Canvas.Tokens, want) {
			t.Errorf("think %d: canvas is not the earlier bands", i)
		}
	}
	for i, req := range f.paints {
		if req.Thought != r.res.Thoughts[i] || !strings.HasPrefix(req.Thought, "b") {
			t.Errorf("paint %d: thought %q", i, req.Thought)
		}
	}
	// event order: band i's last row before band i+1's thought.
	lastRow := map[int]int64{}
	for _, ev := range r.events {
		switch e := ev.Payload.(type) {
		case *protocol.BandProgress:
			lastRow[e.Band] = ev.Seq
		case *protocol.ThoughtDelta:
			if e.Band > 0 && ev.Seq < lastRow[e.Band-1] {
				t.Errorf("thought of band %d before band %d's rows", e.Band, e.Band-1)
			}
			if _, painted := lastRow[e.Band]; painted {
				t.Errorf("thought of band %d after its own rows", e.Band)
			}
		}
	}
}

func TestThreshold(t *testing.T) {
	for _, tc := range []struct {
		score, threshold int
		redraw           bool
	}{
		{89, 90, true}, {90, 90, false}, {100, 90, false}, {0, 0, false}, {0, 1, true}, {99, 100, true}, {100, 100, false},
	} {
		f := &fakes{critique: func(req engine.CritiqueRequest) engine.Critique {
			if req.Round > 0 {
				return engine.Critique{Score: 100, Parsed: true}
			}
			return engine.Critique{Score: tc.score, Parsed: true, Revision: "better"}
		}}
		r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.Threshold = 1, tc.threshold }))
		c := of[*protocol.Critique](r)[0]
		if got := c.Verdict == protocol.VerdictRedraw; got != tc.redraw {
			t.Errorf("score %d threshold %d: verdict %s (%s)", tc.score, tc.threshold, c.Verdict, c.Reason)
		}
		if tc.redraw != (r.res.Stats.Revisions == 1) {
			t.Errorf("score %d threshold %d: %d revisions", tc.score, tc.threshold, r.res.Stats.Revisions)
		}
	}
}

func TestRevisionLimits(t *testing.T) {
	low := func(req engine.CritiqueRequest) engine.Critique {
		return engine.Critique{Score: 10, Parsed: true, Revision: "try again"}
	}
	for maxRev := 0; maxRev <= 3; maxRev++ {
		f := &fakes{critique: low}
		r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.MaxRevisions = 2, maxRev }))
		if got := r.res.Stats.Revisions; got != 2*maxRev {
			t.Errorf("max %d: %d revisions, want %d", maxRev, got, 2*maxRev)
		}
		cs := of[*protocol.Critique](r)
		if len(cs) != 2*(maxRev+1) {
			t.Fatalf("max %d: %d critiques", maxRev, len(cs))
		}
		for _, c := range cs {
			want := protocol.ReasonBelowThreshold
			if c.Round == maxRev {
				want = protocol.ReasonMaxRevisions
			}
			if c.Reason != want {
				t.Errorf("max %d: band %d round %d reason %s, want %s", maxRev, c.Band, c.Round, c.Reason, want)
			}
		}
		if got := len(of[*protocol.BandRedrawn](r)); got != 2*maxRev {
			t.Errorf("max %d: %d band_redrawn", maxRev, got)
		}
		if want := wantCanvas(schedule(2), []int{maxRev, maxRev}); !slices.Equal(r.res.Tokens, want) {
			t.Errorf("max %d: final canvas is not the last redraw", maxRev)
		}
	}
}

// TestRedrawOneBand: band 1 of 3 scores low once; only its cells change.
func TestRedrawOneBand(t *testing.T) {
	f := &fakes{critique: func(req engine.CritiqueRequest) engine.Critique {
		if req.Band == 1 && req.Round == 0 {
			return engine.Critique{Score: 40, Parsed: true, Revision: "middle: a blue square, centre"}
		}
		return engine.Critique{Score: 95, Parsed: true}
	}}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands = 3 }))
	plan := schedule(3)
	if want := wantCanvas(plan, []int{0, 1, 0}); !slices.Equal(r.res.Tokens, want) {
		t.Fatal("final canvas: want bands 0 and 2 from round 0 and band 1 from round 1")
	}
	if r.res.Thoughts[1] != "middle: a blue square, centre" {
		t.Errorf("band 1's accepted thought %q, want the revision", r.res.Thoughts[1])
	}
	// The redraw: asked with the revision and band 1's cells undrawn, band 0 intact.
	var redraw engine.PaintRequest
	for _, p := range f.paints {
		if p.Round == 1 {
			redraw = p
		}
	}
	if redraw.Band != 1 || redraw.Thought != r.res.Thoughts[1] || redraw.Rows != plan[1] {
		t.Fatalf("redraw request %+v", redraw)
	}
	if want := wantCanvas(plan[:1], []int{0}); !slices.Equal(redraw.Canvas.Tokens, want) {
		t.Error("the redraw saw a canvas other than band 0 alone")
	}
	// Band 2's thinker sees the revision as band 1's thought.
	if th := f.thinks[2].Thoughts; len(th) != 2 || th[1] != r.res.Thoughts[1] {
		t.Errorf("band 2 thinks with %q", th)
	}
	// Events: critique(redraw) → band_redrawn → band 1's rows in round 1 → band_done → critique(pass).
	want := []string{protocol.TypeCritique, protocol.TypeBandRedrawn}
	want = append(want, slices.Repeat([]string{protocol.TypeBandProgress}, plan[1].Len()/u)...)
	want = append(want, protocol.TypeBandDone, protocol.TypeCritique, protocol.TypeBandStarted)
	types := r.types()
	i := slices.Index(types, protocol.TypeBandRedrawn) - 1
	if got := types[i : i+len(want)]; !slices.Equal(got, want) {
		t.Errorf("redraw events %v, want %v", got, want)
	}
	for _, p := range of[*protocol.BandProgress](r) {
		if p.Round == 1 && p.Band != 1 {
			t.Errorf("band %d painted in round 1", p.Band)
		}
	}
}

func TestUnparsedScorePasses(t *testing.T) {
	f := &fakes{critique: func(req engine.CritiqueRequest) engine.Critique {
		return engine.Critique{Parsed: false, Revision: "x", Raw: "looks fine I guess"}
	}}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands = 2 }))
	for _, c := range of[*protocol.Critique](r) {
		if c.Verdict != protocol.VerdictPass || c.Reason != protocol.ReasonUnparsed || c.Parsed || c.Raw == "" {
			t.Errorf("critique %+v", c)
		}
	}
	if st := r.res.Stats; st.Unparsed != 2 || st.Revisions != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestNoThinkNoReflect(t *testing.T) {
	f := &fakes{}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.Think, s.Reflect = 3, false, false }))
	if len(f.thinks) != 0 || len(f.critics) != 0 || len(f.paints) != 3 {
		t.Fatalf("calls: %d thinks %d critiques %d paints", len(f.thinks), len(f.critics), len(f.paints))
	}
	for _, p := range f.paints {
		if p.Thought != "" {
			t.Errorf("no-think paint got thought %q", p.Thought)
		}
	}
	if !slices.Equal(r.res.Thoughts, []string{"", "", ""}) {
		t.Errorf("thoughts %q", r.res.Thoughts)
	}
	for _, typ := range r.types() {
		if typ == protocol.TypeThoughtDelta || typ == protocol.TypeThoughtDone || typ == protocol.TypeCritique {
			t.Errorf("no-think no-reflect run emitted %s", typ)
		}
	}
	// No-think but reflect: the critic still judges, with an empty thought.
	f = &fakes{}
	mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.Think = 2, false }))
	if len(f.critics) != 2 || f.critics[0].Thought != "" {
		t.Errorf("no-think reflect: %d critiques", len(f.critics))
	}
}

func TestAdaptiveDecider(t *testing.T) {
	f := &fakes{decide: func(req engine.DecideRequest) bool { return req.Row == 0 || req.Row == 5*u || req.Row == 11*u }}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Adaptive = true }))
	want := []engine.Rows{px(0, 5), px(5, 11), px(11, 16)}
	if !reflect.DeepEqual(r.res.Bands, want) {
		t.Fatalf("bands %v, want %v", r.res.Bands, want)
	}
	if p := of[*protocol.RunStarted](r)[0].Plan; p != nil {
		t.Errorf("adaptive run_started has a plan %v", p)
	}
	ds := of[*protocol.ThinkDecision](r)
	if len(ds) != grid {
		t.Fatalf("%d decisions, want one per strip boundary (%d)", len(ds), grid)
	}
	for i, d := range ds {
		if d.Row != i*u || d.Think != (i == 0 || i == 5 || i == 11) || d.Source != "decider" {
			t.Errorf("decision %d: %+v", i, d)
		}
	}
	for _, p := range f.paints {
		if p.Rows.End != -1 {
			t.Errorf("adaptive paint request rows %v, want open-ended", p.Rows)
		}
	}
	for _, d := range f.decides {
		inside := d.Row != 0 // rows 5 and 11 are asked while painting the band before them
		if inside && (d.Thought != r.res.Thoughts[d.Band] || d.Rows.End != -1 || d.Rows.Start >= d.Row) ||
			!inside && (d.Thought != "" || d.Rows != engine.Rows{Start: d.Row, End: -1}) {
			t.Errorf("decide request at row %d: band %d rows %v thought %q", d.Row, d.Band, d.Rows, d.Thought)
		}
	}
	// The decision at row 5 comes after row 4 is painted and closes band 0.
	types := r.types()
	i := slices.IndexFunc(r.events, func(ev protocol.Event) bool {
		d, ok := ev.Payload.(*protocol.ThinkDecision)
		return ok && d.Row == 5*u
	})
	if p, ok := r.events[i-1].Payload.(*protocol.BandProgress); !ok || p.Rows != px(4, 5) || types[i+1] != protocol.TypeBandDone {
		t.Errorf("around the row-5 decision: %v", types[i-1:i+2])
	}
	if want := wantCanvas(want, []int{0, 0, 0}); !slices.Equal(r.res.Tokens, want) {
		t.Error("adaptive canvas differs")
	}
	// replay agrees
	film, err := render.Rebuild(r.events)
	if err != nil || !slices.Equal(film.Canvas.Tokens, r.res.Tokens) || !slices.Equal(film.Canvas.Pix, r.res.Canvas.Pix) {
		t.Errorf("replay: %v", err)
	}
}

func TestAdaptiveSkipAndRedraw(t *testing.T) {
	// Skip the thought at row 0, think at row 8; band 1 is redrawn once.
	f := &fakes{
		decide: func(req engine.DecideRequest) bool { return req.Row == 8*u },
		critique: func(req engine.CritiqueRequest) engine.Critique {
			return engine.Critique{Score: map[bool]int{true: 20, false: 100}[req.Band == 1 && req.Round == 0], Parsed: true, Revision: "fix"}
		},
	}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Adaptive = true }))
	if len(f.thinks) != 1 || f.thinks[0].Rows != px(8, -1) || f.thinks[0].SetEnd == nil {
		t.Fatalf("thinks %+v", f.thinks)
	}
	if !slices.Equal(r.res.Thoughts, []string{"", "fix"}) {
		t.Errorf("thoughts %q", r.res.Thoughts)
	}
	redraw := f.paints[len(f.paints)-1]
	if redraw.Round != 1 || redraw.Rows != px(8, 16) {
		t.Errorf("redraw request rows %v round %d: want the band's fixed rows", redraw.Rows, redraw.Round)
	}
	// No decisions are asked inside a redraw.
	if n := len(of[*protocol.ThinkDecision](r)); n != grid {
		t.Errorf("%d decisions", n)
	}
	if want := wantCanvas([]engine.Rows{px(0, 8), px(8, 16)}, []int{0, 1}); !slices.Equal(r.res.Tokens, want) {
		t.Error("canvas differs")
	}
}

func TestAdaptiveThinkerEndsBands(t *testing.T) {
	f := &fakes{endAfter: 6}
	r := mustDraw(t, &backend{f: f, noDec: true}, settings(func(s *engine.Settings) { s.Adaptive = true }))
	want := []engine.Rows{px(0, 6), px(6, 12), px(12, 16)}
	if !reflect.DeepEqual(r.res.Bands, want) {
		t.Fatalf("bands %v, want %v", r.res.Bands, want)
	}
	for i, d := range of[*protocol.ThoughtDone](r) {
		if d.EndRow != want[i].End {
			t.Errorf("thought %d end_row %d", i, d.EndRow)
		}
	}
	for _, d := range of[*protocol.ThinkDecision](r) {
		if d.Source != "default" || !d.Think {
			t.Errorf("decision without a decider: %+v", d)
		}
	}
	// Without a decider and without an end from the thinker: one band.
	r = mustDraw(t, &backend{f: &fakes{}, noDec: true}, settings(func(s *engine.Settings) { s.Adaptive = true }))
	if !reflect.DeepEqual(r.res.Bands, []engine.Rows{px(0, 16)}) {
		t.Errorf("bands %v", r.res.Bands)
	}
	// An end outside the band is the thinker's fault.
	bad := &fakes{endAfter: 99}
	bad.onThink = nil
	th := engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
		req.SetEnd(req.Rows.Start)
		return "x", nil
	})
	b := engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		roles := bad.roles()
		roles.Thinker, roles.Decider = th, nil
		return roles, nil
	}}
	res := draw(t, context.Background(), b, settings(func(s *engine.Settings) { s.Adaptive = true }))
	if engine.Code(res.err) != protocol.CodeThinker {
		t.Errorf("bad end: %v", res.err)
	}
}

func TestCancellation(t *testing.T) {
	for _, tc := range []struct {
		name   string
		set    func(f *fakes, cancel context.CancelFunc)
		phase  string
		ignore bool
	}{
		{name: "mid-thought", set: func(f *fakes, cancel context.CancelFunc) {
			f.onThink = func(ctx context.Context, i int) error {
				if i == 1 {
					cancel()
				}
				return nil
			}
		}, phase: "thinking"},
		{name: "mid-thought, thinker ignores ctx", set: func(f *fakes, cancel context.CancelFunc) {
			f.onThink = func(ctx context.Context, i int) error {
				if i == 1 {
					cancel()
				}
				return nil
			}
		}, phase: "thinking", ignore: true},
		{name: "mid-band", set: func(f *fakes, cancel context.CancelFunc) {
			f.onRow = func(ctx context.Context, row int) error {
				if row == 8 {
					cancel()
				}
				return nil
			}
		}, phase: "painting"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			f := &fakes{}
			tc.set(f, cancel)
			b := engine.Backend(&backend{f: f})
			if tc.ignore {
				b = engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
					roles := f.roles()
					roles.Thinker = engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
						return f.think(context.Background(), req, emit)
					})
					return roles, nil
				}}
			}
			r := draw(t, ctx, b, settings(func(s *engine.Settings) { s.Bands = 2 }))
			checkStream(t, r)
			if engine.Code(r.err) != protocol.CodeCanceled || !errors.Is(r.err, context.Canceled) {
				t.Fatalf("err %v (code %s)", r.err, engine.Code(r.err))
			}
			if !strings.Contains(r.err.Error(), tc.phase) {
				t.Errorf("error %q does not say %s", r.err, tc.phase)
			}
			e := of[*protocol.Error](r)
			if len(e) != 1 || e[0].Code != protocol.CodeCanceled {
				t.Errorf("error events %+v", e)
			}
			if len(of[*protocol.RunDone](r)) != 0 {
				t.Error("a cancelled run sent run_done")
			}
		})
	}
}

func TestDeadline(t *testing.T) {
	// The deadline passes at row 3, however slowly the rows before it come.
	ctx := newExpiring()
	f := &fakes{onRow: func(rctx context.Context, row int) error {
		if row == 3 {
			ctx.expire()
			<-rctx.Done()
		}
		return nil
	}}
	r := draw(t, ctx, &backend{f: f}, settings(nil))
	checkStream(t, r)
	if engine.Code(r.err) != protocol.CodeDeadline {
		t.Fatalf("err %v, want deadline_exceeded", r.err)
	}
	// The partial canvas holds rows 0-2.
	if r.res.Canvas.Tokens[2*grid] == -1 || r.res.Canvas.Tokens[3*grid] != -1 || !r.res.Canvas.Painted[3*u-1] || r.res.Canvas.Painted[3*u] {
		t.Error("partial canvas is not rows 0-2")
	}
}

func TestThoughtBudget(t *testing.T) {
	f := &fakes{words: 4}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.MaxThoughtTokens = 3, 5 }))
	if got := r.res.Stats.ThoughtTokens; got != 5 {
		t.Errorf("%d thought tokens, want 5", got)
	}
	done := of[*protocol.ThoughtDone](r)
	if len(done) != 2 || done[0].Truncated || !done[1].Truncated || done[1].Tokens != 1 || done[1].Text != "b1w0 " {
		t.Errorf("thought_done %+v", done)
	}
	if len(f.thinks) != 2 {
		t.Errorf("thinker asked %d times; the third band should not think", len(f.thinks))
	}
	if !slices.Equal(r.res.Thoughts, []string{"b0w0 b0w1 b0w2 b0w3 ", "b1w0 ", ""}) {
		t.Errorf("thoughts %q", r.res.Thoughts)
	}
	b := of[*protocol.BudgetExhausted](r)
	if len(b) != 1 || b[0].Budget != protocol.BudgetThoughtTokens || b[0].Band != 1 || b[0].Limit != 5 {
		t.Errorf("budget events %+v", b)
	}
}

func TestRevisionBudget(t *testing.T) {
	f := &fakes{critique: func(engine.CritiqueRequest) engine.Critique { return engine.Critique{Score: 1, Parsed: true} }}
	r := mustDraw(t, &backend{f: f}, settings(func(s *engine.Settings) { s.Bands, s.MaxRevisionsTotal = 3, 1 }))
	if r.res.Stats.Revisions != 1 {
		t.Errorf("%d revisions, want 1", r.res.Stats.Revisions)
	}
	var reasons []string
	for _, c := range of[*protocol.Critique](r) {
		reasons = append(reasons, c.Reason)
	}
	want := []string{protocol.ReasonBelowThreshold, protocol.ReasonMaxRevisions, protocol.ReasonBudget, protocol.ReasonBudget}
	if !slices.Equal(reasons, want) {
		t.Errorf("reasons %v, want %v", reasons, want)
	}
	if b := of[*protocol.BudgetExhausted](r); len(b) != 1 || b[0].Budget != protocol.BudgetRevisions || b[0].Band != 1 {
		t.Errorf("budget events %+v", b)
	}
	// Empty revision: the redraw keeps the old thought.
	if r.res.Thoughts[0] != "b0w0 b0w1 b0w2 " {
		t.Errorf("thought after an empty revision %q", r.res.Thoughts[0])
	}
}

func TestFailures(t *testing.T) {
	boom := errors.New("boom")
	for _, tc := range []struct {
		name string
		b    engine.Backend
		s    engine.Settings
		code string
		msg  string
	}{
		{"invalid settings", &backend{f: &fakes{}}, settings(func(s *engine.Settings) { s.Threshold = 200 }), protocol.CodeInvalidRequest, "threshold"},
		{"backend", &backend{f: &fakes{}, err: boom}, settings(nil), protocol.CodeBackend, "boom"},
		{"nil backend", nil, settings(nil), protocol.CodeBackend, "no backend"},
		{"thinker", roles(func(r *engine.Roles) {
			r.Thinker = engine.ThinkerFunc(func(context.Context, engine.ThinkRequest, func(string)) (string, error) { return "", boom })
		}), settings(nil), protocol.CodeThinker, "thinking: boom"},
		{"no thinker", roles(func(r *engine.Roles) { r.Thinker = nil }), settings(nil), protocol.CodeBackend, "no thinker"},
		{"critic", roles(func(r *engine.Roles) {
			r.Critic = engine.CriticFunc(func(context.Context, engine.CritiqueRequest) (engine.Critique, error) { return engine.Critique{}, boom })
		}), settings(nil), protocol.CodeCritic, "critiquing: boom"},
		{"decider", roles(func(r *engine.Roles) {
			r.Decider = engine.DeciderFunc(func(context.Context, engine.DecideRequest) (bool, float64, error) { return false, 0, boom })
		}), settings(func(s *engine.Settings) { s.Adaptive = true }), protocol.CodeDecider, "deciding"},
		{"painter error", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error { return boom }), settings(nil), protocol.CodePainter, "painting: boom"},
		{"painter skips a row", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			on(tokenStrip(req.Rows.Start/u+1, make([]int, grid)))
			return nil
		}), settings(nil), protocol.CodePainter, "want a strip from row 0"},
		{"painter short row", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			on(tokenStrip(req.Rows.Start/u, make([]int, grid)))
			s := tokenStrip(req.Rows.Start/u+1, make([]int, grid))
			s.Tokens = s.Tokens[:3]
			on(s)
			return nil
		}), settings(nil), protocol.CodePainter, "carries 3 tokens, want 16"},
		{"painter narrow strip", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			s := tokenStrip(req.Rows.Start/u, make([]int, grid))
			s.W, s.Pix = 128, s.Pix[:4*128*u]
			on(s)
			return nil
		}), settings(nil), protocol.CodePainter, "does not fit a 256-pixel-wide canvas"},
		{"painter half a token row", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			s := tokenStrip(req.Rows.Start/u, make([]int, grid))
			s.Rows.End, s.Pix = s.Rows.Start+u/2, s.Pix[:4*width*u/2]
			on(s)
			return nil
		}), settings(nil), protocol.CodePainter, "must be whole token rows"},
		{"painter bad token", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			on(tokenStrip(req.Rows.Start/u, slices.Repeat([]int{-1}, grid)))
			return nil
		}), settings(nil), protocol.CodePainter, "token 0 is -1"},
		{"painter empty strip", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			on(canvas.Strip{Rows: engine.Rows{Start: req.Rows.Start, End: req.Rows.Start}, W: width})
			return nil
		}), settings(nil), protocol.CodePainter, "empty strip"},
		{"painter stops early", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			on(tokenStrip(req.Rows.Start/u, make([]int, grid)))
			return nil
		}), settings(nil), protocol.CodePainter, "returned after rows [0,16) of [0,96)"},
		{"painter past the band", painter(func(ctx context.Context, req engine.PaintRequest, on func(canvas.Strip)) error {
			for r := req.Rows.Start / u; r <= req.Rows.End/u; r++ {
				on(tokenStrip(r, make([]int, grid)))
			}
			return nil
		}), settings(nil), protocol.CodePainter, "past the band"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := draw(t, context.Background(), tc.b, tc.s)
			checkStream(t, r)
			if engine.Code(r.err) != tc.code || !strings.Contains(r.err.Error(), tc.msg) {
				t.Errorf("err %v (code %s), want code %s with %q", r.err, engine.Code(r.err), tc.code, tc.msg)
			}
			if e := of[*protocol.Error](r); len(e) != 1 || e[0].Code != tc.code || e[0].Message != r.err.Error() {
				t.Errorf("error events %+v", e)
			}
		})
	}
}

func roles(mod func(*engine.Roles)) engine.Backend {
	return engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		r := (&fakes{}).roles()
		mod(&r)
		return r, nil
	}}
}

func painter(p engine.PainterFunc) engine.Backend {
	return roles(func(r *engine.Roles) { r.Painter = p })
}

func TestBackendClosed(t *testing.T) {
	b := &backend{f: &fakes{critique: func(engine.CritiqueRequest) engine.Critique { return engine.Critique{} }}}
	mustDraw(t, b, settings(nil))
	ctx, cancel := context.WithCancel(context.Background())
	b.f.onRow = func(context.Context, int) error { cancel(); return nil }
	draw(t, ctx, b, settings(nil))
	if b.closes != 2 {
		t.Errorf("%d runs closed, want 2", b.closes)
	}
}

func TestSinkError(t *testing.T) {
	var n int
	_, err := engine.Draw(context.Background(), &backend{f: &fakes{}}, engine.RunSpec{Prompt: "x", Settings: settings(nil)},
		func(ev protocol.Event) error {
			n++
			if n == 5 {
				return errors.New("client went away")
			}
			return nil
		})
	if engine.Code(err) != protocol.CodeSink || n != 5 {
		t.Errorf("err %v after %d events", err, n)
	}
}

func TestSeedAndRunID(t *testing.T) {
	var seen []engine.RunSpec
	b := engine.FuncBackend{NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
		seen = append(seen, spec)
		return (&fakes{}).roles(), nil
	}}
	s := settings(func(s *engine.Settings) { s.Seed = 7 })
	if _, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "x", Settings: s}, nil); err != nil {
		t.Fatal(err)
	}
	res, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "x", Seed: 9, Settings: s, RunID: "r1"}, nil)
	if err != nil || res.RunID != "r1" {
		t.Fatal(err, res.RunID)
	}
	if seen[0].Seed != 7 || seen[1].Seed != 9 || seen[1].Settings.Seed != 9 || seen[0].Settings.Bands != 3 {
		t.Errorf("specs %+v", seen)
	}
}

// TestEventsRoundTrip encodes every event of runs that together emit every
// event type, decodes it and compares.
func TestEventsRoundTrip(t *testing.T) {
	seen := map[string]bool{}
	low := func(engine.CritiqueRequest) engine.Critique {
		return engine.Critique{Score: 3, Parsed: true, Revision: "r", Raw: "3"}
	}
	runs := []result{
		mustDraw(t, &backend{f: &fakes{critique: low}}, settings(func(s *engine.Settings) { s.MaxThoughtTokens = 4 })),
		mustDraw(t, &backend{f: &fakes{decide: func(r engine.DecideRequest) bool { return r.Row%(5*u) == 0 }}}, settings(func(s *engine.Settings) { s.Adaptive = true })),
		draw(t, context.Background(), &backend{f: &fakes{}, err: errors.New("x")}, settings(nil)),
		mustDraw(t, &reviewBackend{&reviewer{f: &fakes{}, rejects: 1}}, settings(nil)),
	}
	for _, r := range runs {
		for _, ev := range r.events {
			seen[ev.Type] = true
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			back, err := protocol.Decode(b)
			if err != nil {
				t.Fatalf("%s: %v", b, err)
			}
			// A native event carries its PNG's source; its form on the
			// wire has the PNG.
			if ev.Payload, err = protocol.WithPNG(ev.Payload); err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, ev) {
				t.Errorf("round trip of %s:\n got %+v\nwant %+v", b, back, ev)
			}
		}
	}
	for _, typ := range protocol.Types() {
		if !seen[typ] {
			t.Errorf("no run emitted %s", typ)
		}
	}
}

// TestReplay rebuilds the canvas from the events alone, through JSONL.
func TestReplay(t *testing.T) {
	f := &fakes{critique: func(req engine.CritiqueRequest) engine.Critique {
		return engine.Critique{Score: 50 + 30*req.Round, Parsed: true, Revision: "again"}
	}}
	for _, s := range []engine.Settings{
		settings(func(s *engine.Settings) { s.Bands = 4; s.MaxRevisions = 2 }),
		settings(func(s *engine.Settings) { s.Adaptive = true }),
	} {
		r := mustDraw(t, &backend{f: f}, s)
		var buf strings.Builder
		w := protocol.NewWriter(&buf)
		for _, ev := range r.events {
			if err := w.Write(ev); err != nil {
				t.Fatal(err)
			}
		}
		events, err := protocol.ReadAll(strings.NewReader(buf.String()))
		if err != nil {
			t.Fatal(err)
		}
		film, err := render.Rebuild(events)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(film.Canvas.Tokens, r.res.Tokens) || !slices.Equal(film.Done.Tokens, r.res.Tokens) || !slices.Equal(film.Canvas.Pix, r.res.Canvas.Pix) {
			t.Error("replayed canvas differs from the run's")
		}
	}
}

// expiring is a context whose deadline passes when the test says so: a
// timer would pass it wherever the run happens to be on a loaded machine.
type expiring struct {
	context.Context
	done chan struct{}
	once sync.Once
}

func newExpiring() *expiring {
	return &expiring{Context: context.Background(), done: make(chan struct{})}
}

func (c *expiring) expire() { c.once.Do(func() { close(c.done) }) }

func (c *expiring) Done() <-chan struct{} { return c.done }

func (c *expiring) Err() error {
	select {
	case <-c.done:
		return context.DeadlineExceeded
	default:
		return nil
	}
}

// readerBackend is a backend whose roles read a request's canvas only when
// called (engine.CanvasReader).
type readerBackend struct{ engine.FuncBackend }

func (readerBackend) ReadsCanvasOnCall() bool { return true }

// TestCanvasReaderGetsTheCanvas: a CanvasReader's requests carry the
// engine's canvas itself (the result's), with the strips painted so far;
// other backends' requests carry copies; run_done's PNG source is a copy
// either way, and both runs' events are the same.
func TestCanvasReaderGetsTheCanvas(t *testing.T) {
	var evs [2][]string
	for i, reader := range []bool{false, true} {
		f := &fakes{}
		var b engine.Backend = engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) { return f.roles(), nil }}
		if reader {
			b = readerBackend{b.(engine.FuncBackend)}
		}
		r := mustDraw(t, b, settings(nil))
		if len(f.paints) == 0 || len(f.thinks) == 0 {
			t.Fatal("no paint or think requests")
		}
		for _, c := range []*canvas.Canvas{f.thinks[0].Canvas, f.paints[len(f.paints)-1].Canvas} {
			if (c == r.res.Canvas) != reader {
				t.Errorf("reader %v: a request's canvas is the result's: %v", reader, c == r.res.Canvas)
			}
		}
		done := r.events[len(r.events)-1].Payload.(*protocol.RunDone)
		if src, ok := done.PNGSource().(canvas.Strip); !ok || &src.Pix[0] == &r.res.Canvas.Pix[0] {
			t.Errorf("reader %v: run_done's PNG source is not a copy of the canvas", reader)
		}
		for _, ev := range r.events {
			ev.TMs, ev.RunID = 0, ""
			if d, ok := ev.Payload.(*protocol.RunDone); ok {
				c := *d
				c.Stats.Timings = protocol.Timings{}
				ev.Payload = &c
			}
			b, err := json.Marshal(ev)
			if err != nil {
				t.Fatal(err)
			}
			evs[i] = append(evs[i], string(b))
		}
	}
	if len(evs[0]) != len(evs[1]) {
		t.Fatalf("a CanvasReader's run has %d events, another backend's %d", len(evs[1]), len(evs[0]))
	}
	for i := range evs[0] {
		if evs[0][i] != evs[1][i] {
			t.Fatalf("event %d differs:\n%s\n%s", i, evs[0][i], evs[1][i])
		}
	}
}

// makerBackend supplies the run's canvas (engine.CanvasMaker).
type makerBackend struct {
	engine.FuncBackend
	c *canvas.Canvas
}

func (m makerBackend) NewCanvas(engine.Geometry) (*canvas.Canvas, error) { return m.c, nil }

// TestCanvasMaker: a CanvasMaker's blank canvas is the run's (the result's),
// nil lets the engine make one, and a canvas that is not blank or not the
// painter's size fails the run as the backend's fault.
func TestCanvasMaker(t *testing.T) {
	f := &fakes{}
	fb := engine.FuncBackend{NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) { return f.roles(), nil }}
	g := engine.GeometryOf(f.roles().Painter)
	blank, err := g.NewCanvas()
	if err != nil {
		t.Fatal(err)
	}
	if r := mustDraw(t, makerBackend{fb, blank}, settings(nil)); r.res.Canvas != blank {
		t.Error("the run did not paint the backend's canvas")
	}
	if r := mustDraw(t, makerBackend{fb, nil}, settings(nil)); r.res.Canvas == nil || r.res.Canvas == blank {
		t.Error("a nil canvas from the backend: the engine did not make its own")
	}
	small, _ := canvas.New(g.Width/2, g.Height)
	for name, c := range map[string]*canvas.Canvas{"painted": blank, "too small": small} { // blank was painted above
		r := draw(t, context.Background(), makerBackend{fb, c}, settings(nil))
		if e, ok := errors.AsType[*engine.Error](r.err); !ok || e.Code != protocol.CodeBackend {
			t.Errorf("%s canvas: the run returned %v, want a backend error", name, r.err)
		}
	}
}
