package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/kernels"
)

// TestDecoderMatchesForward checks the decoder against the training
// forward on both weight paths: float32, and half precision over weights
// that are halves already (the matrices rounded with kernels.ToHalf
// first, so rounding them again changes nothing and only the summation
// order and the half caches differ, as on the float32 path).
func TestDecoderMatchesForward(t *testing.T) {
	// 70 tokens: the key cache's blocks of 32 positions, the last one partial.
	cfg := Config{Vocab: 13, Ctx: 70, D: 16, Layers: 2, Heads: 4, GridRows: 3, GridCols: 3}
	r := rand.New(rand.NewPCG(2, 2))
	p := NewParams(cfg)
	randomize(r, p.Data, 0.2)
	for _, half := range []bool{false, true} {
		t.Run(fmt.Sprintf("half=%v", half), func(t *testing.T) {
			defer SetHalfWeights(SetHalfWeights(half))
			q := p
			if half {
				q = NewParams(cfg)
				copy(q.Data, p.Data)
				roundMatrices(q)
			}
			checkDecoderMatchesForward(t, q, r)
		})
	}
}

// roundMatrices rounds the decoder's weight matrices (and the tied
// embedding) to halves in place.
func roundMatrices(p *Params) {
	ms := [][]float32{p.WTE}
	for _, l := range p.Layers {
		ms = append(ms, l.QKVW, l.AttProjW, l.FCW, l.FCProjW)
	}
	for _, m := range ms {
		for i, v := range m {
			m[i] = kernels.FromHalf(kernels.ToHalf(v))
		}
	}
}

func checkDecoderMatchesForward(t *testing.T, p *Params, r *rand.Rand) {
	cfg := p.Config
	T := 70
	b := Batch{B: 1, T: T}
	for i := 0; i < T; i++ {
		b.Tokens = append(b.Tokens, int32(r.IntN(cfg.Vocab)))
		b.Pos = append(b.Pos, int32(i))
		b.Row = append(b.Row, int32(r.IntN(4)))
		b.Col = append(b.Col, int32(r.IntN(4)))
		b.DocStart = append(b.DocStart, 0)
		b.Targets = append(b.Targets, 0)
		b.Weights = append(b.Weights, 1)
	}
	m := NewModel(p, 1, T)
	m.Forward(b)
	// Forward turns logits into probabilities in place; rebuild them from lnf.
	logits := make([]float32, T*cfg.Vocab)
	kernels.MatMulTRef(logits, m.lnf, p.WTE, T, cfg.D, cfg.Vocab)
	d := NewDecoder(p, T)
	var worst float64
	step := func(i int) []float32 {
		return d.Step(b.Tokens[i], b.Pos[i], b.Row[i], b.Col[i])
	}
	first := make([][]float32, T)
	for i := 0; i < T; i++ {
		l := step(i)
		first[i] = append([]float32(nil), l...)
		for j, v := range l {
			worst = math.Max(worst, math.Abs(float64(v-logits[i*cfg.Vocab+j])))
		}
	}
	t.Logf("decoder vs forward: max abs diff of logits %.3g", worst)
	if worst > 1e-4 {
		t.Errorf("decoder vs forward: max abs diff %.3g > 1e-4", worst)
	}
	d.Truncate(7)
	for i := 7; i < T; i++ {
		l := step(i)
		for j := range l {
			if l[j] != first[i][j] {
				t.Fatalf("after Truncate(7), token %d logit %d: %v != %v", i, j, l[j], first[i][j])
			}
		}
	}
	d.Reset()
	if got := step(0); got[0] != first[0][0] {
		t.Errorf("after Reset: %v != %v", got[0], first[0][0])
	}
	d.Reset()
	allocs := testing.AllocsPerRun(10, func() {
		if d.Len() == T {
			d.Truncate(5)
		}
		step(d.Len())
	})
	if allocs != 0 {
		t.Errorf("Decoder.Step: %v allocs per call, want 0", allocs)
	}
}

// TestDecoderSeesChangedWeights: decoders read a packed copy of the
// weights, which Params.Changed (and Optimizer.Update) must refresh.
func TestDecoderSeesChangedWeights(t *testing.T) {
	cfg := Config{Vocab: 13, Ctx: 8, D: 16, Layers: 1, Heads: 2, GridRows: 2, GridCols: 2}
	r := rand.New(rand.NewPCG(5, 5))
	p := NewParams(cfg)
	randomize(r, p.Data, 0.3)
	step := func(p *Params) []float32 {
		return append([]float32(nil), NewDecoder(p, 4).Step(3, 0, 1, 1)...)
	}
	fresh := func() []float32 { // the same weights in Params no decoder has packed
		q := NewParams(cfg)
		copy(q.Data, p.Data)
		return step(q)
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if math.Abs(float64(a[i]-b[i])) > 1e-5 {
				return false
			}
		}
		return true
	}
	before := step(p)
	randomize(r, p.Data, 0.3)
	p.Changed()
	if got := step(p); !same(got, fresh()) || same(got, before) {
		t.Errorf("after Changed the decoder does not follow the new weights")
	}
	g := NewParams(cfg)
	randomize(r, g.Data, 1)
	NewOptimizer(p, 0).Update(p, g, 0.1)
	if got := step(p); !same(got, fresh()) {
		t.Errorf("after Optimizer.Update the decoder does not follow the new weights")
	}
}
