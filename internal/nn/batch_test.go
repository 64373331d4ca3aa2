package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"testing"

	"github.com/twig-project/twig/internal/kernels"
)

// batchTol bounds |batched - single| logits (relative, or absolute below
// 1): the batch's GEMM sums in a different order from the single decoder's
// matrix-vector products, and a difference in the last bits now and then
// rounds a cached key or value to the neighbouring half (2⁻¹¹ apart), which
// moves the logits by about 1e-4 (seen: 1.4e-4 on the half weights, where
// 10 of the last layer's 64 cached halves differed after one such flip in
// the first layer; the sums themselves differ by ~1e-6). Both decoders
// read the same weights, float32 or half-precision (SetHalfWeights), and
// the tests run both.
const batchTol = 1e-3

func logitsDiff(x, y []float32) float64 {
	var d float64
	for i := range x {
		d = math.Max(d, math.Abs(float64(x[i])-float64(y[i]))/math.Max(1, math.Abs(float64(y[i]))))
	}
	return d
}

// slotScript is what one goroutine does with its slot: steps, with a
// truncate, a reset or an early close at given steps.
type slotScript struct {
	steps               int
	truncAt, truncTo    int // before step truncAt, Truncate(truncTo) (truncAt 0: never)
	resetAt, closeAfter int // before step resetAt, Reset; close after closeAfter steps (0: at the end)
	reopenAfterClose    bool
	stepsAfterReopen    int
}

func TestBatchDecoderMatchesSingle(t *testing.T) {
	cfg := Config{Vocab: 37, Ctx: 40, D: 32, Layers: 2, Heads: 4, GridRows: 4, GridCols: 4}
	r := rand.New(rand.NewPCG(4, 4))
	p := NewParams(cfg)
	randomize(r, p.Data, 0.3)
	scripts := []slotScript{
		{steps: 30},
		{steps: 25, truncAt: 10, truncTo: 3},
		{steps: 20, resetAt: 12},
		{steps: 30, closeAfter: 6},
		{steps: 0},
		{steps: 18, truncAt: 6, truncTo: 4, resetAt: 9},
		{steps: 8, reopenAfterClose: true, stepsAfterReopen: 5},
		{steps: 35},
	}
	for _, run := range halfRuns() {
		t.Run(run.name, func(t *testing.T) {
			prev, err := kernels.SetKernel(run.path)
			if err != nil {
				t.Fatal(err)
			}
			defer kernels.SetKernel(prev)
			defer SetHalfWeights(SetHalfWeights(run.half))
			for _, th := range []int{1, 2} {
				b := NewBatchDecoder(p, len(scripts), cfg.Ctx)
				b.SetThreads(th)
				var wg sync.WaitGroup
				errs := make([]string, len(scripts))
				for i, sc := range scripts {
					wg.Add(1)
					go func() {
						defer wg.Done()
						errs[i] = runScript(p, b.Slot(i), sc, int64(i), cfg)
					}()
				}
				wg.Wait()
				for i, e := range errs {
					if e != "" {
						t.Errorf("threads %d slot %d: %s", th, i, e)
					}
				}
			}
		})
	}
}

// runScript drives slot s and a single Decoder with the same tokens and
// returns a description of the first disagreement ("" if none).
func runScript(p *Params, s *BatchSlot, sc slotScript, seed int64, cfg Config) string {
	r := rand.New(rand.NewPCG(uint64(seed), 99))
	d := NewDecoder(p, cfg.Ctx)
	step := func(k int) string {
		tok, row, col := int32(r.IntN(cfg.Vocab)), int32(r.IntN(cfg.GridRows+1)), int32(r.IntN(cfg.GridCols+1))
		pos := int32(d.Len())
		want := d.Step(tok, pos, row, col)
		got := s.Step(tok, pos, row, col)
		if diff := logitsDiff(got, want); diff > batchTol {
			return fmt.Sprintf("step %d (len %d): batched vs single logits differ by %.2e > %.0e", k, d.Len(), diff, batchTol)
		}
		if s.Len() != d.Len() {
			return fmt.Sprintf("step %d: Len %d, want %d", k, s.Len(), d.Len())
		}
		return ""
	}
	for k := 1; k <= sc.steps; k++ {
		if k == sc.truncAt {
			s.Truncate(sc.truncTo)
			d.Truncate(sc.truncTo)
		}
		if k == sc.resetAt {
			s.Reset()
			d.Reset()
		}
		if e := step(k); e != "" {
			s.Close()
			return e
		}
		if k == sc.closeAfter {
			break
		}
	}
	s.Close()
	if sc.reopenAfterClose {
		s.Reset()
		d.Reset()
		for k := 1; k <= sc.stepsAfterReopen; k++ {
			if e := step(k); e != "" {
				s.Close()
				return "after reopening: " + e
			}
		}
		s.Close()
	}
	return ""
}

