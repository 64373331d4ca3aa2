package kernels

import (
	"math"
	"unsafe"
)

// Vector math for attention and the MLP: softmax, GELU and y = x·B. With
// AVX-512 they run in assembly (gemm_amd64.s, same polynomials as Exp and
// Tanh below, with FMA); elsewhere in portable Go.

// Exp is a float32 e^x: Cody-Waite reduction x = n·ln2 + r, then Cephes'
// degree-6 polynomial for e^r (max error ≈ 2 ulp on [-87, 88]). It is about
// 4× faster than float64 math.Exp, which dominated softmax.
func Exp(x float32) float32 {
	const (
		log2e = 1.44269504088896341
		c1    = 0.693359375
		c2    = -2.12194440e-4
	)
	if x > 88 {
		x = 88
	} else if x < -87 {
		x = -87
	}
	n := float32(math.Floor(float64(x*log2e + 0.5)))
	r := x - n*c1 - n*c2
	p := float32(1.9875691500e-4)
	p = p*r + 1.3981999507e-3
	p = p*r + 8.3334519073e-3
	p = p*r + 4.1665795894e-2
	p = p*r + 1.6666665459e-1
	p = p*r + 5.0000001201e-1
	p = p*r*r + r + 1
	return p * math.Float32frombits(uint32(int32(n)+127)<<23)
}

// Tanh is a float32 tanh by Eigen's 13/6 rational approximation (error a
// few ulp), clamped where tanh rounds to ±1.
func Tanh(x float32) float32 {
	const clamp = 7.90531110763549805
	if x > clamp {
		x = clamp
	} else if x < -clamp {
		x = -clamp
	}
	x2 := x * x
	p := float32(-2.76076847742355e-16)
	p = p*x2 + 2.00018790482477e-13
	p = p*x2 + -8.60467152213735e-11
	p = p*x2 + 5.12229709037114e-08
	p = p*x2 + 1.48572235717979e-05
	p = p*x2 + 6.37261928875436e-04
	p = p*x2 + 4.89352455891786e-03
	p *= x
	q := float32(1.19825839466702e-06)
	q = q*x2 + 1.18534705686654e-04
	q = q*x2 + 2.26843463243900e-03
	q = q*x2 + 4.89352518554385e-03
	return p / q
}

// Softmax sets x = softmax(scale·x) in place (scale > 0, len(x) ≥ 1).
func Softmax(x []float32, scale float32) {
	if len(x) == 0 {
		return
	}
	if useVecAVX512 {
		softmaxAVX512(&x[0], len(x), scale)
		return
	}
	softmaxGo(x, scale)
}

func softmaxGo(x []float32, scale float32) {
	mx := x[0]
	for _, v := range x {
		mx = max(mx, v)
	}
	mx *= scale
	var sum float32
	for i, v := range x {
		e := Exp(v*scale - mx)
		x[i] = e
		sum += e
	}
	inv := 1 / sum
	for i := range x {
		x[i] *= inv
	}
}

var geluScale = float32(math.Sqrt(2 / math.Pi))

// Gelu sets out[i] = gelu(in[i]) (tanh approximation) over len(in).
func Gelu(out, in []float32) {
	out = out[:len(in)]
	if len(in) == 0 {
		return
	}
	if useVecAVX512 {
		geluAVX512(&out[0], &in[0], len(in))
		return
	}
	for i, x := range in {
		cube := 0.044715 * x * x * x
		out[i] = 0.5 * x * (1 + Tanh(geluScale*(x+cube)))
	}
}

// GeluBackward accumulates dinp[i] += gelu'(inp[i])·dout[i] over len(inp).
func GeluBackward(dinp, inp, dout []float32) {
	dinp, dout = dinp[:len(inp)], dout[:len(inp)]
	if len(inp) == 0 {
		return
	}
	if useVecAVX512 {
		geluBackAVX512(&dinp[0], &inp[0], &dout[0], len(inp))
		return
	}
	for i, x := range inp {
		cube := 0.044715 * x * x * x
		th := Tanh(geluScale * (x + cube))
		sech2 := 1 - th*th
		local := 0.5*(1+th) + x*0.5*sech2*geluScale*(1+3*0.044715*x*x)
		dinp[i] += local * dout[i]
	}
}

