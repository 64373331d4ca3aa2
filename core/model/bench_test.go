package model

import (
	"context"
	"os"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/kernels"
	"github.com/twig-project/twig/internal/nn"
)

// benchModel is the shipped model when present, else the tiny test model.
func benchModel(b *testing.B) *Model {
	if m, err := Default(); err == nil {
		return m
	}
	data, err := os.ReadFile("testdata/tiny.safetensors")
	if err != nil {
		b.Fatal(err)
	}
	w, err := Decode(data)
	if err != nil {
		b.Fatal(err)
	}
	return New(w)
}

// BenchmarkTwiGImage is one full TwiG image (think + reflect, default bands)
// natively: ms/image and tokens/s (thought, image and critic tokens).
// One sub-benchmark per kernel path, side by side ("rows" is the kernels
// before the GEMM: vek's matrix-vector products, scalar softmax and GELU),
// and each GEMM path again with the decoder's float32 weights instead of
// its half-precision ones (PATH-f32weights), and painting whole bands
// instead of regionally (PATH-wholebands: regional painting's cost).
func BenchmarkTwiGImage(b *testing.B) {
	bm := benchModel(b)
	ctx := context.Background()
	type run struct {
		path, name    string
		half, regions bool
	}
	var runs []run
	for _, path := range kernels.Kernels() {
		switch path {
		case "go": // the portable path is for wasm
		case "rows": // the kernels as they were: float32 weights
			runs = append(runs, run{path, path, false, true})
		default:
			runs = append(runs, run{path, path, true, true}, run{path, path + "-wholebands", true, false}, run{path, path + "-f32weights", false, true})
		}
	}
	for _, c := range runs {
		b.Run(c.name, func(b *testing.B) {
			prev, err := kernels.SetKernel(c.path)
			if err != nil {
				b.Fatal(err)
			}
			defer kernels.SetKernel(prev)
			defer nn.SetHalfWeights(nn.SetHalfWeights(c.half))
			m := *bm
			m.Sampling.Regional = c.regions
			tokens := 0
			cpu0 := cpuSeconds()
			for i := 0; b.Loop(); i++ {
				res, err := engine.Draw(ctx, &m, engine.RunSpec{Prompt: "a red circle above a blue square", Seed: int64(i + 1), Settings: engine.DefaultSettings()}, nil)
				if err != nil {
					b.Fatal(err)
				}
				tokens += res.Stats.ThoughtTokens + res.Stats.ImageTokens
			}
			sec := b.Elapsed().Seconds()
			b.ReportMetric(1000*sec/float64(b.N), "ms/image")
			b.ReportMetric(float64(tokens)/sec, "tokens/s")
			// CPU time per image: on a shared machine the wall time also
			// counts the time other processes held the core.
			if cpu := cpuSeconds() - cpu0; cpu > 0 {
				b.ReportMetric(1000*cpu/float64(b.N), "cpu-ms/image")
			}
		})
	}
}

// BenchmarkNoThinkImage is the baseline: 256 image tokens, no thoughts.
func BenchmarkNoThinkImage(b *testing.B) {
	m := benchModel(b)
	s := engine.DefaultSettings()
	s.Think, s.Reflect = false, false
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := engine.Draw(context.Background(), m, engine.RunSpec{Prompt: "a red circle above a blue square", Seed: int64(i + 1), Settings: s}, nil); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(1000*b.Elapsed().Seconds()/float64(b.N), "ms/image")
}

// TestSessionStepAllocs checks the steady-state decode loop allocates
// nothing per token: painting a band's tokens reuses every buffer.
func TestSessionStepAllocs(t *testing.T) {
	m := randomModel(t)
	s := newSession(m, m.W.Vocab.MustIDs([]string{"one", "red", "circle"}), 1, m.Sampling, false)
	st := view{Settings: engine.DefaultSettings(), Canvas: make([]int, 256), h: 256}
	st.Settings.Think = false
	s.stream(st, 0)
	if err := s.sync(context.Background()); err != nil {
		t.Fatal(err)
	}
	r, c := int32(0), int32(0)
	allocs := testing.AllocsPerRun(100, func() {
		tok := s.sample(0, 181, -1, s.samp.ImageTemp)
		if err := s.feed(item{int32(tok), r, c}); err != nil {
			t.Fatal(err)
		}
		c++
		if c == 16 {
			r, c = r+1, 0
		}
	})
	if allocs > 0 {
		t.Fatalf("%.1f allocations per token", allocs)
	}
}
