package kernels

// Half-precision weights for one-row products. Decoding one sequence does
// a matrix-vector product per weight matrix per token, so every token
// streams all the weights once; the shipped model's 3.3 MB of float32
// matrices do not fit a core's L2 and come from the L3 each time, which
// bounds the token's time by bandwidth, not by arithmetic. Halves (IEEE
// binary16, rounded to nearest as F32ToF16 does: at most 2⁻¹¹ relative
// error a weight) are half the bytes; the products widen them exactly
// (VCVTPH2PS) and sum in float32, so only the weights' rounding differs
// from a float32 product.

// HalfT is a weight matrix w[n×k] rounded to halves and packed for
// products out = x·wᵀ of one row x (MatVecHalf): panels of 32 rows of w,
// each stored transposed as [k][32] halves (zero past row n-1), so that a
// product streams the whole matrix once, front to back, 32 outputs at a
// time. It holds no reference to w: after w changes, pack it again.
type HalfT struct {
	k, n int
	data []uint16 // [(n+31)/32][k][32]
}

// halfPanel is the number of rows of w a HalfT panel holds (the outputs a
// kernel call computes: two AVX-512 vectors of float32).
const halfPanel = 32

// PackHalfT rounds w[n×k] to halves and packs it.
func PackHalfT(w []float32, n, k int) *HalfT {
	if n < 0 || k < 0 {
		panic("kernels.PackHalfT: negative size")
	}
	w = w[:n*k]
	np := (n + halfPanel - 1) / halfPanel
	h := &HalfT{k: k, n: n, data: make([]uint16, np*k*halfPanel)}
	tmp := make([]float32, k*halfPanel)
	for p := 0; p < np; p++ {
		clear(tmp)
		for j := 0; j < halfPanel && p*halfPanel+j < n; j++ {
			row := w[(p*halfPanel+j)*k : (p*halfPanel+j+1)*k]
			for l, v := range row {
				tmp[l*halfPanel+j] = v
			}
		}
		F32ToF16(h.data[p*k*halfPanel:(p+1)*k*halfPanel], tmp)
	}
	return h
}

// Dims returns the matrix's n (rows of w, outputs) and k (inputs).
func (h *HalfT) Dims() (n, k int) { return h.n, h.k }

// Weight returns w[i][l] as stored (rounded to a half, widened).
func (h *HalfT) Weight(i, l int) float32 {
	if i < 0 || i >= h.n || l < 0 || l >= h.k {
		panic("kernels.HalfT.Weight: index out of range")
	}
	p, j := i/halfPanel, i%halfPanel
	return FromHalf(h.data[(p*h.k+l)*halfPanel+j])
}

// MatVecHalf sets out[n] = w·x[k] for the half-precision w: the sums are
// float32 (in another order than MatMulT's, so the results agree with a
// float32 product over the widened halves to rounding). With AVX-512, or
// AVX2 and F16C, it is assembly; elsewhere portable Go widening the halves
// through a table.
func MatVecHalf(out, x []float32, w *HalfT) {
	k, n := w.k, w.n
	if n == 0 {
		return
	}
	out = out[:n]
	if k == 0 {
		clear(out)
		return
	}
	x = x[:k]
	d := w.data
	const P = halfPanel
	if useVecAVX512 {
		np := (n + P - 1) / P
		matVecHAVX512(&x[0], &d[0], &out[0], k, np, uint32(1<<(n-(np-1)*P)-1))
		return
	}
	j := 0
	if useHalfAVX2 {
		for ; j+P <= n; j += P {
			vecMatH32AVX2(&x[0], &d[j*k], &out[j], k, P)
		}
		if j < n { // the last, partial panel: whole into a temporary
			var tmp [P]float32
			vecMatH32AVX2(&x[0], &d[j*k], &tmp[0], k, P)
			copy(out[j:], tmp[:n-j])
		}
		return
	}
	// Portable: halves widened through the table the cache kernels use
	// (measured natively on the shipped shapes: within 5 % of the float32
	// Go product; widening in registers by bit moves was 3× slower).
	tbl := halfTable()
	for ; j < n; j += P {
		var acc [P]float32
		panel := d[j*k : (j+P)*k]
		// Four outputs at a time, each a dot product down the panel's
		// column: the sums stay in registers (an axpy over all 32 would
		// load and store them every step).
		for c := 0; c < min(P, n-j); c += 4 {
			var s0, s1, s2, s3 float32
			for l, v := range x {
				r := (*[4]uint16)(panel[l*P+c:])
				s0 += v * tbl[r[0]]
				s1 += v * tbl[r[1]]
				s2 += v * tbl[r[2]]
				s3 += v * tbl[r[3]]
			}
			acc[c], acc[c+1], acc[c+2], acc[c+3] = s0, s1, s2, s3
		}
		copy(out[j:], acc[:min(P, n-j)])
	}
}

