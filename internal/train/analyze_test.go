package train

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
)

func TestAUCAndTPR(t *testing.T) {
	pos, neg := []float64{0.9, 0.8, 0.3}, []float64{0.1, 0.2, 0.35, 0.05}
	if got := auc(pos, neg); got != 11.0/12 {
		t.Fatalf("auc %g, want %g", got, 11.0/12)
	}
	if got := auc(neg, neg); got != 0.5 {
		t.Fatalf("auc of equal sets %g, want 0.5", got)
	}
	// A threshold that lets no negative through (fpr 0) still catches 0.8 and 0.9.
	if got := tprAt(pos, neg, 0); got != 2.0/3 {
		t.Fatalf("tpr at fpr 0 = %g, want 2/3", got)
	}
	if got := tprAt(pos, neg, 0.25); got != 1 {
		t.Fatalf("tpr at fpr 0.25 = %g, want 1", got)
	}
}

// The measurement runs on a small untrained model: every plan is counted,
// and the failure classes add up.
func TestMeasureReviewerAndFailures(t *testing.T) {
	words := thought.ModelWords()
	w, err := model.NewWeights(model.NewConfigWords(32, 1, 2, 1024, words), 3)
	if err != nil {
		t.Fatal(err)
	}
	rep := MeasureReviewer(w, 20, 1)
	if rep.Plans+rep.Unreadable != 20 || rep.Wrong > rep.Plans || rep.AUC < 0 || rep.AUC > 1 {
		t.Fatalf("report %+v", rep)
	}
	s := engine.DefaultSettings()
	fails, err := AnalyzeFailures(context.Background(), model.New(w), s, 1, 1, false, 2)
	if err != nil {
		t.Fatal(err)
	}
	runs := 0
	for cat, r := range fails {
		if r.Pass+r.WrongPlan+r.Strayed != r.Runs || r.Caught > r.FirstWrong || r.FirstWrong > r.FirstPlans {
			t.Fatalf("%s: %+v", cat, r)
		}
		runs += r.Runs
	}
	if runs != len(scene.Categories) {
		t.Fatalf("%d runs, want one per category", runs)
	}
}
