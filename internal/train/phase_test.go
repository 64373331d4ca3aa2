package train

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/nn"
)

func TestPhasesReplayTheShippedSchedule(t *testing.T) {
	o := Default()
	for _, c := range []struct{ step, total int }{{0, 2000}, {299, 2000}, {300, 1700}, {1699, 1700}, {1700, 3000}, {2999, 3000}} {
		if got, want := o.LR(c.step), nn.LR(c.step, c.total, o.Warmup, o.PeakLR); got != want {
			t.Errorf("step %d: lr %g, want %g", c.step, got, want)
		}
	}
	if last := o.Phases[len(o.Phases)-1].Until; last != o.Steps || o.Phases[3].Until != ReflectFrom {
		t.Fatalf("phases end at %d, steps %d", last, o.Steps)
	}
}

// The shipped recipe's continuation: the rate restarts at step 3000, climbs
// to its peak over the warm-up and decays to its floor at the last step; the
// mixture changes at 3000 and 4008 and nowhere else.
func TestDefaultContinuationSchedule(t *testing.T) {
	o := Default()
	near := func(a, b float32) bool { return math.Abs(float64(a-b)) <= 1e-6 }
	last := o.Phases[3]
	if got := o.LR(2999); !near(got, o.PeakLR/10) {
		t.Fatalf("LR(2999) = %g, want the first run's floor %g", got, o.PeakLR/10)
	}
	if got := o.LR(3000 + o.Warmup - 1); !near(got, last.Peak) {
		t.Fatalf("LR at the end of the restart's warm-up = %g, want %g", got, last.Peak)
	}
	if got := o.LR(ReflectFrom - 1); !near(got, last.Floor) {
		t.Fatalf("LR(last) = %g, want %g", got, last.Floor)
	}
	for s := 3000 + o.Warmup; s < ReflectFrom-1; s++ {
		if o.LR(s+1) > o.LR(s) {
			t.Fatalf("LR rises at step %d after the warm-up", s)
		}
	}
	if o.DocsAt(2999).Categories != nil {
		t.Fatal("the first 3000 steps used the default categories")
	}
	if o.DocsAt(3000).Categories["complex"] != 3 || o.DocsAt(4007).Categories["single"] != 0.5 {
		t.Fatalf("steps 3000–4007 mixture wrong: %v", o.DocsAt(3000).Categories)
	}
	if o.DocsAt(4008).Categories["single"] != 1.2 || o.DocsAt(ReflectFrom - 1).Categories["single"] != 1.2 {
		t.Fatalf("steps from 4008 mixture wrong: %v", o.DocsAt(4008).Categories)
	}
	if o.DocsAt(ReflectFrom-1).Review != 0 || o.DocsAt(ReflectFrom).Review == 0 || o.DocsAt(o.Steps-1).Review == 0 {
		t.Fatal("plan reviews must start exactly at ReflectFrom")
	}
	if o.Grow == nil || o.Grow.At != ReflectFrom {
		t.Fatalf("the vocabulary must grow at step %d: %+v", ReflectFrom, o.Grow)
	}
	rl := o.Phases[4]
	if got := o.LR(ReflectFrom + o.Warmup - 1); !near(got, rl.Peak) {
		t.Fatalf("LR after the review phase's warm-up = %g, want %g", got, rl.Peak)
	}
	if got := o.LR(ReflectFrom + reflectSteps - 1); !near(got, rl.Floor) {
		t.Fatalf("LR at the review phase's end = %g, want %g", got, rl.Floor)
	}
	self := o.Phases[5]
	if got := o.LR(o.Steps - 1); !near(got, self.Floor) || self.Until != o.Steps || o.Steps != DenseFrom {
		t.Fatalf("LR(last) = %g, want the self-review phase's floor %g", got, self.Floor)
	}
	if o.DocsAt(o.Steps-1).SelfReview == 0 || o.DocsAt(ReflectFrom+reflectSteps-1).SelfReview != 0 {
		t.Fatal("self-review documents must start exactly after the review phase")
	}
	// The dense-review experiment continues the recipe unchanged up to DenseFrom.
	o = DenseReview()
	for s := 0; s < DenseFrom; s += 37 {
		if o.LR(s) != Default().LR(s) {
			t.Fatalf("step %d: the dense-review recipe's rate %g differs from the shipped %g", s, o.LR(s), Default().LR(s))
		}
	}
	dense := o.Phases[6]
	if got := o.LR(o.Steps - 1); !near(got, dense.Floor) || dense.Until != o.Steps {
		t.Fatalf("LR(last) = %g, want the dense-review phase's floor %g", got, dense.Floor)
	}
	if got := o.LR(DenseFrom + o.Warmup - 1); !near(got, dense.Peak) {
		t.Fatalf("LR after the dense phase's warm-up = %g, want %g", got, dense.Peak)
	}
	if o.DocsAt(o.Steps-1).DenseReview == 0 || o.DocsAt(DenseFrom-1).DenseReview != 0 {
		t.Fatal("dense review documents must start exactly at DenseFrom")
	}
}

func TestCanonicalRecipe(t *testing.T) {
	o := Canonical()
	if o.StartFrom != CanonFrom || o.Steps != CanonFrom+canonSteps || o.Prompt != model.PromptCanonical {
		t.Fatalf("recipe: %+v", o)
	}
	if lr := o.LR(CanonFrom); lr > 1.2e-4 {
		t.Fatalf("first step's rate %g: the restart must warm up", lr)
	}
	if lr := o.LR(CanonFrom + o.Warmup); lr < 9e-4 || lr > 1e-3 {
		t.Fatalf("rate after warm-up %g, want about 1e-3", lr)
	}
	if lr := o.LR(o.Steps - 1); lr > 1.1e-4 {
		t.Fatalf("last rate %g, want about 1e-4", lr)
	}
	if !o.DocsAt(CanonFrom).Canonical || Default().DocsAt(DenseFrom-1).Canonical {
		t.Fatal("only the canonical recipe writes canonical documents")
	}
	w, err := model.NewWeights(model.NewConfig(16, 1, 2, 64), 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Run(context.Background(), o, filepath.Join(t.TempDir(), "none.gob"), true, nil); err == nil || !strings.Contains(err.Error(), "--continue") {
		t.Fatalf("the canonical recipe from scratch: %v, want an error naming --continue", err)
	}
	if _, err := Continue(context.Background(), o, "", w, CanonFrom+1, nil); err == nil {
		t.Fatal("continuing from a step the recipe does not start at must fail")
	}
}
