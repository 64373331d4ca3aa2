package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

var tinyConfig = Config{Vocab: 11, Ctx: 7, D: 8, Layers: 1, Heads: 2, GridRows: 3, GridCols: 3}

// tinyBatch: B=2, T=7; row 1 packs two documents (starting at 0 and 3).
func tinyBatch(r *rand.Rand, cfg Config) Batch {
	B, T := 2, 7
	b := Batch{B: B, T: T}
	for i := 0; i < B; i++ {
		for t := 0; t < T; t++ {
			ds := 0
			if i == 1 && t >= 3 {
				ds = 3
			}
			b.Tokens = append(b.Tokens, int32(r.IntN(cfg.Vocab)))
			b.Pos = append(b.Pos, int32(t-ds))
			b.Row = append(b.Row, int32(r.IntN(cfg.GridRows+1)))
			b.Col = append(b.Col, int32(r.IntN(cfg.GridCols+1)))
			b.DocStart = append(b.DocStart, int32(ds))
			b.Targets = append(b.Targets, int32(r.IntN(cfg.Vocab)))
			w := float32(0.5 + r.Float64())
			if t == 2 {
				w = 0
			}
			b.Weights = append(b.Weights, w)
		}
	}
	return b
}

func randomize(r *rand.Rand, x []float32, std float64) {
	for i := range x {
		x[i] = float32(r.NormFloat64() * std)
	}
}

// gradCheck compares analytic with central differences of f over x, and
// returns the max relative difference |a-n| / max(|a|+|n|, floor).
func gradCheck(x, analytic []float32, f func() float64, eps float32, floor float64) (maxRel float64, at int) {
	for i := range x {
		old := x[i]
		x[i] = old + eps
		fp := f()
		x[i] = old - eps
		fm := f()
		x[i] = old
		num := (fp - fm) / (2 * float64(eps))
		a := float64(analytic[i])
		rel := math.Abs(a-num) / math.Max(math.Abs(a)+math.Abs(num), floor)
		if rel > maxRel {
			maxRel, at = rel, i
		}
	}
	return maxRel, at
}

func TestModelGradient(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 1))
	p := NewParams(tinyConfig)
	randomize(r, p.Data, 0.3)
	b := tinyBatch(r, tinyConfig)
	m := NewModel(p, b.B, b.T)
	m.Forward(b)
	m.ZeroGrad()
	m.Backward()
	scale := float32(1 / b.weightSum())
	f := func() float64 { return m.forward(b, scale) }
	const tol = 2e-2
	worst := 0.0
	for i, tn := range p.Tensors() {
		g := m.Grads.Tensors()[i]
		d, at := gradCheck(tn.Data, g.Data, f, 1e-2, 1e-3)
		worst = math.Max(worst, d)
		if d > tol {
			t.Errorf("%s[%d]: max rel diff %.3g > %g (analytic %g)", tn.Name, at, d, tol, g.Data[at])
		}
	}
	t.Logf("whole model: max rel diff %.3g over %d params", worst, p.NumParams())
}

func TestFastMath(t *testing.T) {
	var we, wt float64
	for x := float32(-20); x <= 20; x += 0.001 {
		e := math.Exp(float64(x))
		we = math.Max(we, math.Abs(float64(expf(x))-e)/e)
		wt = math.Max(wt, math.Abs(float64(tanhf(x))-math.Tanh(float64(x))))
	}
	t.Logf("expf max rel err %.3g, tanhf max abs err %.3g", we, wt)
	if we > 1e-6 || wt > 1e-6 {
		t.Errorf("expf rel err %.3g or tanhf abs err %.3g > 1e-6", we, wt)
	}
}
