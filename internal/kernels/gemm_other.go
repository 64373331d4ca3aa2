//go:build !amd64

package kernels

// kernelsHere lists the micro-kernels this machine can run: off amd64 only
// the portable one.
func kernelsHere() []*microKernel { return []*microKernel{goKernel} }

// peakLoops: no assembly FMA loop off amd64.
func peakLoops() []peakLoop { return nil }

// useVecAVX512 is false off amd64: the portable vector kernels run.
const useVecAVX512 = false

func vecMat32AVX512(x, b, y *float32, k, ldb int, mask uint32) { panic("unreachable") }
func softmaxAVX512(x *float32, n int, scale float32)           { panic("unreachable") }
func geluAVX512(out, in *float32, n int)                       { panic("unreachable") }
func geluBackAVX512(dinp, inp, dout *float32, n int)           { panic("unreachable") }

func vecPaths() []bool { return []bool{false} }

func setVec(bool) func() { return func() {} }

func setVecFor(*microKernel) {}

// avx512Kernel does not exist off amd64.
var avx512Kernel *microKernel

func forRows(k *microKernel, M int) *microKernel { return k }

func tileVariants() []*microKernel { return nil }

func softmaxBackAVX512(p, d *float32, n int, scale float32) { panic("unreachable") }

func lnStatsAVX512(x *float32, n int, m float32) (sum, sumSqDev float32) { panic("unreachable") }
func lnApplyAVX512(out, x, w, b *float32, n int, m, s float32)           { panic("unreachable") }
func lnBackDotsAVX512(dy, x, w *float32, n int, m, s float32) (dn, dnn float32) {
	panic("unreachable")
}
func lnBackApplyAVX512(dinp, dw, db, dy, x, w *float32, n int, m, s, c1, c2 float32) {
	panic("unreachable")
}

func addAVX512(dst, src *float32, n int) { panic("unreachable") }

func vecMatH32AVX512(x *float32, b *uint16, y *float32, k, ldb int, mask uint32) {
	panic("unreachable")
}
func keyScoresH32AVX512(q *float32, kT *uint16, s *float32, hs, n int) { panic("unreachable") }
func gemmAVX512RowAH(kc int, a *float32, lda int, b *uint16, ldb int, c *float32, ldc int, acc bool) {
	panic("unreachable")
}
func gemmAVX512x8RowAH(kc int, a *float32, lda int, b *uint16, ldb int, c *float32, ldc int, acc bool) {
	panic("unreachable")
}
func matVecHAVX512(x *float32, b *uint16, y *float32, k, np int, mask uint32) {
	panic("unreachable")
}
func f32ToF16AVX512(dst *uint16, src *float32, n int) { panic("unreachable") }

func vecMatH32AVX2(x *float32, b *uint16, y *float32, k, ldb int)     { panic("unreachable") }
func keyScoresH32AVX2(q *float32, kT *uint16, s *float32, hs, nb int) { panic("unreachable") }
func f32ToF16AVX2(dst *uint16, src *float32, n int)                   { panic("unreachable") }

// useHalfAVX2 is false off amd64.
const useHalfAVX2 = false

func halfPaths() []string { return []string{"go"} }

func setHalf(string) func() { return func() {} }
