package engine_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// reviewer is a thinker that reviews its own plans: it rejects the first
// `rejects` plans of every band, then accepts.
type reviewer struct {
	f       *fakes
	rejects int
	mu      sync.Mutex
	reviews []engine.ReviewRequest
}

func (r *reviewer) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	return r.f.think(ctx, req, emit)
}

func (r *reviewer) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	r.mu.Lock()
	r.reviews = append(r.reviews, req)
	r.mu.Unlock()
	if req.Attempt < r.rejects {
		return engine.PlanReview{Reason: "blue square not below red circle", Tokens: 9}, nil
	}
	return engine.PlanReview{Accepted: true, Tokens: 3}, nil
}

type reviewBackend struct{ r *reviewer }

func (b *reviewBackend) DefaultBands() int { return 2 }
func (b *reviewBackend) NewRun(context.Context, engine.RunSpec) (engine.Run, error) {
	return reviewRun{b.r}, nil
}

type reviewRun struct{ r *reviewer }

func (r reviewRun) Roles() engine.Roles {
	roles := r.r.f.roles()
	roles.Thinker, roles.Decider = r.r, nil
	return roles
}
func (reviewRun) Close() error { return nil }

func TestPlanReviewRethinksRejectedPlans(t *testing.T) {
	rv := &reviewer{f: &fakes{}, rejects: 1}
	r := mustDraw(t, &reviewBackend{rv}, settings(nil))
	got := strings.Join(r.types(), " ")
	band := "band_started thought_delta thought_delta thought_delta thought_done plan_review " +
		"thought_delta thought_delta thought_delta thought_done plan_review band_progress"
	if !strings.Contains(got, band) {
		t.Fatalf("events %s\nwant a band to hold %s", got, band)
	}
	reviews := of[*protocol.PlanReview](r)
	if len(reviews) != 4 {
		t.Fatalf("%d plan reviews, want 2 a band", len(reviews))
	}
	for i, p := range reviews {
		want := protocol.PlanReview{Band: i / 2, Attempt: i % 2, Accepted: i%2 == 1, Tokens: 3, Final: i%2 == 1, Thought: p.Thought}
		if i%2 == 0 {
			want.Reason, want.Tokens = "blue square not below red circle", 9
		}
		if *p != want {
			t.Errorf("review %d: %+v, want %+v", i, *p, want)
		}
	}
	for _, d := range of[*protocol.ThoughtDelta](r) {
		if d.Attempt > 1 {
			t.Fatalf("delta of attempt %d", d.Attempt)
		}
	}
	dones := of[*protocol.ThoughtDone](r)
	if len(dones) != 4 || dones[0].Attempt != 0 || dones[1].Attempt != 1 {
		t.Fatalf("thought_done attempts: %+v", dones)
	}
	// The rewrite is asked for with the rejected plan and its reason in view.
	thinks := rv.f.thinks
	if len(thinks) != 4 || thinks[1].Attempt != 1 || len(thinks[1].Rejected) != 1 ||
		thinks[1].Rejected[0] != (engine.RejectedPlan{Thought: dones[0].Text, Reason: "blue square not below red circle"}) {
		t.Fatalf("second think request: %+v", thinks[1])
	}
	st := r.res.Stats
	if st.PlanReviews != 4 || st.PlanRejections != 2 || st.ReviewTokens != 24 {
		t.Fatalf("stats %+v", st)
	}
	if !slices.Equal(r.res.Thoughts, []string{dones[1].Text, dones[3].Text}) {
		t.Fatalf("kept thoughts %q", r.res.Thoughts)
	}
}

func TestPlanAttemptsBoundRethinks(t *testing.T) {
	rv := &reviewer{f: &fakes{}, rejects: 99}
	r := mustDraw(t, &reviewBackend{rv}, settings(func(s *engine.Settings) { s.PlanAttempts = 3 }))
	reviews := of[*protocol.PlanReview](r)
	if len(reviews) != 6 || !reviews[2].Final || reviews[1].Final || reviews[2].Accepted {
		t.Fatalf("reviews %+v", reviews)
	}
	// Off: no reviews when plan_attempts is 0 or the run does not reflect.
	for _, mod := range []func(*engine.Settings){
		func(s *engine.Settings) { s.PlanAttempts = 0 },
		func(s *engine.Settings) { s.Reflect = false },
	} {
		rv := &reviewer{f: &fakes{}, rejects: 99}
		if r := mustDraw(t, &reviewBackend{rv}, settings(mod)); len(of[*protocol.PlanReview](r)) != 0 || len(rv.reviews) != 0 {
			t.Fatal("plans reviewed with reviews off")
		}
	}
}

