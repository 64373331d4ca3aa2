package nn

import (
	"math"

	"github.com/twig-project/twig/internal/kernels"
)

// ----------------------------------------------------------------------------
// embedding

// encoderForward: out[N,C] = wte[tok] + wpe[pos] + wrow[row] + wcol[col].
func encoderForward(out []float32, tok, pos, row, col []int32, wte, wpe, wrow, wcol []float32, N, C int) {
	for i := 0; i < N; i++ {
		o := out[i*C : i*C+C]
		t, p := wte[int(tok[i])*C:][:C], wpe[int(pos[i])*C:][:C]
		r, c := wrow[int(row[i])*C:][:C], wcol[int(col[i])*C:][:C]
		for j := range o {
			o[j] = t[j] + p[j] + r[j] + c[j]
		}
	}
}

// encoderBackward accumulates dout[N,C] into the four embedding tables.
func encoderBackward(dwte, dwpe, dwrow, dwcol, dout []float32, tok, pos, row, col []int32, N, C int) {
	for i := 0; i < N; i++ {
		d := dout[i*C : i*C+C]
		t, p := dwte[int(tok[i])*C:][:C], dwpe[int(pos[i])*C:][:C]
		r, c := dwrow[int(row[i])*C:][:C], dwcol[int(col[i])*C:][:C]
		for j, g := range d {
			t[j] += g
			p[j] += g
			r[j] += g
			c[j] += g
		}
	}
}

// ----------------------------------------------------------------------------
// layernorm

const lnEps = 1e-5

// layernormForward: out[N,C] = (inp-mean)*rstd*weight + bias; saves mean[N], rstd[N].
func layernormForward(out, mean, rstd, inp, weight, bias []float32, N, C int) {
	weight, bias = weight[:C], bias[:C]
	for i := 0; i < N; i++ {
		mean[i], rstd[i] = kernels.LayerNorm(out[i*C:i*C+C], inp[i*C:i*C+C], weight, bias, lnEps)
	}
}

// layernormBackward accumulates dinp[N,C], dweight[C], dbias[C] from dout[N,C].
func layernormBackward(dinp, dweight, dbias, dout, inp, weight, mean, rstd []float32, N, C int) {
	weight, dweight, dbias = weight[:C], dweight[:C], dbias[:C]
	for i := 0; i < N; i++ {
		kernels.LayerNormBackward(dinp[i*C:i*C+C], dweight, dbias, dout[i*C:i*C+C], inp[i*C:i*C+C], weight, mean[i], rstd[i])
	}
}

// ----------------------------------------------------------------------------
// matmul

// matmulForward: out[N,OC] = inp[N,C] · weight[OC,C]ᵀ + bias[OC] (bias may be nil).
func matmulForward(pool *kernels.Pool, out, inp, weight, bias []float32, N, C, OC int) {
	pool.MatMulT(out, inp, weight, N, C, OC)
	if bias == nil {
		return
	}
	bias = bias[:OC]
	for i := 0; i < N; i++ {
		kernels.Add(out[i*OC:i*OC+OC], bias)
	}
}

// matmulBackward sets dinp[N,C] and accumulates dweight[OC,C] and
// dbias[OC] (may be nil) from dout[N,OC]. dinp is written, not added to:
// every input gradient here is a fresh buffer, and clearing it first cost
// a pass over up to N×4C floats.
func matmulBackward(pool *kernels.Pool, dinp, dweight, dbias, dout, inp, weight []float32, N, C, OC int) {
	pool.MatMul(dinp, dout, weight, N, OC, C, C)
	pool.MatMulAccTN(dweight, dout, inp, N, OC, C)
	if dbias == nil {
		return
	}
	dbias = dbias[:OC]
	for i := 0; i < N; i++ {
		kernels.Add(dbias, dout[i*OC:i*OC+OC])
	}
}

// ----------------------------------------------------------------------------
// gelu (tanh approximation)

// geluForward: out[n] = gelu(inp[n]).
func geluForward(out, inp []float32, n int) { kernels.Gelu(out[:n], inp[:n]) }

// geluBackward accumulates dinp[n] from dout[n].
func geluBackward(dinp, inp, dout []float32, n int) {
	kernels.GeluBackward(dinp[:n], inp[:n], dout[:n])
}

// ----------------------------------------------------------------------------
// residual

// residualForward: out[n] = a[n] + b[n].
func residualForward(out, a, b []float32, n int) {
	copy(out[:n], a[:n])
	kernels.Add(out[:n], b[:n])
}

// ----------------------------------------------------------------------------
// softmax + cross-entropy

// softmaxCrossEntropyForward turns logits[N,V] into probs[N,V] (may alias) and
// returns Σ_i scale·w[i]·(-log probs[i,target[i]]). Rows with w=0 are still
// normalised (cheap, keeps probs valid) but add nothing.
func softmaxCrossEntropyForward(probs, logits []float32, targets []int32, weights []float32, scale float32, N, V int) float64 {
	var loss float64
	for i := 0; i < N; i++ {
		softmax(probs[i*V:i*V+V], logits[i*V:i*V+V])
		if w := weights[i]; w != 0 {
			p := float64(probs[i*V+int(targets[i])])
			loss -= float64(scale*w) * math.Log(math.Max(p, 1e-30))
		}
	}
	return loss
}

// softmaxCrossEntropyBackward accumulates dlogits[N,V] += scale·w·(probs - onehot(target)).
func softmaxCrossEntropyBackward(dlogits, probs []float32, targets []int32, weights []float32, scale float32, N, V int) {
	for i := 0; i < N; i++ {
		w := scale * weights[i]
		if w == 0 {
			continue
		}
		d, p := dlogits[i*V:i*V+V], probs[i*V:i*V+V]
		for j, pj := range p {
			d[j] += w * pj
		}
		d[targets[i]] -= w
	}
}

// softmax: out[n] = exp(x-max)/Σ; out may alias x.
func softmax(out, x []float32) {
	out = out[:len(x)]
	if len(x) > 0 && &out[0] != &x[0] {
		copy(out, x)
	}
	kernels.Softmax(out, 1)
}
