package nn

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/kernels"
)

// dotProj is the scalar loss Σ out·r used to check each op's gradient.
func dotProj(out, r []float32) float64 {
	var s float64
	for i := range out {
		s += float64(out[i]) * float64(r[i])
	}
	return s
}

func rnd(r *rand.Rand, n int, std float64) []float32 {
	x := make([]float32, n)
	randomize(r, x, std)
	return x
}

// TestOpGradients checks each op's backward against central differences of
// L = Σ forward(inputs)·R, with R random. Inputs are float32, eps 1e-2;
// the relative difference is taken against max(|a|+|n|, 1e-2), so
// gradients near zero are held to an absolute 1e-4.
func TestOpGradients(t *testing.T) {
	const tol = 1e-2
	r := rand.New(rand.NewPCG(9, 9))
	var pool kernels.Pool
	type input struct {
		name    string
		x, grad []float32
	}
	cases := []struct {
		name string
		// setup returns the inputs with analytic gradients filled, and the loss.
		setup func() ([]input, func() float64)
	}{
		{"layernorm", func() ([]input, func() float64) {
			N, C := 3, 7
			x, w, b := rnd(r, N*C, 1), rnd(r, C, 1), rnd(r, C, 1)
			out, mean, rstd, R := make([]float32, N*C), make([]float32, N), make([]float32, N), rnd(r, N*C, 1)
			f := func() float64 { layernormForward(out, mean, rstd, x, w, b, N, C); return dotProj(out, R) }
			f()
			dx, dw, db := make([]float32, N*C), make([]float32, C), make([]float32, C)
			layernormBackward(dx, dw, db, R, x, w, mean, rstd, N, C)
			return []input{{"x", x, dx}, {"w", w, dw}, {"b", b, db}}, f
		}},
		{"matmul", func() ([]input, func() float64) {
			N, C, OC := 5, 6, 7
			x, w, b := rnd(r, N*C, 1), rnd(r, OC*C, 1), rnd(r, OC, 1)
			out, R := make([]float32, N*OC), rnd(r, N*OC, 1)
			f := func() float64 { matmulForward(&pool, out, x, w, b, N, C, OC); return dotProj(out, R) }
			dx := rnd(r, N*C, 5) // garbage: matmulBackward sets dx
			dw, db := make([]float32, OC*C), make([]float32, OC)
			matmulBackward(&pool, dx, dw, db, R, x, w, N, C, OC)
			return []input{{"x", x, dx}, {"w", w, dw}, {"b", b, db}}, f
		}},
		{"gelu", func() ([]input, func() float64) {
			n := 40
			x, out, R := rnd(r, n, 2), make([]float32, n), rnd(r, n, 1)
			f := func() float64 { geluForward(out, x, n); return dotProj(out, R) }
			dx := make([]float32, n)
			geluBackward(dx, x, R, n)
			return []input{{"x", x, dx}}, f
		}},
		{"attention (two documents per row)", func() ([]input, func() float64) {
			B, T, C, NH := 2, 40, 8, 2 // T > attBlock exercises row blocks
			var ds []int32
			for b := 0; b < B; b++ {
				for t := 0; t < T; t++ {
					s := 0
					if b == 1 && t >= 9 {
						s = 9
					}
					ds = append(ds, int32(s))
				}
			}
			N := B * T
			qkv, R := rnd(r, 3*N*C, 1), rnd(r, N*C, 1)
			out, qh, kh, vh, oh := make([]float32, N*C), make([]float32, N*C), make([]float32, N*C), make([]float32, N*C), make([]float32, N*C)
			att := make([]float32, B*NH*T*T)
			f := func() float64 {
				attentionForward(&pool, out, qh, kh, vh, oh, att, qkv, make([]float32, transposedLen(T, C/NH)), ds, B, T, C, NH)
				return dotProj(out, R)
			}
			f()
			dqkv := rnd(r, 3*N*C, 5) // garbage: attentionBackward sets dqkv
			s := func() []float32 { return make([]float32, N*C) }
			attentionBackward(&pool, dqkv, s(), s(), s(), s(), make([]float32, attBlock*T), make([]float32, transposedLen(T, C/NH)), R, qh, kh, vh, att, ds, B, T, C, NH)
			return []input{{"qkv", qkv, dqkv}}, f
		}},
		{"softmax-crossentropy", func() ([]input, func() float64) {
			N, V := 4, 9
			logits, probs := rnd(r, N*V, 2), make([]float32, N*V)
			targets := []int32{1, 8, 0, 3}
			weights := []float32{1, 0, 0.5, 2}
			f := func() float64 { return softmaxCrossEntropyForward(probs, logits, targets, weights, 0.3, N, V) }
			f()
			dl := make([]float32, N*V)
			softmaxCrossEntropyBackward(dl, probs, targets, weights, 0.3, N, V)
			return []input{{"logits", logits, dl}}, f
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ins, f := c.setup()
			for _, in := range ins {
				d, at := gradCheck(in.x, in.grad, f, 1e-2, 1e-2)
				t.Logf("%s: d%s max rel diff %.3g", c.name, in.name, d)
				if d > tol || math.IsNaN(d) {
					t.Errorf("%s: d%s[%d] max rel diff %.3g > %g", c.name, in.name, at, d, tol)
				}
			}
		})
	}
}

// TestGradCheckCatchesWrongGradient guards against a vacuous checker.
func TestGradCheckCatchesWrongGradient(t *testing.T) {
	x := []float32{0.5, -1, 2}
	g := []float32{1, -2, 4.4} // d/dx of x² is 2x; last entry 10% off
	d, _ := gradCheck(x, g, func() float64 {
		var s float64
		for _, v := range x {
			s += float64(v) * float64(v)
		}
		return s
	}, 1e-2, 1e-3)
	if d < 0.04 {
		t.Fatalf("gradCheck missed a 10%% error: max rel diff %.3g", d)
	}
}
