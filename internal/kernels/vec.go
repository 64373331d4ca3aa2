package kernels

// Dot returns Σ x[i]·y[i] over len(x) elements (y at least as long).
func Dot(x, y []float32) float32 {
	if len(x) == 0 {
		return 0
	}
	if useVek && len(x) >= 16 {
		return vekDot(x, y[:len(x)])
	}
	return dotGo(x, y)
}

// Axpy computes y[i] += a·x[i] over len(x) elements.
func Axpy(y, x []float32, a float32) {
	y = y[:len(x)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
		ys[0] += a * xs[0]
		ys[1] += a * xs[1]
		ys[2] += a * xs[2]
		ys[3] += a * xs[3]
		ys[4] += a * xs[4]
		ys[5] += a * xs[5]
		ys[6] += a * xs[6]
		ys[7] += a * xs[7]
	}
	for ; i < len(x); i++ {
		y[i] += a * x[i]
	}
}

// dotGo is the portable Dot: four partial sums break the add dependency chain.
func dotGo(x, y []float32) float32 {
	y = y[:len(x)]
	var s0, s1, s2, s3 float32
	i := 0
	for ; i+4 <= len(x); i += 4 {
		xs, ys := x[i:i+4:i+4], y[i:i+4:i+4]
		s0 += xs[0] * ys[0]
		s1 += xs[1] * ys[1]
		s2 += xs[2] * ys[2]
		s3 += xs[3] * ys[3]
	}
	for ; i < len(x); i++ {
		s0 += x[i] * y[i]
	}
	return (s0 + s1) + (s2 + s3)
}

// matMulTGo computes rows [lo,hi) of out = a·wᵀ in portable Go, four output
// columns at a time so each a row is read once per four w rows.
func matMulTGo(out, a, w []float32, lo, hi, k, n int) {
	for i := lo; i < hi; i++ {
		ar := a[i*k : i*k+k]
		or := out[i*n : i*n+n]
		j := 0
		for ; j+4 <= n; j += 4 {
			w0 := w[j*k : j*k+k]
			w1 := w[(j+1)*k : (j+1)*k+k]
			w2 := w[(j+2)*k : (j+2)*k+k]
			w3 := w[(j+3)*k : (j+3)*k+k]
			var s0, s1, s2, s3 float32
			for l, x := range ar {
				s0 += x * w0[l]
				s1 += x * w1[l]
				s2 += x * w2[l]
				s3 += x * w3[l]
			}
			or[j], or[j+1], or[j+2], or[j+3] = s0, s1, s2, s3
		}
		for ; j < n; j++ {
			or[j] = dotGo(ar, w[j*k:j*k+k])
		}
	}
}

// matMulAccGo computes rows [lo,hi) of dinp += dout·w in portable Go.
func matMulAccGo(dinp, dout, w []float32, lo, hi, n, k int) {
	for i := lo; i < hi; i++ {
		dr := dinp[i*k : i*k+k]
		for j, d := range dout[i*n : i*n+n] {
			if d != 0 {
				Axpy(dr, w[j*k:j*k+k], d)
			}
		}
	}
}

// matMulAccTNGo computes rows [jlo,jhi) of dw += doutᵀ·a in portable Go.
func matMulAccTNGo(dw, dout, a []float32, m, n, k, jlo, jhi int) {
	for i := 0; i < m; i++ {
		ar := a[i*k : i*k+k]
		drow := dout[i*n : i*n+n]
		for j := jlo; j < jhi; j++ {
			if d := drow[j]; d != 0 {
				Axpy(dw[j*k:j*k+k], ar, d)
			}
		}
	}
}
