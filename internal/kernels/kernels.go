// Package kernels holds the float32 hot loops of the twig transformer:
// matrix products in llm.c's layout (weights stored [out, in]) and the
// vector ops around them (softmax, GELU, layernorm, adds).
//
// Every fast kernel has a plain reference twin (suffix Ref, or the
// portable path) kept beside it and tested against it. The three products
// (A·Bᵀ, A·B, Aᵀ·B) run as one packed, cache-blocked GEMM (gemm.go) whose
// micro-kernel is chosen once at start-up from the CPU's features: AVX-512
// (12×32 tiles, 8×32 for few rows) or AVX2+FMA (6×16) in generated Go
// assembly (gemm_amd64.s, from asmgen), else portable Go (wasm,
// arm64, old x86). Operands already laid out as the micro-kernel reads them
// (B row-major, A transposed or row-major) are read in place; the rest is
// packed. Products of fewer than gemmMinRows rows stay matrix-vector: vek's
// AVX2 kernels on amd64, Go elsewhere, or the packed panels of a PackedT.
// With AVX-512 the vector ops (vmath.go) are assembly too.
// The summation order differs from the row-by-row kernels, so results agree
// with them to rounding, not bit for bit; the paths also differ among
// themselves.
//
// Dimension letters: m rows of activations, k input features, n output
// features. All matrices are row-major.
//
// Machine peak (for reading the benchmark's GFLOP/s): BenchmarkPeak measures
// it with a register-only FMA loop per instruction set; nominally cores ×
// GHz × 2 FMA ports × floats per vector × 2 flops per FMA, e.g.
// 2 × 2.6 × 2 × 16 × 2 ≈ 333 GFLOP/s for this 2-core AVX-512 box (about
// 480 measured: it boosts past 2.6 GHz).
package kernels

import "sync"

// Pool says how many goroutines a kernel may split its rows over, and keeps
// the small per-thread scratch the accumulating kernels need. The zero value
// is single-threaded. With Threads ≤ 1 calls run on the caller's goroutine
// and, after the first call, never allocate. A Pool is not safe for
// concurrent use: give each goroutine its own.
type Pool struct {
	Threads int // goroutines per kernel call; ≤ 1 means single-threaded

	scratch [][]float32    // [threads][...], grown on demand
	job     gemmJob        // the product in flight, shared with the workers
	wg      sync.WaitGroup // the workers' shares of job
}

// buf makes sure thread i has a scratch slot and returns its address; the
// kernels grow it with grow.
func (p *Pool) buf(i int) *[]float32 {
	for len(p.scratch) <= i {
		p.scratch = append(p.scratch, nil)
	}
	return &p.scratch[i]
}

// grow returns (*s)[:n], reallocating when it is too short.
func grow(s *[]float32, n int) []float32 {
	if cap(*s) < n {
		*s = make([]float32, n)
	}
	return (*s)[:n]
}

// minRowsPerThread keeps small products on one goroutine: below it the
// spawn cost outweighs the work.
const minRowsPerThread = 16

// split runs f over [0, rows) in contiguous parts, one per thread.
func (p *Pool) split(rows int, f func(thread, lo, hi int)) {
	t := p.Threads
	if t > rows/minRowsPerThread {
		t = rows / minRowsPerThread
	}
	if t <= 1 {
		p.buf(0)
		f(0, 0, rows)
		return
	}
	var wg sync.WaitGroup
	per := (rows + t - 1) / t
	for i := 0; i < t; i++ {
		p.buf(i)
	}
	for i, lo := 0, 0; lo < rows; i, lo = i+1, lo+per {
		hi := min(lo+per, rows)
		wg.Add(1)
		go func() {
			defer wg.Done()
			f(i, lo, hi)
		}()
	}
	wg.Wait()
}

// MatMulT computes out[m×n] = a[m×k] · wᵀ, where w is [n×k]
// (llm.c matmul_forward without bias). out is overwritten.
func (p *Pool) MatMulT(out, a, w []float32, m, k, n int) {
	_ = out[m*n-1]
	_ = a[m*k-1]
	_ = w[n*k-1]
	if kern != nil && m >= gemmMinRows {
		p.gemm(kern, m, n, k, a, k, 1, w, 1, k, out, n, false)
		return
	}
	if p.Threads <= 1 {
		matMulT(out, a, w, 0, m, k, n)
		return
	}
	p.split(m, func(_, lo, hi int) { matMulT(out, a, w, lo, hi, k, n) })
}

