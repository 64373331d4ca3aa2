package kernels

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"
)

// halfRef is the reference rounding: the nearest half by exhaustive
// comparison with the float64 values of its neighbours, ties to the even
// one, clamped to ±65504.
func halfRef(f float32) uint16 {
	if f != f {
		return 0x7e00
	}
	x := math.Min(math.Max(float64(f), -65504), 65504)
	sign := uint16(0)
	if math.Signbit(x) {
		sign, x = 0x8000, -x
	}
	lo := uint16(0)
	for hi := uint16(0x4000); hi > 0; hi >>= 1 { // largest half ≤ x (0x7bff max)
		if c := lo | hi; c <= 0x7bff && float64(FromHalf(c)) <= x {
			lo = c
		}
	}
	if lo == 0x7bff || float64(FromHalf(lo)) == x {
		return sign | lo
	}
	dl, dh := x-float64(FromHalf(lo)), float64(FromHalf(lo+1))-x
	if dh < dl || dh == dl && lo&1 == 1 {
		lo++
	}
	return sign | lo
}

func TestFromHalfExact(t *testing.T) {
	for h := 0; h < 1<<16; h++ {
		f := FromHalf(uint16(h))
		e, m, neg := h>>10&0x1f, h&0x3ff, h&0x8000 != 0
		var want float64
		switch {
		case e == 31 && m == 0:
			want = math.Inf(1)
		case e == 31:
			if f == f {
				t.Fatalf("FromHalf(%#04x) = %v, want NaN", h, f)
			}
			continue
		case e == 0:
			want = math.Ldexp(float64(m), -24)
		default:
			want = math.Ldexp(float64(m|0x400), e-25)
		}
		if neg {
			want = -want
		}
		if float64(f) != want || math.Signbit(float64(f)) != neg {
			t.Fatalf("FromHalf(%#04x) = %v, want %v", h, f, want)
		}
	}
}

// halfInputs: every half, the midpoints between neighbours (ties), just
// either side of them, the clamp's edges, subnormal and underflow values,
// and random floats of every magnitude.
func halfInputs() []float32 {
	var in []float32
	for h := uint16(0); h < 0x7c00; h++ {
		a, b := FromHalf(h), FromHalf(h+1)
		mid := float32((float64(a) + float64(b)) / 2)
		for _, v := range []float32{a, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e9)} {
			in = append(in, v, -v)
		}
	}
	in = append(in, 65504, 65519.99, 65520, 1e6, float32(math.Inf(1)), float32(math.Inf(-1)),
		0x1p-25, math.Nextafter32(0x1p-25, 1), 0x1p-26, 1e-45, 0x1p-14, math.Nextafter32(0x1p-14, 0))
	r := rand.New(rand.NewPCG(7, 8))
	for i := 0; i < 20000; i++ {
		in = append(in, math.Float32frombits(r.Uint32()&^0x7f800000|uint32(90+r.IntN(60))<<23))
	}
	return in
}

func TestToHalfRounds(t *testing.T) {
	in := halfInputs()
	for _, path := range halfPaths() {
		restore := setHalf(path)
		t.Run(path, func(t *testing.T) {
			got := make([]uint16, len(in)+1)
			got[len(in)] = 0xbeef
			F32ToF16(got[:len(in)], in)
			if got[len(in)] != 0xbeef {
				t.Fatalf("wrote past the end")
			}
			for i, f := range in {
				if want := halfRef(f); got[i] != want || ToHalf(f) != want {
					t.Fatalf("half(%v = %#08x): F32ToF16 %#04x, ToHalf %#04x, want %#04x", f, math.Float32bits(f), got[i], ToHalf(f), want)
				}
			}
			nan := []float32{float32(math.NaN()), -float32(math.NaN())}
			h := make([]uint16, 2)
			F32ToF16(h, nan)
			for i, v := range h {
				if f := FromHalf(v); f == f {
					t.Errorf("NaN %d became %v", i, f)
				}
			}
		})
		restore()
	}
}

// halves returns n random halves of values in (-2, 2).
func halves(r *rand.Rand, n int) []uint16 {
	h := make([]uint16, n)
	for i := range h {
		h[i] = ToHalf(float32(r.Float64()*4 - 2))
	}
	return h
}

func TestVecMatF16Agrees(t *testing.T) {
	r := rand.New(rand.NewPCG(31, 32))
	for _, path := range halfPaths() {
		restore := setHalf(path)
		for _, k := range []int{0, 1, 3, 4, 5, 32, 257} {
			for _, n := range []int{1, 4, 5, 31, 32, 33, 64, 100} {
				for _, pad := range []int{0, 7} {
					t.Run(fmt.Sprintf("%s/k%d_n%d_ldb%d", path, k, n, n+pad), func(t *testing.T) {
						ldb := n + pad
						x := randSlice(r, k)
						b := halves(r, max((k-1)*ldb+(n+31)/32*32, 0))
						y := randSlice(r, n+5)
						tail := append([]float32(nil), y[n:]...)
						VecMatF16(y[:n], x, b, k, n, ldb)
						for j := 0; j < n; j++ {
							var s, abs float64
							for l := 0; l < k; l++ {
								v := float64(x[l]) * float64(FromHalf(b[l*ldb+j]))
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

func TestKeyScoresF16Agrees(t *testing.T) {
	r := rand.New(rand.NewPCG(33, 34))
	for _, path := range halfPaths() {
		restore := setHalf(path)
		for _, hs := range []int{0, 1, 3, 4, 8, 32, 64} {
			for _, n := range []int{1, 5, 31, 32, 33, 64, 70, 257} {
				t.Run(fmt.Sprintf("%s/hs%d_n%d", path, hs, n), func(t *testing.T) {
					q := randSlice(r, hs)
					kT := halves(r, (n+31)/32*32*hs)
					s := randSlice(r, n+5)
					tail := append([]float32(nil), s[n:]...)
					KeyScoresF16(s[:n], q, kT, hs, n)
					for j := 0; j < n; j++ {
						var want, abs float64
						for c := 0; c < hs; c++ {
							v := float64(q[c]) * float64(FromHalf(kT[j/32*32*hs+c*32+j%32]))
							want += v
							abs += math.Abs(v)
						}
						if !closeTo(s[j], want, 0, float64(hs+1)/(1<<24)*abs+1e-30) {
							t.Fatalf("s[%d] = %v, want %v", j, s[j], want)
						}
					}
					for i, v := range tail {
						if s[n+i] != v {
							t.Fatalf("wrote past s[%d]", n-1)
						}
					}
				})
			}
		}
		restore()
	}
}
