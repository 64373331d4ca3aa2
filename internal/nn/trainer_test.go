package nn

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestTrainerMatchesSingleModel: two workers on a split batch give the
// loss and gradient of one model on the whole batch.
func TestTrainerMatchesSingleModel(t *testing.T) {
	r := rand.New(rand.NewPCG(4, 4))
	p := NewParams(tinyConfig)
	randomize(r, p.Data, 0.3)
	b := tinyBatch(r, tinyConfig)
	m := NewModel(p, b.B, b.T)
	want := m.Forward(b)
	m.ZeroGrad()
	m.Backward()
	tr := NewTrainer(p, 2, b.B, b.T)
	got := tr.Step(b)
	var worst float64
	for i, g := range tr.Grads.Data {
		worst = math.Max(worst, math.Abs(float64(g-m.Grads.Data[i])))
	}
	t.Logf("trainer vs model: loss %v vs %v, max abs grad diff %.3g", got, want, worst)
	if math.Abs(float64(got-want)) > 1e-5 || worst > 1e-5 {
		t.Errorf("trainer loss %v (want %v), grad max diff %.3g", got, want, worst)
	}
}

// TestOptimizerResume: saving M, V, Step mid-run and restoring into a fresh
// optimizer continues bit-for-bit; the loss also falls.
func TestOptimizerResume(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 5))
	b := tinyBatch(r, tinyConfig)
	run := func(p *Params, o *Optimizer, from, to int) float32 {
		tr := NewTrainer(p, 2, b.B, b.T)
		var loss float32
		for s := from; s < to; s++ {
			loss = tr.Step(b)
			ClipGradNorm(tr.Grads, 1)
			o.Update(p, tr.Grads, LR(s, 20, 3, 1e-2))
		}
		return loss
	}
	p := NewParams(tinyConfig)
	p.Init(3)
	o := NewOptimizer(p, 0.1)
	first := NewModel(p, b.B, b.T).Forward(b)
	run(p, o, 0, 10)
	// checkpoint
	pc := NewParams(tinyConfig)
	copy(pc.Data, p.Data)
	oc := NewOptimizer(pc, 0.1)
	for i, tn := range o.Tensors() {
		copy(oc.Tensors()[i].Data, tn.Data)
	}
	oc.Step = o.Step
	last := run(p, o, 10, 20)
	run(pc, oc, 10, 20)
	for i := range p.Data {
		if p.Data[i] != pc.Data[i] {
			t.Fatalf("resumed run differs at %d: %v != %v", i, p.Data[i], pc.Data[i])
		}
	}
	if last >= first {
		t.Errorf("loss did not fall: %v → %v", first, last)
	}
}

func TestLR(t *testing.T) {
	for _, c := range []struct {
		step int
		want float32
	}{{0, 0.1}, {9, 1}, {10, 1}, {110, 0.1}, {60, 0.55}} {
		if got := LR(c.step, 110, 10, 1); math.Abs(float64(got-c.want)) > 1e-6 {
			t.Errorf("LR(%d) = %v, want %v", c.step, got, c.want)
		}
	}
}

// TestTrainerSameForAnyWorkers: the batch's split into parts does not
// depend on the number of goroutines, so neither does the result.
func TestTrainerSameForAnyWorkers(t *testing.T) {
	r := rand.New(rand.NewPCG(6, 6))
	p := NewParams(tinyConfig)
	randomize(r, p.Data, 0.3)
	b := packedBatch(r, tinyConfig, 7, tinyConfig.Ctx, 3) // 7 rows of two and a half documents
	ref := NewTrainer(p, 1, b.B, b.T)
	want := ref.Step(b)
	for w := 2; w <= b.B; w++ {
		tr := NewTrainer(p, w, b.B, b.T)
		for range 2 { // a second step: nothing left over from the first
			if got := tr.Step(b); got != want {
				t.Fatalf("%d workers: loss %v, 1 worker %v", w, got, want)
			}
			for i, g := range tr.Grads.Data {
				if g != ref.Grads.Data[i] {
					t.Fatalf("%d workers: grad[%d] %v, 1 worker %v", w, i, g, ref.Grads.Data[i])
				}
			}
		}
	}
}
