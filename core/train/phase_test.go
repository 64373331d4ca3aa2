package train

import (
	"testing"

	"github.com/twig-project/twig/core/nn"
)

func TestPhasesReplayTheShippedSchedule(t *testing.T) {
	o := Default()
	for _, c := range []struct{ step, total int }{{0, 2000}, {299, 2000}, {300, 1700}, {1699, 1700}, {1700, 3000}, {2999, 3000}} {
		if got, want := o.LR(c.step), nn.LR(c.step, c.total, o.Warmup, o.PeakLR); got != want {
			t.Errorf("step %d: lr %g, want %g", c.step, got, want)
		}
	}
	if last := o.Phases[len(o.Phases)-1].Until; last != o.Steps {
		t.Fatalf("phases end at %d, steps %d", last, o.Steps)
	}
}
