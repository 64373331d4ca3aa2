package engine

import (
	"math"
	"testing"
)

// TestProbability: a thinker's p_ok reaches events and the chooser only
// when it is a probability; anything else counts as none reported.
func TestProbability(t *testing.T) {
	for in, want := range map[float64]float64{0.25: 0.25, 1: 1, 0: 0, -0.5: 0, 1.5: 0, math.Inf(1): 0, math.NaN(): 0} {
		if got := probability(in); got != want {
			t.Errorf("probability(%v) = %v, want %v", in, got, want)
		}
	}
}
