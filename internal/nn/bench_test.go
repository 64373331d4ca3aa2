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

// runConfig is the shipped model's network (its vocabulary 251 tokens).
var runConfig = Config{Vocab: 251, Ctx: 1024, D: 128, Layers: 4, Heads: 4, GridRows: 16, GridCols: 16}

// trainRunTokens is `make train` from scratch: train.Default()'s 9000 steps
// of 12 rows × 1024 tokens.
const trainRunTokens = 9000 * 12 * 1024

// BenchmarkTrainRun: one step as `twig train` takes it — 12 rows of 1024
// tokens packed with documents of 325 tokens (the training mixture's mean;
// attention stays inside each), 2 workers, the fastest kernel path — and
// the hours a from-scratch `make train` would take at this rate on 2 whole
// cores (h-from-scratch, from the CPU-time rate: wall time on a shared
// machine is that divided by the share of the 2 cores the run gets).
func BenchmarkTrainRun(b *testing.B) {
	r := rand.New(rand.NewPCG(3, 4))
	p := NewParams(runConfig)
	p.Init(1)
	batch := packedBatch(r, runConfig, 12, 1024, 325)
	tr := NewTrainer(p, 2, 12, 1024)
	tr.Step(batch)
	cpu0 := cpuSeconds()
	for b.Loop() {
		tr.Step(batch)
	}
	cpu := cpuSeconds() - cpu0
	reportRate(b, float64(12*1024*b.N), cpu, 2, "tokens/s")
	if cpu > 0 {
		b.ReportMetric(trainRunTokens/(float64(12*1024*b.N)/cpu*2)/3600, "h-from-scratch")
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

// decodeWindows are the context lengths the decode benchmarks cycle
// through: each sequence is decoded from position 0 to the window's end and
// reset, so attention reads on average half a window of cache a token. 512
// is the benchmark's window (half the model's 1024 positions); a TwiG run's
// stream is about 320 tokens (think+reflect: 322 an image on average).
var decodeWindows = []int{512, 320}

// BenchmarkDecode: tokens per second of Decoder.Step, one sequence cycling
// through each window (window512, window320).
func BenchmarkDecode(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	for _, win := range decodeWindows {
		b.Run(fmt.Sprintf("window%d", win), func(b *testing.B) { decodeLoop(b, p, win) })
	}
}

// decodeLoop steps one Decoder for b's loop, its sequence cycling through
// win positions, and reports tokens per CPU second.
func decodeLoop(b *testing.B, p *Params, win int) {
	d := NewDecoder(p, win)
	i := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		if d.Len() == win {
			d.Reset()
		}
		d.Step(int32(i%300), int32(d.Len()), 16, 16)
		i++
	}
	reportRate(b, float64(b.N), cpuSeconds()-cpu0, 1, "tokens/s")
}

// decodeBatchLoop steps a BatchDecoder's slots together on threads for b's
// loop, every slot's sequence cycling through win positions, and reports
// tokens per CPU second.
func decodeBatchLoop(b *testing.B, p *Params, slots, win, threads int) {
	bd := NewBatchDecoder(p, slots, win)
	bd.SetThreads(threads)
	in := make([]BatchToken, slots)
	i := 0
	cpu0 := cpuSeconds()
	for b.Loop() {
		if bd.Slot(0).Len() == win {
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
	reportRate(b, float64(slots*b.N), cpuSeconds()-cpu0, threads, "tokens/s")
}

// weightsName names a run by its decoder weights' precision.
func weightsName(half bool) string {
	if half {
		return "half"
	}
	return "float32"
}

// BenchmarkDecodeWeights: BenchmarkDecode's one sequence on each kernel
// path with the decoder's float32 weights and with its half-precision
// ones (the default), side by side: windowW/PATH/{float32,half}.
func BenchmarkDecodeWeights(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	for _, win := range decodeWindows {
		for _, path := range kernels.Kernels() {
			if path == "rows" {
				continue // always float32
			}
			for _, half := range []bool{false, true} {
				b.Run(fmt.Sprintf("window%d/%s/%s", win, path, weightsName(half)), func(b *testing.B) {
					defer useKernel(b, path)()
					defer SetHalfWeights(SetHalfWeights(half))
					decodeLoop(b, p, win)
				})
			}
		}
	}
}

// BenchmarkDecodeBatchWeights: BenchmarkDecodeBatch's slots on one
// thread with the float32 weights and with the half-precision ones,
// side by side: windowW/slotsN/{float32,half}.
func BenchmarkDecodeBatchWeights(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	for _, win := range decodeWindows {
		for _, slots := range []int{4, 8, 16} {
			for _, half := range []bool{false, true} {
				b.Run(fmt.Sprintf("window%d/slots%d/%s", win, slots, weightsName(half)), func(b *testing.B) {
					defer SetHalfWeights(SetHalfWeights(half))
					decodeBatchLoop(b, p, slots, win, 1)
				})
			}
		}
	}
}

// BenchmarkDecodeBatch: tokens per second of BatchDecoder.StepBatch with
// every slot stepping, over the same windows as BenchmarkDecode
// (windowW/slotsN, on one thread as there), and over the 512 window on 2
// threads (window512/slotsN/t2, the default where the slots' goroutines
// wait on the forward).
func BenchmarkDecodeBatch(b *testing.B) {
	p := NewParams(benchConfig)
	p.Init(1)
	type run struct{ win, slots, threads int }
	var runs []run
	for _, win := range decodeWindows {
		for _, s := range []int{1, 4, 8, 16, 32} {
			runs = append(runs, run{win, s, 1})
		}
	}
	runs = append(runs, run{512, 8, 2}, run{512, 16, 2})
	for _, c := range runs {
		name := fmt.Sprintf("window%d/slots%d", c.win, c.slots)
		if c.threads > 1 {
			name += fmt.Sprintf("/t%d", c.threads)
		}
		b.Run(name, func(b *testing.B) { decodeBatchLoop(b, p, c.slots, c.win, c.threads) })
	}
}
