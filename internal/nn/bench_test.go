package nn

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/kernels"
)

var benchConfig = Config{Vocab: 300, Ctx: 512, D: 128, Layers: 4, Heads: 4, GridRows: 16, GridCols: 16}

// packedBatch fills B rows of T tokens with documents of docLen tokens.
func packedBatch(r *rand.Rand, cfg Config, B, T, docLen int) Batch {
	b := Batch{B: B, T: T}
	for i := 0; i < B*T; i++ {
		t := i % T
		ds := t - t%docLen
		b.Tokens = append(b.Tokens, int32(r.IntN(cfg.Vocab)))
		b.Pos = append(b.Pos, int32(t-ds))
		b.Row = append(b.Row, int32(r.IntN(cfg.GridRows+1)))
		b.Col = append(b.Col, int32(r.IntN(cfg.GridCols+1)))
		b.DocStart = append(b.DocStart, int32(ds))
		b.Targets = append(b.Targets, int32(r.IntN(cfg.Vocab)))
		b.Weights = append(b.Weights, 1)
	}
	return b
}

// BenchmarkTrain: one Trainer step (forward+backward+reduce) for D=128, L=4,
// NH=4, V=300, B=8, T=512, 2 workers; whole-row documents (worst case).
// One sub-benchmark per kernel path (kernels.Kernels), side by side.
func BenchmarkTrain(b *testing.B) {
	for _, path := range kernels.Kernels() {
		if path == "go" {
			continue // minutes per step; the portable path is for wasm
		}
		b.Run(path, func(b *testing.B) {
			defer useKernel(b, path)()
			r := rand.New(rand.NewPCG(1, 2))
			p := NewParams(benchConfig)
			p.Init(1)
			batch := packedBatch(r, benchConfig, 8, 512, 512)
			tr := NewTrainer(p, 2, 8, 512)
			tr.Step(batch)
			cpu0 := cpuSeconds()
			for b.Loop() {
				tr.Step(batch)
			}
			reportRate(b, float64(8*512*b.N), cpuSeconds()-cpu0, 2, "tokens/s")
		})
	}
}

// reportRate reports n things per wall-second as unit and, where CPU time
// is known, per CPU-second times the threads used as "cpu-"+unit: the
// figure a shared machine's other load disturbs least.
func reportRate(b *testing.B, n, cpu float64, threads int, unit string) {
	b.ReportMetric(n/b.Elapsed().Seconds(), unit)
	if cpu > 0 {
		b.ReportMetric(n/cpu*float64(threads), "cpu-"+unit)
	}
}

// useKernel switches the kernels' product path for one benchmark.
func useKernel(b *testing.B, path string) func() {
	prev, err := kernels.SetKernel(path)
	if err != nil {
		b.Fatal(err)
	}
	return func() { kernels.SetKernel(prev) }
}

// BenchmarkDecode: tokens per second of Decoder.Step over a 512-token window.
func BenchmarkDecode(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	d := NewDecoder(p, 512)
	i := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		if d.Len() == 512 {
			d.Reset()
		}
		d.Step(int32(i%300), int32(d.Len()), 16, 16)
		i++
	}
	reportRate(b, float64(b.N), cpuSeconds()-cpu0, 1, "tokens/s")
}

// BenchmarkDecodeBatch: tokens per second of BatchDecoder.StepBatch with
// every slot stepping, over the same 512-token window as BenchmarkDecode:
// on one thread as there (slotsN), and on 2 (slotsN/t2, the default where
// the slots' goroutines wait on the forward).
func BenchmarkDecodeBatch(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	for _, c := range []struct{ slots, threads int }{{1, 1}, {4, 1}, {8, 1}, {16, 1}, {32, 1}, {8, 2}, {16, 2}} {
		name := fmt.Sprintf("slots%d", c.slots)
		if c.threads > 1 {
			name += fmt.Sprintf("/t%d", c.threads)
		}
		b.Run(name, func(b *testing.B) {
			slots := c.slots
			bd := NewBatchDecoder(p, slots, 512)
			bd.SetThreads(c.threads)
			in := make([]BatchToken, slots)
			i := 0
			cpu0 := cpuSeconds()
			for b.Loop() {
				if bd.Slot(0).Len() == 512 {
					for s := 0; s < slots; s++ {
						bd.Slot(s).Reset()
					}
				}
				for s := range in {
					in[s] = BatchToken{Slot: s, Tok: int32((i + s) % 300), Pos: int32(bd.Slot(s).Len()), Row: 16, Col: 16}
				}
				bd.StepBatch(in)
				i++
			}
			reportRate(b, float64(slots*b.N), cpuSeconds()-cpu0, c.threads, "tokens/s")
		})
	}
}
