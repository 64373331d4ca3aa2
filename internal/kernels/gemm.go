package kernels

import (
	"fmt"
	"sync"
	"sync/atomic"
	"unsafe"
)

// The matrix products run as one packed, cache-blocked GEMM (the BLIS
// scheme): C[M×N] (+)= A[M×K]·B[K×N], where A and B are read through row and
// column strides so the three layouts training needs (A·Bᵀ, A·B, Aᵀ·B) are
// the same code. Per block of kc steps of K and nc columns of N, the B block
// is packed into nr-wide panels (kept in L2), then for each mr rows of A a
// packed micro-panel (kept in L1) meets every B panel in the micro-kernel,
// which keeps an mr×nr tile of C in registers for all kc steps.
const (
	kc = 256 // K block: an A micro-panel of kc×mr floats stays in L1
	nc = 512 // N block: a packed B block of kc×nc floats (512 KiB) stays in L2
)

// microKernel is one instruction set's inner kernel: fn computes the mr×nr
// tile c (row stride ldc) = or += Σ_l a[l*lda+i]·b[l*ldb+j] over kc steps,
// reading packed panels (lda = mr, ldb = nr) or the operands in place when
// their layout already is a panel's: a B stored row-major (every full
// nr-column panel) and an A stored transposed (every full mr-row panel).
type microKernel struct {
	name   string
	mr, nr int
	fn     func(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, acc bool)
	// fnRowA, when not nil, is fn reading a row-major A in place: row i of
	// the micro-panel at a[i*lda:], so full panels of A·B and A·Bᵀ skip
	// packing A too.
	fnRowA func(kc int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, acc bool)
}

// goKernel is the portable micro-kernel (wasm, other CPUs).
var goKernel = &microKernel{name: "go", mr: 4, nr: 8, fn: gemmGo}

// kern is the micro-kernel chosen at start-up from the CPU's features (see
// init in gemm_amd64.go); nil means the legacy row-by-row kernels (vek on
// amd64), kept for side-by-side benchmarks.
var kern = goKernel

// gemmMinRows: below this many rows of C a product stays matrix-vector
// (packing the other operand would cost more than it saves).
const gemmMinRows = 4

// gemmJob is one product, stored in the Pool so the threads can share it
// without allocating.
type gemmJob struct {
	k        *microKernel
	M, N, K  int
	a        []float32
	rsA, csA int
	b        []float32
	rsB, csB int
	c        []float32
	ldc      int
	kc       int       // K block (kc, or a PackedT's)
	bPacked  []float32 // B already packed (PackedT): blocks [K/kc][npad/nr][kb][nr]
	npad     int       // N rounded up to nr, the row length of bPacked's blocks
	acc      bool      // C += A·B; otherwise C = A·B
	splitN   bool      // threads split the columns of C; otherwise its rows
}

// task is one thread's share of a gemmJob.
type task struct {
	job    *gemmJob
	buf    *[]float32
	lo, hi int
	wg     *sync.WaitGroup
}

// The worker goroutines are shared by every Pool: a caller runs its own
// share and hands the rest over workCh. Workers are started on demand and
// never exit (there are at most max(Threads)-1 of them).
var (
	workCh     = make(chan task, 64)
	workersMu  sync.Mutex
	numWorkers atomic.Int32
)

func ensureWorkers(n int) {
	if int(numWorkers.Load()) >= n {
		return
	}
	workersMu.Lock()
	defer workersMu.Unlock()
	for int(numWorkers.Load()) < n {
		go func() {
			for t := range workCh {
				gemmPart(t.job, t.buf, t.lo, t.hi)
				t.wg.Done()
			}
		}()
		numWorkers.Add(1)
	}
}

// minWorkPerThread (multiply-adds) keeps small products on one thread:
// below it the hand-over costs more than the second core saves.
const minWorkPerThread = 1 << 18

// gemm runs one product over the Pool's threads.
func (p *Pool) gemm(k *microKernel, M, N, K int, a []float32, rsA, csA int, b []float32, rsB, csB int, c []float32, ldc int, acc bool) {
	p.gemmPacked(k, M, N, K, a, rsA, csA, b, rsB, csB, nil, c, ldc, acc)
}

