package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// halfwShapes are awkward (n, k) sizes — 1 to 16 panels of 32 outputs,
// whole and partial, so the AVX-512 kernel's groups of 4 panels and the
// panels after them each end the product — and the shipped model's matrices
// (d 128: qkv 384×128, attention projection 128×128, MLP 512×128 and
// 128×512, the tied head 251×128).
var halfwShapes = [][2]int{
	{1, 1}, {1, 7}, {1, 128}, {7, 1}, {31, 3}, {32, 5}, {33, 17}, {63, 64}, {65, 130}, {100, 257},
	{128, 3}, {130, 9}, {161, 64}, {192, 2}, {224, 5}, {255, 31}, {289, 1},
	{384, 128}, {128, 128}, {512, 128}, {128, 512}, {251, 128},
}

// TestMatVecHalfAgrees checks MatVecHalf on every half-precision path
// here against two references: (1) the float64 product over the widened
// halves, within the float32 summation bound (k+1)·2⁻²⁴·Σ|w·x|, so the
// kernel adds no error but its sums'; (2) the float32 weights it was
// packed from, within the rounding of the weights, 2⁻¹¹·Σ|w·x| (plus
// 2⁻²⁵·Σ|x| for subnormal halves) and that summation bound — the agreement the decoders rely on.
func TestMatVecHalfAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(41, 42))
	for _, path := range halfPaths() {
		restore := setHalf(path)
		for _, s := range halfwShapes {
			n, k := s[0], s[1]
			t.Run(fmt.Sprintf("%s/n%d_k%d", path, n, k), func(t *testing.T) {
				w := randSlice(r, n*k)
				for i := range w { // the model's magnitudes: most weights well under 1
					w[i] *= 0.2
				}
				w[0] = 3e-6 // a subnormal half
				x := randSlice(r, k)
				h := PackHalfT(w, n, k)
				if gn, gk := h.Dims(); gn != n || gk != k {
					t.Fatalf("Dims() = %d, %d", gn, gk)
				}
				out := randSlice(r, n+5)
				tail := append([]float32(nil), out[n:]...)
				MatVecHalf(out[:n], x, h)
				for i := 0; i < n; i++ {
					var exact, orig, abs, absx float64
					for l := 0; l < k; l++ {
						wh := h.Weight(i, l)
						if want := FromHalf(ToHalf(w[i*k+l])); wh != want {
							t.Fatalf("w[%d][%d] = %v stored as %v, want %v", i, l, w[i*k+l], wh, want)
						}
						exact += float64(x[l]) * float64(wh)
						orig += float64(x[l]) * float64(w[i*k+l])
						abs += math.Abs(float64(x[l]) * float64(w[i*k+l]))
						absx += math.Abs(float64(x[l]))
					}
					sum := float64(k+1)/(1<<24)*abs*1.001 + 1e-30
					if !closeTo(out[i], exact, 0, sum) {
						t.Fatalf("out[%d] = %v, want %v over the halves (bound %.2g)", i, out[i], exact, sum)
					}
					// A half's rounding: 2⁻¹¹ relative, or 2⁻²⁵ absolute below 2⁻¹⁴.
					round := abs/(1<<11) + absx/(1<<25)
					if !closeTo(out[i], orig, 0, round+sum) {
						t.Fatalf("out[%d] = %v, want %v over the float32 weights (bound %.2g)", i, out[i], orig, round+sum)
					}
				}
				for i, v := range tail {
					if out[n+i] != v {
						t.Fatalf("wrote past out[%d]", n-1)
					}
				}
			})
		}
		restore()
	}
}

