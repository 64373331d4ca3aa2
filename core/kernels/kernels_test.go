package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// shapes are the model's (k, n) pairs; tests add odd sizes.
var shapes = [][2]int{{128, 384}, {128, 128}, {128, 512}, {512, 128}, {128, 320}}

func randSlice(r *rand.Rand, n int) []float32 {
	s := make([]float32, n)
	for i := range s {
		s[i] = float32(r.NormFloat64())
	}
	return s
}

// maxRelDiff returns max |x-y| / max(1, |y|).
func maxRelDiff(x, y []float32) float64 {
	var d float64
	for i := range x {
		e := math.Abs(float64(x[i])-float64(y[i])) / math.Max(1, math.Abs(float64(y[i])))
		d = math.Max(d, e)
	}
	return d
}

func TestMatMulAgreesWithReference(t *testing.T) {
	const tol = 1e-4
	cases := [][3]int{{1, 7, 5}, {3, 17, 33}, {5, 33, 9}, {37, 129, 31}, {64, 300, 128}}
	for _, s := range shapes {
		cases = append(cases, [3]int{1, s[0], s[1]}, [3]int{67, s[0], s[1]})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, c := range cases {
		for _, th := range []int{1, 2} {
			m, k, n := c[0], c[1], c[2]
			p := &Pool{Threads: th}
			t.Run(fmt.Sprintf("m%d_k%d_n%d_t%d", m, k, n, th), func(t *testing.T) {
				a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
				got, want := make([]float32, m*n), make([]float32, m*n)
				p.MatMulT(got, a, w, m, k, n)
				MatMulTRef(want, a, w, m, k, n)
				if d := maxRelDiff(got, want); d > tol {
					t.Errorf("MatMulT max rel diff %.2e > %.0e", d, tol)
				}
				gi, wi := randSlice(r, m*k), make([]float32, m*k)
				copy(wi, gi)
				p.MatMulAcc(gi, dout, w, m, n, k)
				MatMulAccRef(wi, dout, w, m, n, k)
				if d := maxRelDiff(gi, wi); d > tol {
					t.Errorf("MatMulAcc max rel diff %.2e > %.0e", d, tol)
				}
				gw, ww := randSlice(r, n*k), make([]float32, n*k)
				copy(ww, gw)
				p.MatMulAccTN(gw, dout, a, m, n, k)
				MatMulAccTNRef(ww, dout, a, m, n, k)
				if d := maxRelDiff(gw, ww); d > tol {
					t.Errorf("MatMulAccTN max rel diff %.2e > %.0e", d, tol)
				}
			})
		}
	}
}

func TestPortableAgreesWithReference(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	m, k, n := 9, 37, 13
	a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
	got, want := make([]float32, m*n), make([]float32, m*n)
	matMulTGo(got, a, w, 0, m, k, n)
	MatMulTRef(want, a, w, m, k, n)
	if d := maxRelDiff(got, want); d > 1e-4 {
		t.Errorf("matMulTGo max rel diff %.2e", d)
	}
	gi, wi := make([]float32, m*k), make([]float32, m*k)
	matMulAccGo(gi, dout, w, 0, m, n, k)
	MatMulAccRef(wi, dout, w, m, n, k)
	if d := maxRelDiff(gi, wi); d > 1e-4 {
		t.Errorf("matMulAccGo max rel diff %.2e", d)
	}
	gw, ww := make([]float32, n*k), make([]float32, n*k)
	matMulAccTNGo(gw, dout, a, m, n, k, 0, n)
	MatMulAccTNRef(ww, dout, a, m, n, k)
	if d := maxRelDiff(gw, ww); d > 1e-4 {
		t.Errorf("matMulAccTNGo max rel diff %.2e", d)
	}
	x, y := randSlice(r, 37), randSlice(r, 37)
	var s float32
	for i := range x {
		s += x[i] * y[i]
	}
	if d := math.Abs(float64(Dot(x, y) - s)); d > 1e-4 {
		t.Errorf("Dot diff %.2e", d)
	}
}

func TestSingleThreadDoesNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, k, n := 64, 128, 384
	a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
	out, dinp, dw := make([]float32, m*n), make([]float32, m*k), make([]float32, n*k)
	p := &Pool{Threads: 1}
	allocs := testing.AllocsPerRun(5, func() {
		p.MatMulT(out, a, w, m, k, n)
		p.MatMulAcc(dinp, dout, w, m, n, k)
		p.MatMulAccTN(dw, dout, a, m, n, k)
	})
	if allocs != 0 {
		t.Errorf("got %v allocs per run, want 0", allocs)
	}
}

// BenchmarkMatMul reports GFLOP/s for the model's shapes. Peak for comparison:
// cores × GHz × 2 FMA ports × 8 floats (AVX2; 16 with AVX-512) × 2 flops,
// e.g. 2 × 2.6 × 2 × 8 × 2 ≈ 166 GFLOP/s for this box (83 per core).
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range []int{512, 1} {
		for _, s := range shapes {
			k, n := s[0], s[1]
			a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
			out, dinp, dw := make([]float32, m*n), make([]float32, m*k), make([]float32, n*k)
			flops := float64(2 * m * k * n)
			for _, th := range []int{1, 2} {
				p := &Pool{Threads: th}
				ops := []struct {
					name string
					f    func()
				}{
					{"T", func() { p.MatMulT(out, a, w, m, k, n) }},
					{"Acc", func() { p.MatMulAcc(dinp, dout, w, m, n, k) }},
					{"AccTN", func() { p.MatMulAccTN(dw, dout, a, m, n, k) }},
				}
				for _, op := range ops {
					if m == 1 && op.name != "T" {
						continue
					}
					b.Run(fmt.Sprintf("%s/m%d_k%d_n%d/t%d", op.name, m, k, n, th), func(b *testing.B) {
						for b.Loop() {
							op.f()
						}
						b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "GFLOP/s")
					})
				}
			}
		}
	}
}