// MatMulAcc accumulates dinp[m×k] += dout[m×n] · w[n×k]
// (the input gradient of MatMulT).
func (p *Pool) MatMulAcc(dinp, dout, w []float32, m, n, k int) {
	_ = dinp[m*k-1]
	_ = dout[m*n-1]
	_ = w[n*k-1]
	if kern != nil && m >= gemmMinRows {
		p.gemm(kern, m, k, n, dout, n, 1, w, k, 1, dinp, k, true)
		return
	}
	if p.Threads <= 1 {
		matMulAcc(p.buf(0), dinp, dout, w, 0, m, n, k)
		return
	}
	p.split(m, func(i, lo, hi int) { matMulAcc(&p.scratch[i], dinp, dout, w, lo, hi, n, k) })
}

// MatMulAccTN accumulates dw[n×k] += doutᵀ[n×m] · a[m×k]
// (the weight gradient of MatMulT). Threads split the n rows of dw.
func (p *Pool) MatMulAccTN(dw, dout, a []float32, m, n, k int) {
	_ = dw[n*k-1]
	_ = dout[m*n-1]
	_ = a[m*k-1]
	if kern != nil {
		p.gemm(kern, n, k, m, dout, 1, n, a, k, 1, dw, k, true)
		return
	}
	if p.Threads <= 1 {
		matMulAccTN(p.buf(0), dw, dout, a, m, n, k, 0, n)
		return
	}
	p.split(n, func(i, lo, hi int) { matMulAccTN(&p.scratch[i], dw, dout, a, m, n, k, lo, hi) })
}

// MatMul computes out[m×n] = a[m×k]·b for b holding k rows of n columns,
// ldb apart (ldb ≥ n): a row-major B read in place, so a product against
// a transposed operand kept as [k][ldb] (attention's keys and values, per
// head and document) needs no packing per call. out is overwritten. Keep
// ldb·4 bytes off multiples of 4 KiB: rows that far apart share cache sets.
func (p *Pool) MatMul(out, a, b []float32, m, k, n, ldb int) {
	if m == 0 || n == 0 {
		return
	}
	_ = out[m*n-1]
	if k == 0 {
		clear(out[:m*n])
		return
	}
	_ = a[m*k-1]
	_ = b[(k-1)*ldb+n-1]
	switch {
	case kern != nil && m >= gemmMinRows:
		p.gemm(kern, m, n, k, a, k, 1, b, ldb, 1, out, n, false)
	case kern == nil: // the row-by-row path as it was: w = bᵀ, one matvec a row
		w := grow(p.buf(0), n*k)
		for l := 0; l < k; l++ {
			for j, v := range b[l*ldb : l*ldb+n] {
				w[j*k+l] = v
			}
		}
		matMulT(out, a, w, 0, m, k, n)
	default:
		for i := 0; i < m; i++ {
			VecMat(out[i*n:i*n+n], a[i*k:i*k+k], b, k, n, ldb)
		}
	}
}

// MatMulRef is the plain reference for MatMul.
func MatMulRef(out, a, b []float32, m, k, n, ldb int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for l := 0; l < k; l++ {
				s += a[i*k+l] * b[l*ldb+j]
			}
			out[i*n+j] = s
		}
	}
}

// MatMulTRef is the plain reference for MatMulT.
func MatMulTRef(out, a, w []float32, m, k, n int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s float32
			for l := 0; l < k; l++ {
				s += a[i*k+l] * w[j*k+l]
			}
			out[i*n+j] = s
		}
	}
}

// MatMulAccRef is the plain reference for MatMulAcc.
func MatMulAccRef(dinp, dout, w []float32, m, n, k int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			d := dout[i*n+j]
			for l := 0; l < k; l++ {
				dinp[i*k+l] += d * w[j*k+l]
			}
		}
	}
}

// MatMulAccTNRef is the plain reference for MatMulAccTN.
func MatMulAccTNRef(dw, dout, a []float32, m, n, k int) {
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			d := dout[i*n+j]
			for l := 0; l < k; l++ {
				dw[j*k+l] += d * a[i*k+l]
			}
		}
	}
}