// gemmPacked is gemm with B optionally packed already (bPacked, for k).
func (p *Pool) gemmPacked(k *microKernel, M, N, K int, a []float32, rsA, csA int, b []float32, rsB, csB int, bPacked []float32, c []float32, ldc int, acc bool) {
	if M == 0 || N == 0 {
		return
	}
	if K == 0 {
		if !acc {
			for i := 0; i < M; i++ {
				clear(c[i*ldc : i*ldc+N])
			}
		}
		return
	}
	k = forRows(k, M)
	j := &p.job
	*j = gemmJob{k: k, M: M, N: N, K: K, a: a, rsA: rsA, csA: csA, b: b, rsB: rsB, csB: csB, c: c, ldc: ldc, acc: acc, kc: kc}
	if bPacked != nil {
		j.bPacked, j.npad, j.kc = bPacked, (N+k.nr-1)/k.nr*k.nr, packedKC(K)
	}
	t := p.Threads
	// Split the dimension with more tiles; packing is repeated along the
	// other one, so split rows when there are more rows than columns.
	dim, unit := M, k.mr
	if N > M {
		dim, unit, j.splitN = N, k.nr, true
	}
	t = min(t, (dim+unit-1)/unit, M*N*K/minWorkPerThread)
	if t <= 1 {
		gemmPart(j, p.buf(0), 0, dim)
		*j = gemmJob{}
		return
	}
	for i := 0; i < t; i++ {
		p.buf(i)
	}
	ensureWorkers(t - 1)
	per := ((dim+t-1)/t + unit - 1) / unit * unit
	parts := 0
	for lo := per; lo < dim; lo += per {
		parts++
	}
	p.wg.Add(parts)
	for i, lo := 1, per; lo < dim; i, lo = i+1, lo+per {
		workCh <- task{job: j, buf: &p.scratch[i], lo: lo, hi: min(lo+per, dim), wg: &p.wg}
	}
	gemmPart(j, &p.scratch[0], 0, min(per, dim))
	p.wg.Wait()
	*j = gemmJob{} // drop the references to the caller's slices
}

// gemmPart computes rows (or columns, with splitN) [lo,hi) of the job's C.
func gemmPart(j *gemmJob, buf *[]float32, lo, hi int) {
	k := j.k
	mr, nr := k.mr, k.nr
	m0, m1, n0, n1 := lo, hi, 0, j.N
	if j.splitN {
		m0, m1, n0, n1 = 0, j.M, lo, hi
	}
	kc := j.kc
	kb0 := min(kc, j.K)
	nb0 := (min(nc, n1-n0) + nr - 1) / nr * nr
	if j.bPacked != nil {
		nb0 = 0
	}
	s := grow(buf, kb0*nb0+kb0*mr+mr*nr)
	bp, ap, tmp := s[:kb0*nb0], s[kb0*nb0:kb0*nb0+kb0*mr], s[kb0*nb0+kb0*mr:]
	// Operands already laid out as panels are read in place: B row-major
	// (full panels; the edge panel is packed) and A transposed (full
	// micro-panels). Packing them would be a plain copy.
	directB := j.bPacked == nil && j.csB == 1
	directA := j.rsA == 1
	rowA := j.csA == 1 && k.fnRowA != nil
	for pc := 0; pc < j.K; pc += kc {
		kb := min(kc, j.K-pc)
		acc := j.acc || pc > 0
		for jc := n0; jc < n1; jc += nc {
			nb := min(nc, n1-jc)
			edge := nb / nr * nr // first column of the edge panel, if any
			switch {
			case j.bPacked != nil:
				bp = j.bPacked[pc*j.npad+jc*kb:]
			case directB:
				if edge < nb {
					packB(bp[edge*kb:], j, pc, kb, jc+edge, nb-edge, nr)
				}
			default:
				packB(bp, j, pc, kb, jc, nb, nr)
			}
			for ir := m0; ir < m1; ir += mr {
				mb := min(mr, m1-ir)
				a, lda, fn := &ap[0], mr, k.fn
				switch {
				case directA && mb == mr:
					a, lda = &j.a[pc*j.csA+ir], j.csA
				case rowA && mb == mr:
					a, lda, fn = &j.a[ir*j.rsA+pc], j.rsA, k.fnRowA
				default:
					packA(ap, j, ir, mb, pc, kb, mr)
				}
				for jr := 0; jr < nb; jr += nr {
					nbr := min(nr, nb-jr)
					panel, ldb := &bp[jr*kb], nr
					if directB && jr < edge {
						panel, ldb = &j.b[pc*j.rsB+jc+jr], j.rsB
					}
					if mb == mr && nbr == nr {
						fn(kb, a, lda, panel, ldb, &j.c[ir*j.ldc+jc+jr], j.ldc, acc)
						continue
					}
					// Edge tile: compute the full tile aside, keep the valid part.
					fn(kb, a, lda, panel, ldb, &tmp[0], nr, false)
					for ii := 0; ii < mb; ii++ {
						row := j.c[(ir+ii)*j.ldc+jc+jr:][:nbr]
						t := tmp[ii*nr : ii*nr+nbr]
						if acc {
							for x, v := range t {
								row[x] += v
							}
						} else {
							copy(row, t)
						}
					}
				}
			}
		}
	}
}

