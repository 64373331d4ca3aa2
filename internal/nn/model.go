package nn

import (
	"fmt"

	"github.com/twig-project/twig/internal/kernels"
)

// layerActs are one block's saved forward activations.
type layerActs struct {
	ln1              []float32 // [N,C]
	ln1Mean, ln1Rstd []float32 // [N]
	qkv              []float32 // [N,3C]
	qh, kh, vh       []float32 // [B,NH,T,HS] each
	att              []float32 // [B,NH,T,T]
	atty             []float32 // [N,C]
	res2             []float32 // [N,C] residual after attention
	ln2              []float32 // [N,C]
	ln2Mean, ln2Rstd []float32 // [N]
	fch              []float32 // [N,4C]
	fchGelu          []float32 // [N,4C]
	res3             []float32 // [N,C] residual after the MLP (block output)
	attproj, fcproj  []float32 // [N,C] projections before the residual add
}

// Model is one set of activations and gradients for batches of up to B×T
// tokens over shared Params. It is not safe for concurrent use; the Trainer
// runs one Model per worker goroutine.
type Model struct {
	Params *Params // weights, read only here
	Grads  *Params // gradients, accumulated by Backward

	maxB, maxT int
	pool       kernels.Pool // single-threaded: parallelism is across workers

	encoded          []float32 // [N,C]
	layers           []layerActs
	lnf              []float32 // [N,C]
	lnfMean, lnfRstd []float32 // [N]
	probs            []float32 // [N,V] softmax; becomes dlogits in Backward

	// backward scratch
	dresid, dln, datty []float32 // [N,C]
	dqkv               []float32 // [N,3C]
	dfch, dfchGelu     []float32 // [N,4C]
	oh, doh            []float32 // [B,NH,T,HS] head outputs and their gradient
	dqh, dkh, dvh      []float32 // [B,NH,T,HS]
	dp                 []float32 // [attBlock,T]
	tr                 []float32 // [transposedLen(T,HS)] a head's keys or values, transposed

	batch Batch   // the last Forward's input
	scale float32 // loss scale of the last Forward: 1/Σw over the whole step
}

// NewModel allocates activations for batches of up to maxB rows of maxT
// tokens (maxT ≤ Ctx) and zeroed gradients.
func NewModel(p *Params, maxB, maxT int) *Model {
	cfg := p.Config
	if maxB <= 0 || maxT <= 0 || maxT > cfg.Ctx {
		panic(fmt.Sprintf("nn.NewModel: need 0 < maxB and 0 < maxT ≤ ctx=%d, got %d, %d", cfg.Ctx, maxB, maxT))
	}
	m := &Model{Params: p, Grads: NewParams(cfg), maxB: maxB, maxT: maxT}
	N, C, L, NH, V := maxB*maxT, cfg.D, cfg.Layers, cfg.Heads, cfg.Vocab
	var sizes []int
	var dsts []*[]float32
	add := func(dst *[]float32, n int) { sizes, dsts = append(sizes, n), append(dsts, dst) }
	add(&m.encoded, N*C)
	m.layers = make([]layerActs, L)
	for l := range m.layers {
		a := &m.layers[l]
		add(&a.ln1, N*C)
		add(&a.ln1Mean, N)
		add(&a.ln1Rstd, N)
		add(&a.qkv, 3*N*C)
		add(&a.qh, N*C)
		add(&a.kh, N*C)
		add(&a.vh, N*C)
		add(&a.att, maxB*NH*maxT*maxT)
		add(&a.atty, N*C)
		add(&a.attproj, N*C)
		add(&a.res2, N*C)
		add(&a.ln2, N*C)
		add(&a.ln2Mean, N)
		add(&a.ln2Rstd, N)
		add(&a.fch, 4*N*C)
		add(&a.fchGelu, 4*N*C)
		add(&a.fcproj, N*C)
		add(&a.res3, N*C)
	}
	add(&m.lnf, N*C)
	add(&m.lnfMean, N)
	add(&m.lnfRstd, N)
	add(&m.probs, N*V)
	add(&m.dresid, N*C)
	add(&m.dln, N*C)
	add(&m.datty, N*C)
	add(&m.dqkv, 3*N*C)
	add(&m.dfch, 4*N*C)
	add(&m.dfchGelu, 4*N*C)
	add(&m.dqh, N*C)
	add(&m.dkh, N*C)
	add(&m.dvh, N*C)
	add(&m.oh, N*C)
	add(&m.doh, N*C)
	add(&m.dp, attBlock*maxT)
	add(&m.tr, transposedLen(maxT, C/NH))
	carve(sizes, dsts) // every activation in one buffer
	return m
}

// ZeroGrad clears Grads.
func (m *Model) ZeroGrad() { clear(m.Grads.Data) }

// Forward runs the model on b and returns the mean loss Σ w·CE / Σ w
// (0 when every weight is 0). It panics if b exceeds the Model's size or
// breaks the Batch invariants (a bug in the caller).
func (m *Model) Forward(b Batch) float32 {
	scale := b.lossScale()
	return float32(m.forward(b, scale))
}

// Backward accumulates into Grads the gradient of the last Forward's loss.
func (m *Model) Backward() { m.backward() }

