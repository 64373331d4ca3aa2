package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Tensor is a named view into a flat buffer, for checkpoints.
type Tensor struct {
	Name  string
	Shape []int
	Data  []float32 // aliases the owner's flat buffer
}

// LayerParams are one transformer block's weights (or their gradients).
type LayerParams struct {
	LN1W, LN1B []float32 // [C]
	QKVW       []float32 // [3C, C]
	QKVB       []float32 // [3C]
	AttProjW   []float32 // [C, C]
	AttProjB   []float32 // [C]
	LN2W, LN2B []float32 // [C]
	FCW        []float32 // [4C, C]
	FCB        []float32 // [4C]
	FCProjW    []float32 // [C, 4C]
	FCProjB    []float32 // [C]
}

// Params are all model weights carved from Data. The same type holds
// gradients and optimizer moments.
type Params struct {
	Config Config
	Data   []float32 // all tensors, in Tensors() order
	WTE    []float32 // [V, C] token embedding, tied output head
	WPE    []float32 // [P, C] sequence position embedding
	WRow   []float32 // [GR+1, C] image row embedding
	WCol   []float32 // [GC+1, C] image column embedding
	Layers []LayerParams
	LNFW   []float32 // [C]
	LNFB   []float32 // [C]

	// MatVec, when not nil, computes the weight products of every Decoder
	// made over these parameters (e.g. on a GPU); nil means the CPU kernels.
	// Training ignores it. To run the same weights both ways, copy the
	// struct (q := *p) and set the copy's MatVec: Data is shared.
	MatVec MatVec

	tensors []Tensor
	packs   *weightPacks // the decoders' packed weights (packed.go)
}

// NewParams allocates zeroed parameters for cfg; it panics if cfg is invalid
// (call cfg.Validate first on untrusted input).
func NewParams(cfg Config) *Params {
	if err := cfg.Validate(); err != nil {
		panic(err)
	}
	p := &Params{Config: cfg, Layers: make([]LayerParams, cfg.Layers), packs: &weightPacks{}}
	type slot struct {
		name  string
		shape []int
		dst   *[]float32
	}
	C, V := cfg.D, cfg.Vocab
	slots := []slot{
		{"wte", []int{V, C}, &p.WTE},
		{"wpe", []int{cfg.Ctx, C}, &p.WPE},
		{"wrow", []int{cfg.GridRows + 1, C}, &p.WRow},
		{"wcol", []int{cfg.GridCols + 1, C}, &p.WCol},
	}
	for l := range p.Layers {
		lp := &p.Layers[l]
		h := fmt.Sprintf("h.%d.", l)
		slots = append(slots,
			slot{h + "ln1.w", []int{C}, &lp.LN1W}, slot{h + "ln1.b", []int{C}, &lp.LN1B},
			slot{h + "qkv.w", []int{3 * C, C}, &lp.QKVW}, slot{h + "qkv.b", []int{3 * C}, &lp.QKVB},
			slot{h + "attproj.w", []int{C, C}, &lp.AttProjW}, slot{h + "attproj.b", []int{C}, &lp.AttProjB},
			slot{h + "ln2.w", []int{C}, &lp.LN2W}, slot{h + "ln2.b", []int{C}, &lp.LN2B},
			slot{h + "fc.w", []int{4 * C, C}, &lp.FCW}, slot{h + "fc.b", []int{4 * C}, &lp.FCB},
			slot{h + "fcproj.w", []int{C, 4 * C}, &lp.FCProjW}, slot{h + "fcproj.b", []int{C}, &lp.FCProjB},
		)
	}
	slots = append(slots, slot{"lnf.w", []int{C}, &p.LNFW}, slot{"lnf.b", []int{C}, &p.LNFB})
	total := 0
	for _, s := range slots {
		total += numel(s.shape)
	}
	p.Data = make([]float32, total)
	off := 0
	for _, s := range slots {
		n := numel(s.shape)
		*s.dst = p.Data[off : off+n : off+n]
		p.tensors = append(p.tensors, Tensor{Name: s.name, Shape: s.shape, Data: *s.dst})
		off += n
	}
	return p
}

func numel(shape []int) int {
	n := 1
	for _, d := range shape {
		n *= d
	}
	return n
}

// Tensors lists every tensor as a view into Data, with stable names
// ("wte", "h.0.qkv.w", "lnf.b", ...). The slice must not be modified.
func (p *Params) Tensors() []Tensor { return p.tensors }

// NumParams is len(Data).
func (p *Params) NumParams() int { return len(p.Data) }

// Init fills p as GPT-2 does: normal(0, 0.02) matrices and embeddings,
// residual projections scaled by 1/sqrt(2L), grid embeddings 0.002, zero
// biases, unit norm weights. The same seed gives the same weights.
func (p *Params) Init(seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x7769672d6e6e))
	fill := func(x []float32, std float64) {
		for i := range x {
			x[i] = float32(r.NormFloat64() * std)
		}
	}
	ones := func(x []float32) {
		for i := range x {
			x[i] = 1
		}
	}
	clear(p.Data)
	resid := 0.02 / math.Sqrt(2*float64(p.Config.Layers))
	fill(p.WTE, 0.02)
	fill(p.WPE, 0.02)
	fill(p.WRow, 0.002)
	fill(p.WCol, 0.002)
	for l := range p.Layers {
		lp := &p.Layers[l]
		ones(lp.LN1W)
		ones(lp.LN2W)
		fill(lp.QKVW, 0.02)
		fill(lp.AttProjW, resid)
		fill(lp.FCW, 0.02)
		fill(lp.FCProjW, resid)
	}
	ones(p.LNFW)
	p.Changed()
}