// packA packs rows [i0,i0+mb) × columns [l0,l0+kb) of A as dst[l*mr+i],
// zero-padding the rows past mb.
func packA(dst []float32, j *gemmJob, i0, mb, l0, kb, mr int) {
	dst = dst[:kb*mr]
	switch {
	case j.csA == 1 && mb == 12 && mr == 12:
		packA12(dst, j.a[i0*j.rsA+l0:], j.rsA, kb)
	case j.csA == 1 && mb == 8 && mr == 8:
		packA8(dst, j.a[i0*j.rsA+l0:], j.rsA, kb)
	case j.csA == 1:
		for ii := 0; ii < mb; ii++ {
			row := j.a[(i0+ii)*j.rsA+l0:][:kb]
			for l, v := range row {
				dst[l*mr+ii] = v
			}
		}
		for ii := mb; ii < mr; ii++ {
			for l := 0; l < kb; l++ {
				dst[l*mr+ii] = 0
			}
		}
	case j.rsA == 1:
		for l := 0; l < kb; l++ {
			d := dst[l*mr : l*mr+mr]
			copy(d, j.a[(l0+l)*j.csA+i0:][:mb])
			clear(d[mb:])
		}
	default:
		panic("kernels: packA needs a unit stride")
	}
}

// packB packs rows [l0,l0+kb) × columns [j0,j0+nb) of B as nr-wide panels,
// panel p at dst[p*kb*nr:] laid out [l][nr], zero-padding past nb.
func packB(dst []float32, j *gemmJob, l0, kb, j0, nb, nr int) {
	for jr := 0; jr < nb; jr += nr {
		nbr := min(nr, nb-jr)
		d := dst[jr*kb : jr*kb+kb*nr]
		switch {
		case j.csB == 1:
			for l := 0; l < kb; l++ {
				dl := d[l*nr : l*nr+nr]
				copy(dl, j.b[(l0+l)*j.rsB+j0+jr:][:nbr])
				clear(dl[nbr:])
			}
		case j.rsB == 1 && nr == 32 && nbr == 32:
			packBT32(d, j.b[(j0+jr)*j.csB+l0:], j.csB, kb)
		case j.rsB == 1:
			for jj := 0; jj < nbr; jj++ {
				col := j.b[(j0+jr+jj)*j.csB+l0:][:kb]
				for l, v := range col {
					d[l*nr+jj] = v
				}
			}
			for jj := nbr; jj < nr; jj++ {
				for l := 0; l < kb; l++ {
					d[l*nr+jj] = 0
				}
			}
		default:
			panic("kernels: packB needs a unit stride")
		}
	}
}

