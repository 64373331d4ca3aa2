//go:build amd64

package kernels

import (
	"github.com/viterin/vek/vek32"
	"golang.org/x/sys/cpu"
)

// useVek is fixed at start-up: vek's assembly needs AVX2 and FMA.
var useVek = cpu.X86.HasAVX2 && cpu.X86.HasFMA

func vekDot(x, y []float32) float32 { return vek32.Dot(x, y) }

const (
	// vekRows is the most rows handed to vek32.MatMul_Into per call: with
	// fewer than 4 rows vek never spawns its own goroutines (which would
	// allocate and ignore Pool.Threads).
	vekRows = 3
	// mBlock rows of a are walked at a time by matMulAccTN (fits L2).
	mBlock = 256
	// transposeRows: from this many rows on, matMulAcc transposes w once and
	// runs matrix-vector products (vek's fastest kernel); below it, small
	// direct products.
	transposeRows = 16
)

// matMulT computes rows [lo,hi) of out = a·wᵀ: one vek matrix-vector product
// per row (w is already [n×k], the matvec layout).
func matMulT(out, a, w []float32, lo, hi, k, n int) {
	if !useVek {
		matMulTGo(out, a, w, lo, hi, k, n)
		return
	}
	for i := lo; i < hi; i++ {
		vek32.MatMul_Into(out[i*n:i*n+n], w[:n*k], a[i*k:i*k+k], k)
	}
}

// matMulAcc computes rows [lo,hi) of dinp += dout·w. For many rows it
// transposes w to wT[k×n] in scratch and does one matvec per row; for few it
// multiplies vekRows rows at a time. Either way into scratch, then adds.
func matMulAcc(scratch *[]float32, dinp, dout, w []float32, lo, hi, n, k int) {
	if !useVek {
		matMulAccGo(dinp, dout, w, lo, hi, n, k)
		return
	}
	if hi-lo >= transposeRows {
		buf := grow(scratch, n*k+k)
		wT, tmp := buf[:n*k], buf[n*k:]
		transpose(wT, w, n, k)
		for i := lo; i < hi; i++ {
			vek32.MatMul_Into(tmp, wT, dout[i*n:i*n+n], n)
			vek32.Add_Inplace(dinp[i*k:i*k+k], tmp)
		}
		return
	}
	tmp := grow(scratch, vekRows*k)
	for i := lo; i < hi; i += vekRows {
		r := min(vekRows, hi-i)
		t := tmp[:r*k]
		vek32.MatMul_Into(t, dout[i*n:(i+r)*n], w[:n*k], n)
		vek32.Add_Inplace(dinp[i*k:(i+r)*k], t)
	}
}

// matMulAccTN computes rows [jlo,jhi) of dw += doutᵀ·a. It walks a in blocks
// of mBlock rows (kept in cache) and, per block, vekRows rows of dw at a time:
// gather those dout columns, multiply by the a block into scratch, add.
func matMulAccTN(scratch *[]float32, dw, dout, a []float32, m, n, k, jlo, jhi int) {
	if !useVek {
		matMulAccTNGo(dw, dout, a, m, n, k, jlo, jhi)
		return
	}
	buf := grow(scratch, vekRows*k+vekRows*mBlock)
	tmp, col := buf[:vekRows*k], buf[vekRows*k:]
	for i0 := 0; i0 < m; i0 += mBlock {
		mb := min(mBlock, m-i0)
		for j := jlo; j < jhi; j += vekRows {
			r := min(vekRows, jhi-j)
			c := col[:r*mb]
			for jj := 0; jj < r; jj++ {
				cr := c[jj*mb : jj*mb+mb]
				for i := range cr {
					cr[i] = dout[(i0+i)*n+j+jj]
				}
			}
			t := tmp[:r*k]
			vek32.MatMul_Into(t, c, a[i0*k:(i0+mb)*k], mb)
			vek32.Add_Inplace(dw[j*k:(j+r)*k], t)
		}
	}
}

// transpose writes dst[c×r] = srcᵀ for src[r×c], in 8×8 tiles.
func transpose(dst, src []float32, r, c int) {
	const tile = 8
	for i0 := 0; i0 < r; i0 += tile {
		i1 := min(i0+tile, r)
		for j0 := 0; j0 < c; j0 += tile {
			j1 := min(j0+tile, c)
			for i := i0; i < i1; i++ {
				for j := j0; j < j1; j++ {
					dst[j*r+i] = src[i*c+j]
				}
			}
		}
	}
}