func (m *Model) check(b Batch) {
	n := b.B * b.T
	if b.B <= 0 || b.T <= 0 || b.B > m.maxB || b.T > m.maxT {
		panic(fmt.Sprintf("nn: batch %d×%d does not fit model %d×%d", b.B, b.T, m.maxB, m.maxT))
	}
	if len(b.Tokens) < n || len(b.Pos) < n || len(b.Row) < n || len(b.Col) < n ||
		len(b.DocStart) < n || len(b.Targets) < n || len(b.Weights) < n {
		panic(fmt.Sprintf("nn: batch %d×%d has a field shorter than %d", b.B, b.T, n))
	}
	// Documents are contiguous runs: DocStart[t] is t (a new document) or
	// DocStart[t-1] (the same one).
	for i, ds := range b.DocStart[:n] {
		t := i % b.T
		if int(ds) != t && (t == 0 || ds != b.DocStart[i-1]) {
			panic(fmt.Sprintf("nn: batch DocStart[%d]=%d: want %d (new document) or DocStart[%d]=%d", i, ds, t, i-1, b.DocStart[max(i-1, 0)]))
		}
	}
}

// forward returns Σ scale·w·CE over b.
func (m *Model) forward(b Batch, scale float32) float64 {
	m.check(b)
	m.batch, m.scale = b, scale
	p := m.Params
	cfg := p.Config
	B, T, C, NH, V := b.B, b.T, cfg.D, cfg.Heads, cfg.Vocab
	N := B * T
	encoderForward(m.encoded, b.Tokens, b.Pos, b.Row, b.Col, p.WTE, p.WPE, p.WRow, p.WCol, N, C)
	resid := m.encoded // [N,C]
	for l := range m.layers {
		a, w := &m.layers[l], &p.Layers[l]
		layernormForward(a.ln1, a.ln1Mean, a.ln1Rstd, resid, w.LN1W, w.LN1B, N, C)
		matmulForward(&m.pool, a.qkv, a.ln1, w.QKVW, w.QKVB, N, C, 3*C)
		attentionForward(&m.pool, a.atty, a.qh, a.kh, a.vh, m.oh, a.att, a.qkv, m.tr, b.DocStart, B, T, C, NH)
		matmulForward(&m.pool, a.attproj, a.atty, w.AttProjW, w.AttProjB, N, C, C)
		residualForward(a.res2, resid, a.attproj, N*C)
		layernormForward(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, w.LN2W, w.LN2B, N, C)
		matmulForward(&m.pool, a.fch, a.ln2, w.FCW, w.FCB, N, C, 4*C)
		geluForward(a.fchGelu, a.fch, N*4*C)
		matmulForward(&m.pool, a.fcproj, a.fchGelu, w.FCProjW, w.FCProjB, N, 4*C, C)
		residualForward(a.res3, a.res2, a.fcproj, N*C)
		resid = a.res3
	}
	layernormForward(m.lnf, m.lnfMean, m.lnfRstd, resid, p.LNFW, p.LNFB, N, C)
	matmulForward(&m.pool, m.probs, m.lnf, p.WTE, nil, N, C, V)
	return softmaxCrossEntropyForward(m.probs, m.probs, b.Targets, b.Weights, scale, N, V)
}

func (m *Model) backward() {
	b, p, g := m.batch, m.Params, m.Grads
	cfg := p.Config
	B, T, C, NH, V := b.B, b.T, cfg.D, cfg.Heads, cfg.Vocab
	N := B * T
	// probs → dlogits in place.
	dlogits := m.probs[:N*V] // [N,V]
	for i := 0; i < N; i++ {
		w := m.scale * b.Weights[i]
		d := dlogits[i*V : i*V+V]
		for j := range d {
			d[j] *= w
		}
		d[b.Targets[i]] -= w
	}
	dresid, dln := m.dresid[:N*C], m.dln[:N*C]
	matmulBackward(&m.pool, dln, g.WTE, nil, dlogits, m.lnf, p.WTE, N, C, V)
	clear(dresid)
	last := m.encoded
	if L := len(m.layers); L > 0 {
		last = m.layers[L-1].res3
	}
	layernormBackward(dresid, g.LNFW, g.LNFB, dln, last, p.LNFW, m.lnfMean, m.lnfRstd, N, C)
	for l := len(m.layers) - 1; l >= 0; l-- {
		a, w, dw := &m.layers[l], &p.Layers[l], &g.Layers[l]
		resid := m.encoded
		if l > 0 {
			resid = m.layers[l-1].res3
		}
		// res3 = res2 + fcproj: both get dresid.
		dfchGelu, dfch := m.dfchGelu[:N*4*C], m.dfch[:N*4*C]
		matmulBackward(&m.pool, dfchGelu, dw.FCProjW, dw.FCProjB, dresid, a.fchGelu, w.FCProjW, N, 4*C, C)
		clear(dfch)
		geluBackward(dfch, a.fch, dfchGelu, N*4*C)
		matmulBackward(&m.pool, dln, dw.FCW, dw.FCB, dfch, a.ln2, w.FCW, N, C, 4*C)
		layernormBackward(dresid, dw.LN2W, dw.LN2B, dln, a.res2, w.LN2W, a.ln2Mean, a.ln2Rstd, N, C)
		// res2 = resid + attproj: both get dresid.
		datty := m.datty[:N*C]
		matmulBackward(&m.pool, datty, dw.AttProjW, dw.AttProjB, dresid, a.atty, w.AttProjW, N, C, C)
		dqkv := m.dqkv[:3*N*C]
		attentionBackward(&m.pool, dqkv, m.dqh, m.dkh, m.dvh, m.doh, m.dp, m.tr, datty, a.qh, a.kh, a.vh, a.att, b.DocStart, B, T, C, NH)
		matmulBackward(&m.pool, dln, dw.QKVW, dw.QKVB, dqkv, a.ln1, w.QKVW, N, C, 3*C)
		layernormBackward(dresid, dw.LN1W, dw.LN1B, dln, resid, w.LN1W, a.ln1Mean, a.ln1Rstd, N, C)
	}
	encoderBackward(g.WTE, g.WPE, g.WRow, g.WCol, dresid, b.Tokens, b.Pos, b.Row, b.Col, N, C)
}
