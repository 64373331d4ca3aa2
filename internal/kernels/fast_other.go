//go:build !amd64

package kernels

// useVek is false off amd64: the portable Go kernels run.
var useVek = false

func vekDot(x, y []float32) float32 { return dotGo(x, y) }

func matMulT(out, a, w []float32, lo, hi, k, n int) { matMulTGo(out, a, w, lo, hi, k, n) }

func matMulAcc(_ *[]float32, dinp, dout, w []float32, lo, hi, n, k int) {
	matMulAccGo(dinp, dout, w, lo, hi, n, k)
}

func matMulAccTN(_ *[]float32, dw, dout, a []float32, m, n, k, jlo, jhi int) {
	matMulAccTNGo(dw, dout, a, m, n, k, jlo, jhi)
}