// MatMulTHalf computes out[m×n] = a[m×k]·wᵀ for the half-precision w, as
// MatVecHalf does for each row. With AVX-512 the rows go through the GEMM
// micro-kernels reading w's panels in place, widening each row of halves
// once for 8 or 12 rows of a (so the weights are streamed once for all m
// rows), the panels split over the Pool's threads; elsewhere it is
// MatVecHalf row by row. On one thread it allocates nothing after the
// first call.
func (p *Pool) MatMulTHalf(out, a []float32, m int, w *HalfT) {
	k, n := w.k, w.n
	if m == 0 || n == 0 {
		return
	}
	out = out[:m*n]
	if k == 0 {
		clear(out)
		return
	}
	a = a[:m*k]
	if !useVecAVX512 || m < gemmMinRows {
		for i := 0; i < m; i++ {
			MatVecHalf(out[i*n:i*n+n], a[i*k:i*k+k], w)
		}
		return
	}
	np := (n + halfPanel - 1) / halfPanel
	t := min(max(p.Threads, 1), np, m*n*k/minWorkPerThread)
	if t <= 1 {
		matMulTHalfPanels(out, a, m, w, 0, np, p.buf(0))
		return
	}
	p.matMulTHalfThreads(out, a, m, w, np, t)
}

// matMulTHalfThreads splits MatMulTHalf's panels over t goroutines (kept
// out of MatMulTHalf: the goroutines' captures would move its variables
// to the heap on the one-thread path too).
func (p *Pool) matMulTHalfThreads(out, a []float32, m int, w *HalfT, np, t int) {
	per := (np + t - 1) / t
	for i := 0; i < t; i++ {
		p.buf(i)
	}
	for i := 1; i*per < np; i++ {
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			matMulTHalfPanels(out, a, m, w, i*per, min((i+1)*per, np), &p.scratch[i])
		}()
	}
	matMulTHalfPanels(out, a, m, w, 0, min(per, np), &p.scratch[0])
	p.wg.Wait()
}

// matMulTHalfPanels is MatMulTHalf's AVX-512 product for panels [p0,p1)
// of w (outputs [32·p0, 32·p1)), with buf the thread's scratch.
func matMulTHalfPanels(out, a []float32, m int, w *HalfT, p0, p1 int, buf *[]float32) {
	k, n := w.k, w.n
	const P = halfPanel
	mr, fn := 12, gemmAVX512RowAH
	if m <= 64 && (m+7)/8*8 < (m+11)/12*12 { // 8-row tiles pad less (as forRows)
		mr, fn = 8, gemmAVX512x8RowAH
	}
	full := m / mr * mr
	var edgeA, tmp []float32
	if full < m || n%P != 0 {
		s := grow(buf, mr*k+mr*P)
		edgeA, tmp = s[:mr*k], s[mr*k:]
		if full < m { // the last rows, zero-padded to a whole tile
			copy(edgeA, a[full*k:])
			clear(edgeA[(m-full)*k:])
		}
	}
	d := w.data
	for j := p0 * P; j < min(p1*P, n); j += P {
		panel := &d[j*k]
		nb := min(P, n-j)
		for i := 0; i < m; i += mr {
			if i < full && nb == P {
				fn(k, &a[i*k], k, panel, P, &out[i*n+j], n, false)
				continue
			}
			// An edge tile: compute it whole aside, keep the valid part.
			src := a[i*k:]
			if i >= full {
				src = edgeA
			}
			fn(k, &src[0], k, panel, P, &tmp[0], P, false)
			for r := i; r < min(i+mr, m); r++ {
				copy(out[r*n+j:r*n+j+nb], tmp[(r-i)*P:])
			}
		}
	}
}