// TestBatchSlotsShareBatches checks that slots stepping together are
// computed together: S slots stepping T times take exactly T batches.
func TestBatchSlotsShareBatches(t *testing.T) {
	cfg := Config{Vocab: 11, Ctx: 16, D: 16, Layers: 1, Heads: 2, GridRows: 2, GridCols: 2}
	p := NewParams(cfg)
	p.Init(3)
	const S, T = 5, 9
	b := NewBatchDecoder(p, S, T)
	var wg sync.WaitGroup
	for i := 0; i < S; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := b.Slot(i)
			for k := 0; k < T; k++ {
				s.Step(int32((i+k)%cfg.Vocab), int32(k), 0, 0)
			}
			s.Close()
		}()
	}
	wg.Wait()
	if b.gen != T {
		t.Errorf("%d slots × %d steps ran %d batches, want %d", S, T, b.gen, T)
	}
}

func TestStepBatchMatchesSingle(t *testing.T) {
	cfg := Config{Vocab: 29, Ctx: 24, D: 32, Layers: 2, Heads: 2, GridRows: 3, GridCols: 3}
	r := rand.New(rand.NewPCG(8, 8))
	p := NewParams(cfg)
	randomize(r, p.Data, 0.3)
	const S = 7
	for _, half := range []bool{false, true} {
		prev := SetHalfWeights(half)
		stepBatchMatchesSingle(t, p, S, r)
		SetHalfWeights(prev)
	}
}

// halfRun is a kernel path and whether the decoders read half-precision
// weights on it.
type halfRun struct {
	name, path string
	half       bool
}

// halfRuns are the kernel paths here, each GEMM path with float32 and with
// half-precision weights (the rows path keeps float32).
func halfRuns() []halfRun {
	var rs []halfRun
	for _, path := range kernels.Kernels() {
		rs = append(rs, halfRun{path, path, false})
		if path != "rows" {
			rs = append(rs, halfRun{path + "-half", path, true})
		}
	}
	return rs
}

func stepBatchMatchesSingle(t *testing.T, p *Params, S int, r *rand.Rand) {
	t.Helper()
	cfg := p.Config
	b := NewBatchDecoder(p, S, cfg.Ctx)
	ds := make([]*Decoder, S)
	for i := range ds {
		ds[i] = NewDecoder(p, cfg.Ctx)
	}
	for k := 0; k < 20; k++ {
		var in []BatchToken
		for i := 0; i < S; i++ {
			if (i+k)%3 == 0 { // each step a different subset of slots
				continue
			}
			in = append(in, BatchToken{Slot: i, Tok: int32(r.IntN(cfg.Vocab)), Pos: int32(ds[i].Len()), Row: int32(r.IntN(4)), Col: int32(r.IntN(4))})
		}
		b.StepBatch(in)
		for _, tk := range in {
			want := ds[tk.Slot].Step(tk.Tok, tk.Pos, tk.Row, tk.Col)
			if d := logitsDiff(b.Slot(tk.Slot).Logits(), want); d > batchTol {
				t.Fatalf("step %d slot %d: differ by %.2e", k, tk.Slot, d)
			}
		}
	}
}

// TestStepBatchDoesNotAllocate: a batched step on one thread allocates
// nothing (RL rollouts step it millions of times).
func TestStepBatchDoesNotAllocate(t *testing.T) {
	cfg := Config{Vocab: 29, Ctx: 64, D: 32, Layers: 2, Heads: 2, GridRows: 3, GridCols: 3}
	p := NewParams(cfg)
	p.Init(1)
	const S = 6
	b := NewBatchDecoder(p, S, cfg.Ctx)
	in := make([]BatchToken, S)
	k := 0
	allocs := testing.AllocsPerRun(20, func() {
		for s := range in {
			in[s] = BatchToken{Slot: s, Tok: int32((k + s) % cfg.Vocab), Pos: int32(b.Slot(s).Len())}
		}
		b.StepBatch(in)
		k++
	})
	if allocs != 0 {
		t.Errorf("BatchDecoder.StepBatch: %v allocs per call, want 0", allocs)
	}
}
