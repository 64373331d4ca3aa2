package nn

import (
	"fmt"
	"math"
)

// Optimizer is AdamW with flat moment buffers laid out like Params.Data, so a
// checkpoint that saves M, V and Step resumes bit-for-bit.
type Optimizer struct {
	M, V        *Params // first and second moments
	Step        int     // updates done so far
	Beta1       float32 // 0.9
	Beta2       float32 // 0.95
	Eps         float32 // 1e-8
	WeightDecay float32 // applied to 2-D tensors (matrices and embeddings) only

	decay []bool // per tensor of Params.Tensors()
}

// NewOptimizer returns AdamW state for p with twig's defaults and the given
// weight decay.
func NewOptimizer(p *Params, weightDecay float32) *Optimizer {
	o := &Optimizer{M: NewParams(p.Config), V: NewParams(p.Config),
		Beta1: 0.9, Beta2: 0.95, Eps: 1e-8, WeightDecay: weightDecay}
	for _, t := range p.Tensors() {
		o.decay = append(o.decay, len(t.Shape) == 2)
	}
	return o
}

// Tensors lists the state for checkpoints: "m.<name>" and "v.<name>" views.
// Step is saved separately.
func (o *Optimizer) Tensors() []Tensor {
	var out []Tensor
	for _, t := range o.M.Tensors() {
		out = append(out, Tensor{Name: "m." + t.Name, Shape: t.Shape, Data: t.Data})
	}
	for _, t := range o.V.Tensors() {
		out = append(out, Tensor{Name: "v." + t.Name, Shape: t.Shape, Data: t.Data})
	}
	return out
}

// Update applies one AdamW step with learning rate lr to p using gradient g.
func (o *Optimizer) Update(p, g *Params, lr float32) {
	if len(p.Data) != len(o.M.Data) || len(g.Data) != len(p.Data) {
		panic(fmt.Sprintf("nn.Optimizer.Update: sizes %d/%d/%d differ", len(p.Data), len(g.Data), len(o.M.Data)))
	}
	o.Step++
	b1, b2 := o.Beta1, o.Beta2
	c1 := 1 - float32(math.Pow(float64(b1), float64(o.Step)))
	c2 := 1 - float32(math.Pow(float64(b2), float64(o.Step)))
	pt, gt, mt, vt := p.Tensors(), g.Tensors(), o.M.Tensors(), o.V.Tensors()
	for i := range pt {
		wd := float32(0)
		if o.decay[i] {
			wd = o.WeightDecay
		}
		w, gr, m, v := pt[i].Data, gt[i].Data, mt[i].Data, vt[i].Data
		for j, gj := range gr {
			mj := b1*m[j] + (1-b1)*gj
			vj := b2*v[j] + (1-b2)*gj*gj
			m[j], v[j] = mj, vj
			mh, vh := mj/c1, vj/c2
			w[j] -= lr * (mh/(float32(math.Sqrt(float64(vh)))+o.Eps) + wd*w[j])
		}
	}
	p.Changed()
}

// ClipGradNorm scales g so its global L2 norm is at most maxNorm (if
// maxNorm > 0) and returns the norm before clipping.
func ClipGradNorm(g *Params, maxNorm float32) float32 {
	var s float64
	for _, x := range g.Data {
		s += float64(x) * float64(x)
	}
	norm := float32(math.Sqrt(s))
	if maxNorm > 0 && norm > maxNorm {
		k := maxNorm / norm
		for i := range g.Data {
			g.Data[i] *= k
		}
	}
	return norm
}

// LR is the learning rate at step (0-based) of total: linear warm-up over
// warmup steps to peak, then cosine decay to peak/10 at total.
func LR(step, total, warmup int, peak float32) float32 {
	if step < warmup {
		return peak * float32(step+1) / float32(warmup)
	}
	if step >= total {
		return peak / 10
	}
	frac := float64(step-warmup) / float64(max(1, total-warmup))
	cos := 0.5 * (1 + math.Cos(math.Pi*frac))
	return peak/10 + (peak-peak/10)*float32(cos)
}
