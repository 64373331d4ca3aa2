package kernels

import (
	"math"
	"sync"
	"unsafe"
)

// Half precision (IEEE 754 binary16, "fp16") for the decoders' key/value
// caches: attention over the cache streams every cached key and value once
// per token, so storing them as halves halves the bytes the memory system
// moves, while every product still sums in float32 (a half widens to a
// float32 exactly). A float32 is stored rounded to nearest even and
// clamped to the largest finite half, ±65504, so a cache never holds an
// infinity; NaN stays NaN. Rounding keeps 11 significant bits: a relative
// error of at most 2⁻¹¹ ≈ 4.9e-4 per element (for |x| ≥ 2⁻¹⁴ ≈ 6.1e-5;
// smaller values are subnormal halves with an absolute error ≤ 2⁻²⁵).
// With AVX-512, or AVX2 and F16C, the conversions and products are
// assembly (VCVTPS2PH, VCVTPH2PS); elsewhere portable Go with bit-identical
// roundings that widens halves through a table.

// maxHalfBits is the largest finite half, 65504, as float32 bits.
const maxHalfBits = 0x477fe000

// F32ToF16 stores src rounded to halves in dst (len(dst) ≥ len(src)).
func F32ToF16(dst []uint16, src []float32) {
	if len(src) == 0 {
		return
	}
	dst = dst[:len(src)]
	if useVecAVX512 {
		f32ToF16AVX512(&dst[0], &src[0], len(src))
		return
	}
	i := 0
	if useHalfAVX2 {
		i = len(src) &^ 7
		if i > 0 {
			f32ToF16AVX2(&dst[0], &src[0], i)
		}
	}
	for ; i < len(src); i++ {
		dst[i] = ToHalf(src[i])
	}
}

// ToHalf rounds f to the nearest half (ties to even), clamped to ±65504.
func ToHalf(f float32) uint16 {
	b := math.Float32bits(f)
	sign := uint16(b>>16) & 0x8000
	a := b & 0x7fffffff
	switch {
	case a > 0x7f800000: // NaN: keep it quiet, with the top of its payload
		return sign | 0x7e00 | uint16(a>>13)&0x3ff
	case a >= maxHalfBits:
		return sign | 0x7bff
	case a >= 0x38800000: // a normal half: rebias the exponent, round 13 bits off
		a -= 0x38000000
		h, rem := a>>13, a&0x1fff
		if rem > 0x1000 || rem == 0x1000 && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	case a <= 0x33000000: // at most half the smallest subnormal: rounds to zero
		return sign
	default: // a subnormal half: the value in units of 2⁻²⁴, rounded
		m := a&0x7fffff | 0x800000
		s := 126 - a>>23 // value = m·2^(e-150) = (m >> s) units of 2⁻²⁴
		h, rem, halfway := m>>s, m&(1<<s-1), uint32(1)<<(s-1)
		if rem > halfway || rem == halfway && h&1 == 1 {
			h++
		}
		return sign | uint16(h)
	}
}

// FromHalf widens a half to float32 (exact).
func FromHalf(h uint16) float32 {
	bits := uint32(h&0x7fff) << 13
	if h&0x7c00 == 0x7c00 { // infinity or NaN
		bits |= 0x7f800000
	} else {
		// Rebias by multiplying: exact for normal and subnormal halves.
		bits = math.Float32bits(math.Float32frombits(bits) * 0x1p112)
	}
	return math.Float32frombits(bits | uint32(h&0x8000)<<16)
}

