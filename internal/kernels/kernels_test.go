package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
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

// paths are the product paths this machine can run: each micro-kernel
// (AVX-512, AVX2+FMA, portable Go) and the legacy row-by-row kernels (nil).
func paths() []*microKernel { return append(kernelsHere(), nil) }

func pathName(k *microKernel) string {
	if k == nil {
		return "rows"
	}
	return k.name
}

// usePath forces the product path for a test; the returned func restores it.
func usePath(k *microKernel) func() {
	old := kern
	kern = k
	restoreVec := setVec(k != nil && k.name == "avx512")
	return func() { kern = old; restoreVec() }
}

func TestMatMulAgreesWithReference(t *testing.T) {
	const tol = 1e-4
	cases := [][3]int{{1, 7, 5}, {3, 17, 33}, {2, 45, 19}, {1, 16, 8}, {5, 33, 9}, {37, 129, 31}, {64, 300, 128}}
	for _, s := range shapes {
		cases = append(cases, [3]int{1, s[0], s[1]}, [3]int{67, s[0], s[1]})
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, path := range paths() {
		restore := usePath(path)
		for _, c := range cases {
			for _, th := range []int{1, 2} {
				m, k, n := c[0], c[1], c[2]
				p := &Pool{Threads: th}
				t.Run(fmt.Sprintf("%s/m%d_k%d_n%d_t%d", pathName(path), m, k, n, th), func(t *testing.T) {
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
		restore()
	}
}

func TestMatMulTPackedAgrees(t *testing.T) {
	const tol = 1e-4
	r := rand.New(rand.NewPCG(11, 12))
	for _, path := range paths() {
		restore := usePath(path)
		for _, c := range [][3]int{{1, 128, 384}, {3, 128, 300}, {4, 5, 7}, {13, 300, 600}, {64, 512, 128}} {
			m, k, n := c[0], c[1], c[2]
			a, w := randSlice(r, m*k), randSlice(r, n*k)
			pw := PackT(w, n, k)
			for _, th := range []int{1, 2} {
				p := &Pool{Threads: th}
				got, want := make([]float32, m*n), make([]float32, m*n)
				p.MatMulTPacked(got, a, m, pw)
				MatMulTRef(want, a, w, m, k, n)
				if d := maxRelDiff(got, want); d > tol {
					t.Errorf("%s m%d k%d n%d t%d: max rel diff %.2e > %.0e", pathName(path), m, k, n, th, d, tol)
				}
			}
			// Repack picks up a changed w.
			w[0] += 1
			pw.Repack()
			got, want := make([]float32, m*n), make([]float32, m*n)
			(&Pool{}).MatMulTPacked(got, a, m, pw)
			MatMulTRef(want, a, w, m, k, n)
			if d := maxRelDiff(got, want); d > tol {
				t.Errorf("%s m%d k%d n%d after Repack: max rel diff %.2e", pathName(path), m, k, n, d)
			}
		}
		restore()
	}
}

// gemmRef64 computes c (+)= op(A)·op(B) in float64 and, per element, the
// rounding bound (K+1)·u·(|c0| + Σ|a·b|) a float32 sum of K+1 terms in any
// order and with or without FMA stays within (u = 2⁻²⁴).
func gemmRef64(M, N, K int, a []float32, rsA, csA int, b []float32, rsB, csB int, c0 []float32, acc bool) (want, bound []float64) {
	const u = 1.0 / (1 << 24)
	want, bound = make([]float64, M*N), make([]float64, M*N)
	for i := 0; i < M; i++ {
		for j := 0; j < N; j++ {
			var s, abs float64
			if acc {
				s, abs = float64(c0[i*N+j]), math.Abs(float64(c0[i*N+j]))
			}
			for l := 0; l < K; l++ {
				x := float64(a[i*rsA+l*csA]) * float64(b[l*rsB+j*csB])
				s += x
				abs += math.Abs(x)
			}
			want[i*N+j], bound[i*N+j] = s, float64(K+1)*u*abs+1e-30
		}
	}
	return want, bound
}

// TestGEMMWithinRoundingBound checks every micro-kernel, forced in turn,
// against a float64 reference over awkward shapes (1×N, N×1, odd sizes,
// K beyond one kc block, N beyond one nc block, the model's shapes) in all
// three layouts and on 1-3 threads. The tolerance is the worst-case float32
// summation bound above, so reordering passes and any indexing slip fails.
func TestGEMMWithinRoundingBound(t *testing.T) {
	dims := [][3]int{ // M, N, K
		{1, 1, 1}, {1, 37, 5}, {37, 1, 5}, {1, 1, 300}, {13, 1, 1}, {4, 33, 17}, {12, 32, 1},
		{25, 65, 129}, {97, 31, 257}, {7, 700, 64}, {600, 9, 600}, {130, 515, 260},
		{2048, 384, 128}, {384, 128, 2048}, {512, 128, 512}, {2048, 300, 128},
	}
	r := rand.New(rand.NewPCG(9, 10))
	for _, k := range append(kernelsHere(), tileVariants()...) {
		for _, d := range dims {
			M, N, K := d[0], d[1], d[2]
			if M*N*K > 1<<25 && testing.Short() {
				continue
			}
			a, b := randSlice(r, M*K), randSlice(r, K*N)
			c0 := randSlice(r, M*N)
			// layouts: A row-major or transposed, B row-major or transposed.
			big := M*N*K > 1<<22
			for lay := 0; lay < 4; lay++ {
				if big && lay == 3 {
					continue // big shapes: only the three layouts the products use
				}
				rsA, csA := K, 1
				if lay&1 != 0 {
					rsA, csA = 1, M
				}
				rsB, csB := N, 1
				if lay&2 != 0 {
					rsB, csB = 1, K
				}
				for _, acc := range []bool{false, true} {
					if big && acc == (lay == 2) {
						continue // A·Bᵀ overwrites, A·B and Aᵀ·B accumulate
					}
					want, bound := gemmRef64(M, N, K, a, rsA, csA, b, rsB, csB, c0, acc)
					for _, th := range []int{1, 2, 3} {
						c := make([]float32, M*N)
						copy(c, c0)
						p := &Pool{Threads: th}
						p.gemm(k, M, N, K, a, rsA, csA, b, rsB, csB, c, N, acc)
						for i, v := range c {
							if e := math.Abs(float64(v) - want[i]); e > bound[i] {
								t.Fatalf("%s/mr%d M%d N%d K%d layout %d acc %v t%d: c[%d,%d] = %v, want %v (error %.2e > bound %.2e)",
									k.name, k.mr, M, N, K, lay, acc, th, i/N, i%N, v, want[i], e, bound[i])
							}
						}
					}
				}
			}
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

func TestProductsDoNotAllocate(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	m, k, n := 64, 128, 384
	a, w, dout := randSlice(r, m*k), randSlice(r, n*k), randSlice(r, m*n)
	out, dinp, dw := make([]float32, m*n), make([]float32, m*k), make([]float32, n*k)
	for _, path := range kernelsHere() {
		restore := usePath(path)
		for _, th := range []int{1, 2} {
			p := &Pool{Threads: th}
			allocs := testing.AllocsPerRun(5, func() {
				p.MatMulT(out, a, w, m, k, n)
				p.MatMulAcc(dinp, dout, w, m, n, k)
				p.MatMulAccTN(dw, dout, a, m, n, k)
			})
			if allocs != 0 {
				t.Errorf("%s t%d: got %v allocs per run, want 0", path.name, th, allocs)
			}
		}
		restore()
	}
}

// reportFlops reports GFLOP/s over wall time and, where CPU time is known,
// "cpu-GFLOP/s": flops per CPU-second times the threads used, the figure a
// shared machine's other load disturbs least (it still counts the caches
// and clocks that load leaves).
func reportFlops(b *testing.B, flopsPerOp, cpu float64, threads int) {
	total := flopsPerOp * float64(b.N)
	b.ReportMetric(total/b.Elapsed().Seconds()/1e9, "GFLOP/s")
	if cpu > 0 {
		b.ReportMetric(total/cpu*float64(threads)/1e9, "cpu-GFLOP/s")
	}
}

// BenchmarkPeak is the arithmetic ceiling every GFLOP/s figure is read
// against: a register-only loop of independent FMAs per instruction set, on
// 1 and 2 goroutines.
func BenchmarkPeak(b *testing.B) {
	for _, l := range peakLoops() {
		for _, th := range []int{1, 2} {
			b.Run(fmt.Sprintf("%s/t%d", l.name, th), func(b *testing.B) {
				const iters = 1 << 16
				var wg sync.WaitGroup
				cpu0 := cpuSeconds()
				for b.Loop() {
					wg.Add(th)
					for range th {
						go func() {
							defer wg.Done()
							l.fn(iters)
						}()
					}
					wg.Wait()
				}
				reportFlops(b, float64(th*iters*l.flops), cpuSeconds()-cpu0, th)
			})
		}
	}
}

// BenchmarkMatMul reports GFLOP/s for the model's shapes on every product
// path this machine has (the micro-kernels and the legacy row-by-row "rows",
// vek's AVX2 matrix-vector kernels on amd64), side by side in one run.
// m=2048 is one training worker's batch (4 rows of 512 tokens); m=1 is decode.
func BenchmarkMatMul(b *testing.B) {
	r := rand.New(rand.NewPCG(7, 8))
	for _, m := range []int{2048, 1} {
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
					for _, path := range paths() {
						if m == 1 && path != nil && path != kern {
							continue // m=1 never reaches the GEMM
						}
						b.Run(fmt.Sprintf("%s/m%d_k%d_n%d/t%d/%s", op.name, m, k, n, th, pathName(path)), func(b *testing.B) {
							defer usePath(path)()
							cpu0 := cpuSeconds()
							for b.Loop() {
								op.f()
							}
							reportFlops(b, flops, cpuSeconds()-cpu0, th)
						})
					}
				}
			}
		}
	}
}

// TestMatMulAgrees: the strided A·B on every path (and 1-3 threads) against
// the reference, over awkward shapes: few rows (matrix-vector), edge
// panels, a row stride past n.
func TestMatMulAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	for _, path := range Kernels() {
		prev, err := SetKernel(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range [][3]int{{1, 32, 5}, {3, 32, 33}, {4, 32, 32}, {32, 32, 70}, {12, 32, 1}, {29, 7, 300}, {32, 128, 257}, {64, 16, 64}} {
			m, k, n := d[0], d[1], d[2]
			for _, pad := range []int{0, 9, 48} {
				ldb := n + pad
				a, b := randSlice(r, m*k), randSlice(r, (k-1)*ldb+n)
				want := make([]float32, m*n)
				MatMulRef(want, a, b, m, k, n, ldb)
				for _, th := range []int{1, 2, 3} {
					got := randSlice(r, m*n+3)
					tail := append([]float32(nil), got[m*n:]...)
					(&Pool{Threads: th}).MatMul(got[:m*n], a, b, m, k, n, ldb)
					if d := maxRelDiff(got[:m*n], want); d > 1e-5 {
						t.Errorf("%s m%d k%d n%d ldb%d t%d: max rel diff %.2e", path, m, k, n, ldb, th, d)
					}
					for i, v := range tail {
						if got[m*n+i] != v {
							t.Fatalf("%s m%d k%d n%d: wrote past out", path, m, k, n)
						}
					}
				}
			}
		}
		SetKernel(prev)
	}
}