// chooser is a thinker that writes a different plan each attempt and
// reports pOK[attempt] as its probability that the plan is right.
type chooser struct {
	reviewer
	pOK []float64
}

func (c *chooser) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	text, err := c.f.think(ctx, req, emit)
	w := fmt.Sprintf("a%d ", req.Attempt)
	emit(w)
	return text + w, err
}

func (c *chooser) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	c.mu.Lock()
	c.reviews = append(c.reviews, req)
	c.mu.Unlock()
	p := c.pOK[req.Attempt]
	if p < 0.5 {
		return engine.PlanReview{Reason: "blue square not below red circle", Tokens: 9, POk: p}, nil
	}
	return engine.PlanReview{Accepted: true, Tokens: 3, POk: p}, nil
}

type chooseBackend struct{ c *chooser }

func (b *chooseBackend) DefaultBands() int { return 2 }
func (b *chooseBackend) NewRun(context.Context, engine.RunSpec) (engine.Run, error) {
	return chooseRun{b.c}, nil
}

type chooseRun struct{ c *chooser }

func (r chooseRun) Roles() engine.Roles {
	roles := r.c.f.roles()
	roles.Thinker, roles.Decider = r.c, nil
	return roles
}
func (chooseRun) Close() error { return nil }

// With plan_candidates the thinker writes k plans a band from the same
// context, each streamed and reviewed, and the band keeps the one it rates
// likeliest to be right — here the second, though the third is accepted too.
func TestPlanCandidatesKeepTheLikeliest(t *testing.T) {
	c := &chooser{reviewer: reviewer{f: &fakes{}}, pOK: []float64{0.3, 0.9, 0.6}}
	r := mustDraw(t, &chooseBackend{c}, settings(func(s *engine.Settings) { s.PlanCandidates = 3 }))
	got := strings.Join(r.types(), " ")
	cand := "thought_delta thought_delta thought_delta thought_delta thought_done plan_review "
	if band := "band_started " + strings.Repeat(cand, 3) + "band_progress"; !strings.Contains(got, band) {
		t.Fatalf("events %s\nwant a band to hold %s", got, band)
	}
	reviews := of[*protocol.PlanReview](r)
	if len(reviews) != 6 {
		t.Fatalf("%d plan reviews, want 3 a band", len(reviews))
	}
	for i, p := range reviews {
		a := i % 3
		if p.Attempt != a || p.POk != c.pOK[a] || p.Final != (a == 2) || (p.Chosen != nil) != (a == 2) {
			t.Fatalf("review %d: %+v", i, *p)
		}
		if p.Final && *p.Chosen != 1 {
			t.Fatalf("band %d chose attempt %d, want 1", p.Band, *p.Chosen)
		}
	}
	for _, th := range c.f.thinks {
		if len(th.Rejected) != 0 {
			t.Fatalf("a candidate was written with %d rejected plans in view", len(th.Rejected))
		}
	}
	if !slices.Equal(r.res.Thoughts, []string{"b0w0 b0w1 b0w2 a1 ", "b1w0 b1w1 b1w2 a1 "}) {
		t.Fatalf("kept thoughts %q", r.res.Thoughts)
	}
	if st := r.res.Stats; st.PlanReviews != 6 || st.PlanRejections != 2 {
		t.Fatalf("stats %+v", st)
	}
	// A thinker that reports no probability is ranked by its verdict, the
	// earliest on a tie: both rejected, the first is kept.
	c = &chooser{reviewer: reviewer{f: &fakes{}}, pOK: []float64{0, 0}}
	r = mustDraw(t, &chooseBackend{c}, settings(func(s *engine.Settings) { s.PlanCandidates = 2 }))
	if reviews := of[*protocol.PlanReview](r); len(reviews) != 4 || *reviews[1].Chosen != 0 {
		t.Fatalf("reviews %+v", reviews)
	}
}
