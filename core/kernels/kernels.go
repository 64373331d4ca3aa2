// Package kernels holds the float32 hot loops of the twig transformer:
// matrix products in llm.c's layout (weights stored [out, in]) and the small
// vector ops attention needs.
//
// Every fast kernel has a plain reference twin (suffix Ref) kept beside it
// and tested against it. On amd64 with AVX2+FMA the fast path calls
// github.com/viterin/vek/vek32 assembly; elsewhere (js, wasip1, arm64, old
// x86) it runs portable Go.
//
// Dimension letters: m rows of activations, k input features, n output
// features. All matrices are row-major.
//
// Machine peak (for reading the benchmark's GFLOP/s): cores × GHz × FMA ports
// × floats per vector × 2 flops per FMA. For this 2-core ~2.6 GHz box with
// AVX2: 2 × 2.6 × 2 × 8 × 2 ≈ 166 GFLOP/s (83 per core); AVX-512 doubles the
// vector width (≈ 333). vek's kernels reach about half a core's AVX2 peak.
package kernels

import "sync"

// Pool says how many goroutines a kernel may split its rows over, and keeps
// the small per-thread scratch the accumulating kernels need. The zero value
// is single-threaded. With Threads ≤ 1 calls run on the caller's goroutine
// and, after the first call, never allocate. A Pool is not safe for
// concurrent use: give each goroutine its own.
type Pool struct {
	Threads int // goroutines per kernel call; ≤ 1 means single-threaded

	scratch [][]float32 // [threads][...], grown on demand
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
	if p.Threads <= 1 {
		matMulAccTN(p.buf(0), dw, dout, a, m, n, k, 0, n)
		return
	}
	p.split(n, func(i, lo, hi int) { matMulAccTN(&p.scratch[i], dw, dout, a, m, n, k, lo, hi) })
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