// gemmGo is the portable 4×8 micro-kernel.
func gemmGo(kcn int, a *float32, lda int, b *float32, ldb int, c *float32, ldc int, acc bool) {
	var t [4][8]float32
	if kcn > 0 {
		as := unsafe.Slice(a, (kcn-1)*lda+4)
		bs := unsafe.Slice(b, (kcn-1)*ldb+8)
		for l := 0; l < kcn; l++ {
			bl := (*[8]float32)(bs[l*ldb : l*ldb+8])
			al := (*[4]float32)(as[l*lda : l*lda+4])
			for i, av := range al {
				r := &t[i]
				r[0] += av * bl[0]
				r[1] += av * bl[1]
				r[2] += av * bl[2]
				r[3] += av * bl[3]
				r[4] += av * bl[4]
				r[5] += av * bl[5]
				r[6] += av * bl[6]
				r[7] += av * bl[7]
			}
		}
	}
	cs := unsafe.Slice(c, 3*ldc+8)
	for i := range t {
		row := (*[8]float32)(cs[i*ldc : i*ldc+8])
		if acc {
			for x, v := range t[i] {
				row[x] += v
			}
		} else {
			*row = t[i]
		}
	}
}

// peakLoop is a register-only FMA loop: fn(n) runs n iterations of flops each.
type peakLoop struct {
	name  string
	fn    func(n int)
	flops int
}

// Kernel names the product path in use: "avx512", "avx2" or "go" (the
// packed GEMM with that micro-kernel) or "rows" (the legacy row-by-row
// kernels: vek's AVX2 matrix-vector products on amd64). The AVX-512 vector
// kernels (Softmax, Gelu, VecMat) run on the "avx512" path only, so "rows"
// is the kernels as they were before the GEMM, for side-by-side benchmarks.
func Kernel() string {
	if kern == nil {
		return "rows"
	}
	return kern.name
}

// Kernels lists the paths this machine can run, fastest first.
func Kernels() []string {
	var names []string
	for _, k := range kernelsHere() {
		names = append(names, k.name)
	}
	return append(names, "rows")
}

// SetKernel switches the product path (one of Kernels) and returns the
// previous one; it is for benchmarks and tests that compare paths side by
// side, and must not be called while products run.
func SetKernel(name string) (prev string, err error) {
	prev = Kernel()
	if name == "rows" {
		kern = nil
		setVecFor(kern)
		return prev, nil
	}
	for _, k := range kernelsHere() {
		if k.name == name {
			kern = k
			setVecFor(kern)
			return prev, nil
		}
	}
	return prev, fmt.Errorf("kernels: no %q path on this machine (have %v)", name, Kernels())
}

// PackedT is a weight matrix w[n×k] packed once for repeated products
// out = a·wᵀ (MatMulTPacked), as decoding does with fixed weights: the GEMM
// then skips packing w, which for a few rows of a costs more than the
// product, and a single row streams each panel contiguously. It packs on
// first use by a path that reads the packing (not on wasm, whose one-row
// products read w directly) and then holds a copy: after w changes, call
// Repack. Products may run concurrently; Repack may not run with them.
type PackedT struct {
	w    []float32 // the original: small products and Repack read it
	k, n int
	kc   int // K block of data: packedKC(k)

	once sync.Once
	kern *microKernel // the micro-kernel data is packed for (nil: none)
	data []float32
}

// PackT makes a packed view of w[n×k]; the packing itself happens on first
// use.
func PackT(w []float32, n, k int) *PackedT {
	_ = w[n*k-1]
	return &PackedT{w: w[:n*k], k: k, n: n, kc: packedKC(k)}
}

// Repack re-reads w (after it changed, or after SetKernel).
func (pw *PackedT) Repack() {
	pw.once = sync.Once{}
	pw.kern, pw.data = nil, nil
}

// packed returns the data packed for the current micro-kernel.
func (pw *PackedT) packed() []float32 {
	pw.once.Do(pw.pack)
	if pw.kern != kern { // the path was switched (tests, benchmarks: not concurrent)
		pw.Repack()
		pw.once.Do(pw.pack)
	}
	return pw.data
}

func (pw *PackedT) pack() {
	nr := kern.nr
	npad := (pw.n + nr - 1) / nr * nr
	data := make([]float32, npad*pw.k)
	j := &gemmJob{b: pw.w, rsB: 1, csB: pw.k}
	for pc := 0; pc < pw.k; pc += pw.kc {
		kb := min(pw.kc, pw.k-pc)
		packB(data[pc*npad:], j, pc, kb, 0, pw.n, nr)
	}
	pw.kern, pw.data = kern, data
}