// TestMatMulTHalfAgrees checks MatMulTHalf on every half path over row
// counts that fill the 8- and 12-row tiles exactly and leave edges,
// against the float64 product over the widened halves within the float32
// summation bound (as TestMatVecHalfAgrees), with no writes outside out.
func TestMatMulTHalfAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(45, 46))
	for _, path := range halfPaths() {
		restore := setHalf(path)
		for _, s := range [][2]int{{1, 1}, {33, 17}, {100, 257}, {384, 128}, {128, 512}, {251, 128}} {
			n, k := s[0], s[1]
			w := randSlice(r, n*k)
			h := PackHalfT(w, n, k)
			for _, c := range [][2]int{{1, 1}, {3, 1}, {4, 1}, {5, 1}, {8, 1}, {9, 2}, {12, 1}, {13, 1}, {16, 2}, {17, 1}, {24, 1}, {25, 2}, {32, 2}} {
				m, th := c[0], c[1]
				pool := &Pool{Threads: th}
				t.Run(fmt.Sprintf("%s/m%d_n%d_k%d_t%d", path, m, n, k, th), func(t *testing.T) {
					a := randSlice(r, m*k)
					out := randSlice(r, m*n+5)
					tail := append([]float32(nil), out[m*n:]...)
					pool.MatMulTHalf(out[:m*n], a, m, h)
					for i := 0; i < m; i++ {
						for j := 0; j < n; j++ {
							var want, abs float64
							for l := 0; l < k; l++ {
								v := float64(a[i*k+l]) * float64(h.Weight(j, l))
								want += v
								abs += math.Abs(v)
							}
							if !closeTo(out[i*n+j], want, 0, float64(k+1)/(1<<24)*abs*1.001+1e-30) {
								t.Fatalf("out[%d][%d] = %v, want %v", i, j, out[i*n+j], want)
							}
						}
					}
					for i, v := range tail {
						if out[m*n+i] != v {
							t.Fatalf("wrote past out[%d]", m*n-1)
						}
					}
				})
			}
		}
		restore()
	}
}

// TestMatVecHalfEmpty: k = 0 clears out; n = 0 touches nothing.
func TestMatVecHalfEmpty(t *testing.T) {
	for _, path := range halfPaths() {
		restore := setHalf(path)
		out := []float32{1, 2, 3}
		MatVecHalf(out, nil, PackHalfT(nil, 3, 0))
		if out[0] != 0 || out[1] != 0 || out[2] != 0 {
			t.Errorf("%s: k = 0 gave %v, want zeros", path, out)
		}
		MatVecHalf(nil, []float32{1}, PackHalfT(nil, 0, 1))
		restore()
	}
}

// BenchmarkMatVecHalf: one token's weight products of the shipped model
// (4 layers of qkv, attention projection, MLP up and down, and the head:
// 3.3 MB of float32) as float32 packed panels (MatMulTPacked, the
// decoder's path before) and as halves (MatVecHalf), side by side on each
// path. The matrices together exceed a core's L2, as in decoding, so both
// stream from the L3.
func BenchmarkMatVecHalf(b *testing.B) {
	r := rand.New(rand.NewPCG(43, 44))
	shapes := [][2]int{}
	for range 4 {
		shapes = append(shapes, [2]int{384, 128}, [2]int{128, 128}, [2]int{512, 128}, [2]int{128, 512})
	}
	shapes = append(shapes, [2]int{251, 128})
	var ws []*PackedT
	var hs []*HalfT
	bytes := 0
	for _, s := range shapes {
		w := randSlice(r, s[0]*s[1])
		ws = append(ws, PackT(w, s[0], s[1]))
		hs = append(hs, PackHalfT(w, s[0], s[1]))
		bytes += 4 * len(w)
	}
	x, out := randSlice(r, 512), make([]float32, 512)
	for _, path := range Kernels() {
		if path == "rows" {
			continue
		}
		prev, _ := SetKernel(path)
		var pool Pool
		b.Run(path+"/float32", func(b *testing.B) {
			for b.Loop() {
				for _, w := range ws {
					pool.MatMulTPacked(out[:w.n], x[:w.k], 1, w)
				}
			}
			b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s-f32")
		})
		if path == "go" { // MatMulTPacked's one-row products are vek's on amd64
			b.Run(path+"/float32-go", func(b *testing.B) {
				for b.Loop() {
					for _, w := range ws {
						matMulTGo(out[:w.n], x[:w.k], w.w, 0, 1, w.k, w.n)
					}
				}
				b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s-f32")
			})
		}
		b.Run(path+"/half", func(b *testing.B) {
			for b.Loop() {
				for _, h := range hs {
					MatVecHalf(out[:h.n], x[:h.k], h)
				}
			}
			b.ReportMetric(float64(bytes)*float64(b.N)/b.Elapsed().Seconds()/1e9, "GB/s-f32")
		})
		SetKernel(prev)
	}
}
