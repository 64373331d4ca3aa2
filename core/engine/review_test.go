package engine_test

import (
	"context"
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