// packedKC is the K block of packed weights: all of K up to 512 (the
// model's widths), so each nr-column panel is one contiguous [K][nr] run
// that a single row of a can also stream through (vecMat32).
func packedKC(k int) int {
	if k <= 2*kc {
		return k
	}
	return kc
}

// MatMulTPacked computes out[m×n] = a[m×k]·wᵀ like MatMulT, reading the
// packed w.
func (p *Pool) MatMulTPacked(out, a []float32, m int, w *PackedT) {
	k, n := w.k, w.n
	stream := m < gemmMinRows && useVecAVX512 && kern == avx512Kernel && w.kc == k
	if kern == nil || (m < gemmMinRows && !stream) {
		p.MatMulT(out, a, w.w, m, k, n)
		return
	}
	_ = out[m*n-1]
	_ = a[m*k-1]
	data := w.packed()
	if stream {
		// A few rows: stream each through the packed 32-column panels.
		for i := 0; i < m; i++ {
			for j := 0; j < n; j += 32 {
				mask := uint32(1<<min(32, n-j) - 1)
				vecMat32AVX512(&a[i*k], &data[j*k], &out[i*n+j], k, 32, mask)
			}
		}
		return
	}
	p.gemmPacked(kern, m, n, k, a, k, 1, w.w, 1, k, data, out, n, false)
}

// packA12 packs 12 full rows (stride lda) of kb columns as dst[l*12+i]:
// the common case of packA, written so the compiler drops the bounds checks
// and each step writes one contiguous run.
func packA12(dst, a []float32, lda, kb int) {
	r0, r1, r2, r3 := a[:kb], a[lda:][:kb], a[2*lda:][:kb], a[3*lda:][:kb]
	r4, r5, r6, r7 := a[4*lda:][:kb], a[5*lda:][:kb], a[6*lda:][:kb], a[7*lda:][:kb]
	r8, r9, r10, r11 := a[8*lda:][:kb], a[9*lda:][:kb], a[10*lda:][:kb], a[11*lda:][:kb]
	dst = dst[:kb*12]
	for l := range r0 {
		d := (*[12]float32)(dst[l*12:])
		d[0], d[1], d[2], d[3] = r0[l], r1[l], r2[l], r3[l]
		d[4], d[5], d[6], d[7] = r4[l], r5[l], r6[l], r7[l]
		d[8], d[9], d[10], d[11] = r8[l], r9[l], r10[l], r11[l]
	}
}

// packA8 is packA12 for the 8-row tiles.
func packA8(dst, a []float32, lda, kb int) {
	r0, r1, r2, r3 := a[:kb], a[lda:][:kb], a[2*lda:][:kb], a[3*lda:][:kb]
	r4, r5, r6, r7 := a[4*lda:][:kb], a[5*lda:][:kb], a[6*lda:][:kb], a[7*lda:][:kb]
	dst = dst[:kb*8]
	for l := range r0 {
		d := (*[8]float32)(dst[l*8:])
		d[0], d[1], d[2], d[3] = r0[l], r1[l], r2[l], r3[l]
		d[4], d[5], d[6], d[7] = r4[l], r5[l], r6[l], r7[l]
	}
}

// packBT32 packs 32 full columns of a transposed B (column jj at
// b[jj*ldb:], kb long) as dst[l*32+jj]: each step writes one contiguous
// 32-float run, reading four columns at a time.
func packBT32(dst, b []float32, ldb, kb int) {
	dst = dst[:kb*32]
	for c := 0; c < 32; c += 4 {
		c0, c1, c2, c3 := b[c*ldb:][:kb], b[(c+1)*ldb:][:kb], b[(c+2)*ldb:][:kb], b[(c+3)*ldb:][:kb]
		for l := range c0 {
			d := (*[4]float32)(dst[l*32+c:])
			d[0], d[1], d[2], d[3] = c0[l], c1[l], c2[l], c3[l]
		}
	}
}