// VecMat sets y[n] = x[k]·B, B being k rows of n columns with row stride
// ldb ≥ n: attention's q·Kᵀ over a transposed key cache, and p·V.
func VecMat(y, x, b []float32, k, n, ldb int) {
	if n == 0 {
		return
	}
	y = y[:n]
	if k == 0 {
		clear(y)
		return
	}
	x = x[:k]
	_ = b[(k-1)*ldb+n-1]
	if useVecAVX512 {
		for j := 0; j < n; j += 32 {
			mask := uint32(math.MaxUint32)
			if w := n - j; w < 32 {
				mask = 1<<w - 1
			}
			vecMat32AVX512(&x[0], (*float32)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), 4*j)), &y[j], k, ldb, mask)
		}
		return
	}
	clear(y)
	for l, v := range x {
		Axpy(y, b[l*ldb:l*ldb+n], v)
	}
}

// SoftmaxBackward sets d[j] = p[j]·(d[j] - Σ p·d)·scale over len(p): the
// gradient of a softmax row p = softmax(scale·x) with respect to x, given
// the gradient d with respect to p.
func SoftmaxBackward(p, d []float32, scale float32) {
	d = d[:len(p)]
	if len(p) == 0 {
		return
	}
	if useVecAVX512 {
		softmaxBackAVX512(&p[0], &d[0], len(p), scale)
		return
	}
	var dot float32
	for j, pj := range p {
		dot += pj * d[j]
	}
	for j, pj := range p {
		d[j] = pj * (d[j] - dot) * scale
	}
}

// LayerNorm normalizes one row: out = (x-mean)·rstd·w + b over len(x), with
// rstd = 1/√(var + eps), and returns mean and rstd (saved for the backward).
func LayerNorm(out, x, w, b []float32, eps float64) (mean, rstd float32) {
	n := len(x)
	out, w, b = out[:n], w[:n], b[:n]
	if n == 0 {
		return 0, 0
	}
	if useVecAVX512 {
		sum, _ := lnStatsAVX512(&x[0], n, 0)
		mean = sum / float32(n)
		_, v2 := lnStatsAVX512(&x[0], n, mean)
		rstd = float32(1 / math.Sqrt(float64(v2/float32(n))+eps))
		lnApplyAVX512(&out[0], &x[0], &w[0], &b[0], n, mean, rstd)
		return mean, rstd
	}
	for _, v := range x {
		mean += v
	}
	mean /= float32(n)
	var v2 float32
	for _, v := range x {
		d := v - mean
		v2 += d * d
	}
	rstd = float32(1 / math.Sqrt(float64(v2/float32(n))+eps))
	for j, v := range x {
		out[j] = (v-mean)*rstd*w[j] + b[j]
	}
	return mean, rstd
}

// LayerNormBackward accumulates one row's gradients: dinp, dw and db from
// the output gradient g, given the row's x, w and its saved mean and rstd.
func LayerNormBackward(dinp, dw, db, g, x, w []float32, mean, rstd float32) {
	n := len(g)
	dinp, dw, db, x, w = dinp[:n], dw[:n], db[:n], x[:n], w[:n]
	if n == 0 {
		return
	}
	if useVecAVX512 {
		dn, dnn := lnBackDotsAVX512(&g[0], &x[0], &w[0], n, mean, rstd)
		lnBackApplyAVX512(&dinp[0], &dw[0], &db[0], &g[0], &x[0], &w[0], n, mean, rstd, dn/float32(n), dnn/float32(n))
		return
	}
	var dnormMean, dnormNormMean float32
	for j, gj := range g {
		nj := (x[j] - mean) * rstd
		d := w[j] * gj
		dnormMean += d
		dnormNormMean += d * nj
	}
	dnormMean /= float32(n)
	dnormNormMean /= float32(n)
	for j, gj := range g {
		nj := (x[j] - mean) * rstd
		d := w[j] * gj
		db[j] += gj
		dw[j] += nj * gj
		dinp[j] += (d - dnormMean - nj*dnormNormMean) * rstd
	}
}

// Add sets dst[i] += src[i] over len(src): residuals, biases, and summing
// gradients.
func Add(dst, src []float32) {
	dst = dst[:len(src)]
	if len(src) == 0 {
		return
	}
	if useVecAVX512 {
		addAVX512(&dst[0], &src[0], len(src))
		return
	}
	for i, v := range src {
		dst[i] += v
	}
}
