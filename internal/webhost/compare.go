package webhost

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/kernels"
	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Tolerance is the largest difference between the accelerated and the CPU
// logits that still counts as agreement. Both sum float32 products, in
// different orders; for this model's sizes the difference is ~1e-6.
const Tolerance = 1e-3

// Agreement compares the accelerated path with the CPU on the same inputs.
type Agreement struct {
	// Accelerator names the accelerated path.
	Accelerator string `json:"accelerator"`
	// MatVecs is the number of raw products compared (random inputs on the model's own weights).
	MatVecs int `json:"matvecs"`
	// MatVecMaxAbsDiff is the largest |gpu − cpu| over their outputs.
	MatVecMaxAbsDiff float64 `json:"matvec_max_abs_diff"`
	// Steps is the number of decoder steps compared (the same tokens fed to both).
	Steps int `json:"steps"`
	// LogitsMaxAbsDiff is the largest |gpu − cpu| over the steps' logits.
	LogitsMaxAbsDiff float64 `json:"logits_max_abs_diff"`
	// LogitsMaxAbs is the largest |logit|, for scale.
	LogitsMaxAbs float64 `json:"logits_max_abs"`
	// ArgmaxAgree counts steps whose most likely next token is the same.
	ArgmaxAgree int `json:"argmax_agree"`
	// Tolerance is the bound both differences must stay within.
	Tolerance float64 `json:"tolerance"`
	// Agree is true when both differences are within Tolerance.
	Agree bool `json:"agree"`
	// CPUMsPerStep and GPUMsPerStep time one decoder step each way (the
	// first step, which uploads the weights to the GPU, is not timed).
	CPUMsPerStep float64 `json:"cpu_ms_per_step"`
	GPUMsPerStep float64 `json:"gpu_ms_per_step"`
}

// Compare feeds the same steps tokens to a CPU decoder and an accelerated
// one and compares their logits, after comparing a few raw products.
func (h *Host) Compare(steps int) (Agreement, error) {
	h.mu.Lock()
	cpu, gpu, name := h.cpu, h.gpu, h.gpuName
	h.mu.Unlock()
	if cpu == nil {
		return Agreement{}, errors.New("twig: no weights loaded yet")
	}
	if gpu == nil {
		return Agreement{}, errors.New("twig: no accelerator to compare with the CPU")
	}
	return compare(cpu.W.Params, gpu.W.Params, name, steps)
}

func compare(cpu, gpu *nn.Params, name string, steps int) (Agreement, error) {
	cfg := cpu.Config
	steps = max(1, min(steps, cfg.Ctx))
	a := Agreement{Accelerator: name, Steps: steps, Tolerance: Tolerance}
	r := rand.New(rand.NewPCG(7, 7))

	// Raw products: the widest weights of the model, random inputs.
	lay := cpu.Layers[0]
	for _, t := range []struct {
		w, b []float32
		k, n int
	}{{cpu.WTE, nil, cfg.D, cfg.Vocab}, {lay.FCW, lay.FCB, cfg.D, 4 * cfg.D}, {lay.FCProjW, lay.FCProjB, 4 * cfg.D, cfg.D}} {
		x := make([]float32, t.k)
		for i := range x {
			x[i] = float32(r.NormFloat64())
		}
		want, got := make([]float32, t.n), make([]float32, t.n)
		kernels.MatMulTRef(want, x, t.w, 1, t.k, t.n)
		for i := range t.b {
			want[i] += t.b[i]
		}
		gpu.MatVec.MatVec(got, x, t.w, t.b, t.k, t.n)
		a.MatVecs++
		a.MatVecMaxAbsDiff = math.Max(a.MatVecMaxAbsDiff, maxAbsDiff(got, want))
	}

	// Whole decoder steps: a prompt-like start, then image tokens on the grid.
	type tok struct{ id, row, col int32 }
	seq := make([]tok, steps)
	for i := range seq {
		if i < 8 {
			seq[i] = tok{int32(r.IntN(cfg.Vocab)), model.NoGrid, model.NoGrid}
			continue
		}
		c := i - 8
		seq[i] = tok{int32(r.IntN(tokens.NumImageTokens)), int32(c / tokens.Grid % tokens.Grid), int32(c % tokens.Grid)}
	}
	dc, dg := nn.NewDecoder(cpu, steps), nn.NewDecoder(gpu, steps)
	dc.SetHalfWeights(false) // the reference: the float32 weights the device has
	var cpuTime, gpuTime time.Duration
	for i, t := range seq {
		t0 := time.Now()
		lc := dc.Step(t.id, int32(i), t.row, t.col)
		t1 := time.Now()
		lg := dg.Step(t.id, int32(i), t.row, t.col)
		t2 := time.Now()
		if i > 0 || steps == 1 { // the first step uploads the weights: not timed
			cpuTime += t1.Sub(t0)
			gpuTime += t2.Sub(t1)
		}
		a.LogitsMaxAbsDiff = math.Max(a.LogitsMaxAbsDiff, maxAbsDiff(lg, lc))
		for _, v := range lc {
			a.LogitsMaxAbs = math.Max(a.LogitsMaxAbs, math.Abs(float64(v)))
		}
		if argmax(lc) == argmax(lg) {
			a.ArgmaxAgree++
		}
	}
	timed := float64(max(1, steps-1))
	a.CPUMsPerStep = float64(cpuTime.Microseconds()) / 1000 / timed
	a.GPUMsPerStep = float64(gpuTime.Microseconds()) / 1000 / timed
	a.Agree = a.MatVecMaxAbsDiff <= Tolerance && a.LogitsMaxAbsDiff <= Tolerance
	if math.IsNaN(a.MatVecMaxAbsDiff) || math.IsNaN(a.LogitsMaxAbsDiff) {
		a.Agree = false
	}
	return a, nil
}

// maxAbsDiff is max |a[i] − b[i]|; NaN anywhere gives NaN.
func maxAbsDiff(a, b []float32) float64 {
	var m float64
	for i := range a {
		d := math.Abs(float64(a[i] - b[i]))
		if math.IsNaN(d) {
			return math.NaN()
		}
		m = math.Max(m, d)
	}
	return m
}

func argmax(x []float32) int {
	best := 0
	for i, v := range x {
		if v > x[best] {
			best = i
		}
	}
	return best
}

// chooseAuto picks the backend auto runs on, and says why.
func chooseAuto(a Agreement) (backend, why string) {
	switch {
	case !a.Agree:
		return BackendCPU, fmt.Sprintf("WebGPU disagrees with the CPU (max diff %.3g > %g)", math.Max(a.MatVecMaxAbsDiff, a.LogitsMaxAbsDiff), a.Tolerance)
	case a.GPUMsPerStep < a.CPUMsPerStep:
		return BackendGPU, fmt.Sprintf("WebGPU is faster: %.2f ms a token vs %.2f ms on the CPU", a.GPUMsPerStep, a.CPUMsPerStep)
	default:
		return BackendCPU, fmt.Sprintf("the CPU is faster: %.2f ms a token vs %.2f ms on WebGPU", a.CPUMsPerStep, a.GPUMsPerStep)
	}
}
