package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/kernels"
)

// refMatVec is a MatVec on the plain reference kernel that counts its calls
// and checks that w is always one of the parameters' tensors.
type refMatVec struct {
	t       *testing.T
	tensors map[*float32]bool
	calls   int
}

func (r *refMatVec) MatVec(out, x, w, bias []float32, k, n int) {
	r.calls++
	if len(out) != n || len(x) != k || len(w) != n*k || (bias != nil && len(bias) != n) {
		r.t.Fatalf("MatVec: lengths out %d, x %d, w %d, bias %d for k=%d n=%d", len(out), len(x), len(w), len(bias), k, n)
	}
	if !r.tensors[&w[0]] {
		r.t.Fatalf("MatVec: w (k=%d n=%d) is not a parameter tensor", k, n)
	}
	kernels.MatMulTRef(out, x, w, 1, k, n)
	for i := range bias {
		out[i] += bias[i]
	}
}

func TestDecoderMatVecHook(t *testing.T) {
	cfg := Config{Vocab: 13, Ctx: 20, D: 16, Layers: 2, Heads: 4, GridRows: 3, GridCols: 3}
	r := rand.New(rand.NewPCG(3, 3))
	p := NewParams(cfg)
	randomize(r, p.Data, 0.2)
	hook := &refMatVec{t: t, tensors: map[*float32]bool{}}
	for _, ts := range p.Tensors() {
		hook.tensors[&ts.Data[0]] = true
	}
	q := *p
	q.MatVec = hook
	// The hook gets float32 weights: compare with the CPU decoder's
	// float32 path (the half-precision one is TestDecoderMatchesForward's).
	defer SetHalfWeights(SetHalfWeights(false))
	cpu, gpu := NewDecoder(p, 10), NewDecoder(&q, 10)
	var worst float64
	for i := int32(0); i < 10; i++ {
		tok, row, col := int32(r.IntN(cfg.Vocab)), int32(r.IntN(4)), int32(r.IntN(4))
		a := cpu.Step(tok, i, row, col)
		b := gpu.Step(tok, i, row, col)
		for j := range a {
			worst = math.Max(worst, math.Abs(float64(a[j]-b[j])))
		}
	}
	t.Logf("hooked vs CPU decoder: max abs diff of logits %.3g over 10 steps", worst)
	if worst > 1e-5 {
		t.Errorf("hooked vs CPU decoder: max abs diff %.3g > 1e-5", worst)
	}
	if want := 10 * (4*cfg.Layers + 1); hook.calls != want {
		t.Errorf("MatVec called %d times in 10 steps, want %d (4 a layer + logits)", hook.calls, want)
	}
}