// VecMatF16 sets y[n] = x[k]·B for a B of halves, k rows of n columns with
// row stride ldb ≥ n: attention's p·V over a half-precision value cache.
// Sums are float32. With AVX-512 each row is read 32 halves at a time
// (masked past column n-1, but the loads still span the whole 64 bytes),
// so b must extend to (k-1)·ldb + n rounded up to 32: the decoders pad
// their caches.
func VecMatF16(y, x []float32, b []uint16, k, n, ldb int) {
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
		_ = b[(k-1)*ldb+(n+31)/32*32-1]
		for j := 0; j < n; j += 32 {
			mask := uint32(math.MaxUint32)
			if w := n - j; w < 32 {
				mask = 1<<w - 1
			}
			vecMatH32AVX512(&x[0], (*uint16)(unsafe.Add(unsafe.Pointer(unsafe.SliceData(b)), 2*j)), &y[j], k, ldb, mask)
		}
		return
	}
	j := 0
	if useHalfAVX2 {
		for ; j+32 <= n; j += 32 {
			vecMatH32AVX2(&x[0], &b[j], &y[j], k, ldb)
		}
		if j == n {
			return
		}
	}
	// Columns [j,n): all of them on the portable path, the edge after
	// the AVX2 kernel's 32-column tiles.
	yj := y[j:]
	clear(yj)
	tbl := halfTable()
	for l, v := range x {
		axpyHalf(yj, b[l*ldb+j:l*ldb+n], v, tbl)
	}
}

// halfTable is every half widened (256 KiB, made on first use): the
// portable kernels look a half up instead of converting it bit by bit,
// which made attention over a half cache twice as slow as over float32.
var halfTable = sync.OnceValue(func() *[1 << 16]float32 {
	t := new([1 << 16]float32)
	for h := range t {
		t[h] = FromHalf(uint16(h))
	}
	return t
})

// axpyHalf is y[j] += a·x[j] over len(x) halves, widened through tbl.
func axpyHalf(y []float32, x []uint16, a float32, tbl *[1 << 16]float32) {
	y = y[:len(x)]
	i := 0
	for ; i+8 <= len(x); i += 8 {
		xs, ys := x[i:i+8:i+8], y[i:i+8:i+8]
		ys[0] += a * tbl[xs[0]]
		ys[1] += a * tbl[xs[1]]
		ys[2] += a * tbl[xs[2]]
		ys[3] += a * tbl[xs[3]]
		ys[4] += a * tbl[xs[4]]
		ys[5] += a * tbl[xs[5]]
		ys[6] += a * tbl[xs[6]]
		ys[7] += a * tbl[xs[7]]
	}
	for ; i < len(x); i++ {
		y[i] += a * tbl[x[i]]
	}
}

// KeyBlock is the number of positions a key cache keeps together (see
// KeyScoresF16).
const KeyBlock = 32

// KeyScoresF16 sets s[j] = q[hs]·key_j for the first n positions of a
// key cache of halves laid out in blocks of KeyBlock positions, each block
// transposed: key j's component c at kT[(j/32)·32·hs + c·32 + j%32]. The
// scores of a block are then one vector-matrix product over 32·hs
// contiguous halves. kT must hold the whole blocks that n reaches into.
func KeyScoresF16(s, q []float32, kT []uint16, hs, n int) {
	if n == 0 {
		return
	}
	s = s[:n]
	if hs == 0 {
		clear(s)
		return
	}
	q = q[:hs]
	nb := (n + KeyBlock - 1) / KeyBlock
	_ = kT[nb*KeyBlock*hs-1]
	if useVecAVX512 {
		keyScoresH32AVX512(&q[0], &kT[0], &s[0], hs, n)
		return
	}
	if useHalfAVX2 {
		b0 := n / KeyBlock
		if b0 > 0 {
			keyScoresH32AVX2(&q[0], &kT[0], &s[0], hs, b0)
		}
		if b0 < nb { // the last, partial block: whole into a temporary
			var tmp [KeyBlock]float32
			keyScoresH32AVX2(&q[0], &kT[b0*KeyBlock*hs], &tmp[0], hs, 1)
			copy(s[b0*KeyBlock:], tmp[:n-b0*KeyBlock])
		}
		return
	}
	tbl := halfTable()
	for b := 0; b < nb; b++ {
		blk := kT[b*KeyBlock*hs : (b+1)*KeyBlock*hs]
		sb := s[b*KeyBlock : min(n, (b+1)*KeyBlock)]
		clear(sb)
		for c, v := range q {
			axpyHalf(sb, blk[c*KeyBlock:c*KeyBlock+len(sb)], v, tbl)
		}
	}
}
