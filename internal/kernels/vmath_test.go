package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

func vecName(avx512 bool) string {
	if avx512 {
		return "avx512"
	}
	return "go"
}

// closeTo reports |got-want| ≤ rel·|want| + abs.
func closeTo(got float32, want, rel, abs float64) bool {
	return math.Abs(float64(got)-want) <= rel*math.Abs(want)+abs
}

func TestSoftmaxAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(21, 22))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, n := range []int{1, 2, 15, 16, 17, 33, 257, 300} {
			for _, scale := range []float32{1, 0.17677669} {
				x := make([]float32, n+3)
				for i := range x {
					x[i] = float32(r.NormFloat64() * 20)
				}
				sentinel := append([]float32(nil), x[n:]...)
				want := make([]float64, n)
				mx := math.Inf(-1)
				for _, v := range x[:n] {
					mx = math.Max(mx, float64(scale)*float64(v))
				}
				var sum float64
				for i, v := range x[:n] {
					want[i] = math.Exp(float64(scale)*float64(v) - mx)
					sum += want[i]
				}
				Softmax(x[:n], scale)
				for i := range want {
					if w := want[i] / sum; !closeTo(x[i], w, 1e-5, 1e-7) {
						t.Fatalf("%s n=%d scale=%v: x[%d] = %v, want %v", vecName(on), n, scale, i, x[i], w)
					}
				}
				for i, v := range sentinel {
					if x[n+i] != v {
						t.Fatalf("%s n=%d: wrote past the end at %d", vecName(on), n, n+i)
					}
				}
			}
		}
		restore()
	}
}

func geluRef(x float64) (y, dy float64) {
	s := math.Sqrt(2 / math.Pi)
	u := s * (x + 0.044715*x*x*x)
	th := math.Tanh(u)
	return 0.5 * x * (1 + th), 0.5*(1+th) + 0.5*x*(1-th*th)*s*(1+3*0.044715*x*x)
}

func TestGeluAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(23, 24))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, n := range []int{1, 7, 16, 17, 100, 515} {
			in := make([]float32, n)
			for i := range in {
				in[i] = float32(r.NormFloat64() * 3)
			}
			// Past |x| ≈ 5 the tanh is clamped to ±(1 - a few ulp).
			in[0] = -9
			if n > 1 {
				in[1] = 9
			}
			out := make([]float32, n+2)
			dout := make([]float32, n)
			dinp := make([]float32, n+2)
			for i := range dout {
				dout[i], dinp[i] = float32(r.NormFloat64()), float32(r.NormFloat64())
			}
			d0 := append([]float32(nil), dinp...)
			dinp[n], dinp[n+1], out[n], out[n+1] = 7, 7, 7, 7
			Gelu(out[:n], in)
			GeluBackward(dinp[:n], in, dout)
			for i, x := range in {
				y, dy := geluRef(float64(x))
				// tanh's few-ulp error scaled by |x|/2 (large |x|: tanh ≈ ±1).
				if !closeTo(out[i], y, 1e-5, 1e-6*math.Max(1, math.Abs(float64(x)))) {
					t.Fatalf("%s n=%d: gelu(%v) = %v, want %v", vecName(on), n, x, out[i], y)
				}
				if w := float64(d0[i]) + dy*float64(dout[i]); !closeTo(dinp[i], w, 1e-5, 1e-5*math.Max(1, math.Abs(float64(x)))) {
					t.Fatalf("%s n=%d: dinp[%d] (x=%v) = %v, want %v", vecName(on), n, i, x, dinp[i], w)
				}
			}
			if out[n] != 7 || out[n+1] != 7 || dinp[n] != 7 || dinp[n+1] != 7 {
				t.Fatalf("%s n=%d: wrote past the end", vecName(on), n)
			}
		}
		restore()
	}
}

func TestVecMatAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(25, 26))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, k := range []int{0, 1, 3, 4, 5, 32, 257} {
			for _, n := range []int{1, 5, 31, 32, 33, 64, 100, 257} {
				for _, pad := range []int{0, 7} {
					t.Run(fmt.Sprintf("%s/k%d_n%d_ldb%d", vecName(on), k, n, n+pad), func(t *testing.T) {
						ldb := n + pad
						x := randSlice(r, k)
						b := randSlice(r, max(k*ldb-pad, 0))
						y := randSlice(r, n+5)
						tail := append([]float32(nil), y[n:]...)
						VecMat(y[:n], x, b, k, n, ldb)
						for j := 0; j < n; j++ {
							var s, abs float64
							for l := 0; l < k; l++ {
								v := float64(x[l]) * float64(b[l*ldb+j])
								s += v
								abs += math.Abs(v)
							}
							if !closeTo(y[j], s, 0, float64(k+1)/(1<<24)*abs+1e-30) {
								t.Fatalf("y[%d] = %v, want %v", j, y[j], s)
							}
						}
						for i, v := range tail {
							if y[n+i] != v {
								t.Fatalf("wrote past y[%d]", n-1)
							}
						}
					})
				}
			}
		}
		restore()
	}
}

func TestSoftmaxBackwardAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(27, 28))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, n := range []int{1, 5, 16, 17, 32, 100, 513} {
			p, d := make([]float32, n), make([]float32, n+3)
			for i := range p {
				p[i] = float32(r.Float64())
			}
			for i := range d {
				d[i] = float32(r.NormFloat64())
			}
			d0 := append([]float32(nil), d...)
			const scale = 0.17677669
			var dot, abs float64
			for j := range p {
				dot += float64(p[j]) * float64(d0[j])
				abs += math.Abs(float64(p[j]) * float64(d0[j]))
			}
			SoftmaxBackward(p, d[:n], scale)
			for j := range p {
				want := float64(p[j]) * (float64(d0[j]) - dot) * scale
				// the dot's float32 rounding, carried through p·scale
				tol := float64(n+1)/(1<<24)*abs*float64(p[j])*scale + 1e-6*math.Abs(want) + 1e-12
				if e := math.Abs(float64(d[j]) - want); e > tol {
					t.Fatalf("%s n=%d: d[%d] = %v, want %v", vecName(on), n, j, d[j], want)
				}
			}
			for i := n; i < n+3; i++ {
				if d[i] != d0[i] {
					t.Fatalf("%s n=%d: wrote past the end", vecName(on), n)
				}
			}
		}
		restore()
	}
}

func TestLayerNormAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(29, 30))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, n := range []int{1, 7, 16, 31, 128, 515} {
			x, w, b, g := randSlice(r, n), randSlice(r, n), randSlice(r, n), randSlice(r, n)
			for i := range x {
				x[i] = x[i]*3 + 2 // a mean and a spread to remove
			}
			out := make([]float32, n+2)
			out[n], out[n+1] = 7, 7
			mean, rstd := LayerNorm(out[:n], x, w, b, 1e-5)
			var m, v float64
			for _, xi := range x {
				m += float64(xi)
			}
			m /= float64(n)
			for _, xi := range x {
				v += (float64(xi) - m) * (float64(xi) - m)
			}
			s := 1 / math.Sqrt(v/float64(n)+1e-5)
			if !closeTo(mean, m, 1e-5, 1e-6) || !closeTo(rstd, s, 1e-4, 0) {
				t.Fatalf("%s n=%d: mean, rstd = %v, %v, want %v, %v", vecName(on), n, mean, rstd, m, s)
			}
			for j, xi := range x {
				want := (float64(xi)-m)*s*float64(w[j]) + float64(b[j])
				if !closeTo(out[j], want, 1e-4, 1e-4) {
					t.Fatalf("%s n=%d: out[%d] = %v, want %v", vecName(on), n, j, out[j], want)
				}
			}
			if out[n] != 7 || out[n+1] != 7 {
				t.Fatalf("%s n=%d: wrote past the end", vecName(on), n)
			}
			// backward against float64, with the float32 mean and rstd
			dinp, dw, db := randSlice(r, n), randSlice(r, n), randSlice(r, n)
			d0, w0, b0 := append([]float32(nil), dinp...), append([]float32(nil), dw...), append([]float32(nil), db...)
			LayerNormBackward(dinp, dw, db, g, x, w, mean, rstd)
			var dn, dnn float64
			norm := make([]float64, n)
			for j := range g {
				norm[j] = (float64(x[j]) - float64(mean)) * float64(rstd)
				dn += float64(w[j]) * float64(g[j])
				dnn += float64(w[j]) * float64(g[j]) * norm[j]
			}
			dn /= float64(n)
			dnn /= float64(n)
			for j := range g {
				wd := float64(d0[j]) + (float64(w[j])*float64(g[j])-dn-norm[j]*dnn)*float64(rstd)
				ww := float64(w0[j]) + norm[j]*float64(g[j])
				wb := float64(b0[j]) + float64(g[j])
				if !closeTo(dinp[j], wd, 1e-4, 1e-4) || !closeTo(dw[j], ww, 1e-5, 1e-5) || !closeTo(db[j], wb, 1e-6, 1e-6) {
					t.Fatalf("%s n=%d j=%d: dinp %v/%v dw %v/%v db %v/%v", vecName(on), n, j, dinp[j], wd, dw[j], ww, db[j], wb)
				}
			}
		}
		restore()
	}
}

func TestAddAgrees(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, on := range vecPaths() {
		restore := setVec(on)
		for _, n := range []int{0, 1, 15, 16, 17, 100} {
			dst, src := randSlice(r, n+2), randSlice(r, n)
			want := append([]float32(nil), dst...)
			for i := range src {
				want[i] += src[i]
			}
			Add(dst[:n], src)
			for i := range want {
				if dst[i] != want[i] {
					t.Fatalf("%s n=%d: dst[%d] = %v, want %v", vecName(on), n, i, dst[i], want[i])
				}
			}
		}
		restore()
	}
}
