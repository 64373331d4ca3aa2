package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TargetLogProbs gives each position's log p(target): with unit weights the
// loss is minus their mean. Batch.Scale replaces the 1/Σw normalisation, so
// signed weights (policy gradients) scale the loss as asked.
func TestTargetLogProbsAndScale(t *testing.T) {
	r := rand.New(rand.NewPCG(8, 8))
	p := NewParams(tinyConfig)
	randomize(r, p.Data, 0.3)
	b := tinyBatch(r, tinyConfig)
	n := b.B * b.T
	for i := range b.Weights[:n] {
		b.Weights[i] = 1
	}
	m := NewModel(p, b.B, b.T)
	loss := m.Forward(b)
	lp := make([]float32, n)
	m.TargetLogProbs(lp)
	var sum float64
	for _, v := range lp {
		sum -= float64(v)
	}
	if got := sum / float64(n); math.Abs(got-float64(loss)) > 1e-4 {
		t.Fatalf("mean −log p %v, loss %v", got, loss)
	}
	for i := range b.Weights[:n] {
		b.Weights[i] = float32(i%3) - 1 // −1, 0, 1
	}
	b.Scale = 0.5
	want := 0.0
	for i := range lp {
		want -= 0.5 * float64(b.Weights[i]) * float64(lp[i])
	}
	if got := m.Forward(b); math.Abs(float64(got)-want) > 1e-4 {
		t.Fatalf("scaled signed loss %v, want %v", got, want)
	}
}
