// Package nn is twig's GPT-style decoder, written in the manner of llm.c:
// forward and backward functions side by side, parameters, gradients and
// activations carved from flat []float32 buffers, a shape comment on every
// tensor.
//
// Dimension glossary:
//
//	B   batch rows (sequences) in a step
//	T   tokens per row
//	N   B*T, positions in a step
//	C   channels, the model width (= Config.D)
//	NH  attention heads; HS = C/NH channels per head
//	V   vocabulary size
//	L   layers
//	P   positions a row may address (Config.Ctx)
//	GR, GC  image grid rows / columns; index GR (GC) means "not an image token"
//
// Sequence packing: a row holds several documents. DocStart[t] is the
// row-local index where t's document begins; position t attends to s with
// DocStart[t] ≤ s ≤ t, and only those s are ever visited.
package nn

import "fmt"

// Config is the model's shape. It is a plain value; Validate checks it.
type Config struct {
	Vocab    int `json:"vocab"`     // V, tokens in the vocabulary
	Ctx      int `json:"ctx"`       // P, sequence positions (rows of wpe)
	D        int `json:"d"`         // C, model width
	Layers   int `json:"layers"`    // L, transformer blocks
	Heads    int `json:"heads"`     // NH, attention heads; must divide D
	GridRows int `json:"grid_rows"` // GR, image rows (wrow has GR+1 rows)
	GridCols int `json:"grid_cols"` // GC, image columns (wcol has GC+1 rows)
}

// Upper bounds on a config's dimensions. A config may come from a file
// someone forged: every size it declares is bounded before anything is
// allocated, so a forged one gets an error, not a makeslice panic or an
// out-of-memory death. They are far above any model twig trains (d=256,
// 6 layers, a few hundred words, ctx under 1 K) and keep every product of
// two of them inside an int64.
const (
	MaxVocab  = 1 << 20
	MaxCtx    = 1 << 16
	MaxD      = 1 << 13
	MaxLayers = 256
	MaxHeads  = 1 << 10
	MaxGrid   = 1 << 10
)

// Validate reports the first field that cannot make a model.
func (c Config) Validate() error {
	switch {
	case c.Vocab <= 0 || c.Ctx <= 0 || c.D <= 0 || c.Layers <= 0 || c.Heads <= 0:
		return fmt.Errorf("nn config %+v: vocab, ctx, d, layers and heads must be positive", c)
	case c.Vocab > MaxVocab || c.Ctx > MaxCtx || c.D > MaxD || c.Layers > MaxLayers || c.Heads > MaxHeads:
		return fmt.Errorf("nn config: vocab=%d ctx=%d d=%d layers=%d heads=%d is over the limits (vocab %d, ctx %d, d %d, layers %d, heads %d)",
			c.Vocab, c.Ctx, c.D, c.Layers, c.Heads, MaxVocab, MaxCtx, MaxD, MaxLayers, MaxHeads)
	case c.D%c.Heads != 0:
		return fmt.Errorf("nn config: d=%d is not a multiple of heads=%d", c.D, c.Heads)
	case c.GridRows < 0 || c.GridCols < 0 || c.GridRows > MaxGrid || c.GridCols > MaxGrid:
		return fmt.Errorf("nn config: grid_rows=%d, grid_cols=%d must be 0 to %d", c.GridRows, c.GridCols, MaxGrid)
	}
	return nil
}

// NumParams is the number of parameters (float32s) of a model of config c,
// which must be valid: what NewParams would allocate, computed without
// allocating (to check a declared config against a budget first).
func (c Config) NumParams() int64 {
	C, V, P := int64(c.D), int64(c.Vocab), int64(c.Ctx)
	perLayer := 2*C + 3*C*C + 3*C + C*C + C + 2*C + 4*C*C + 4*C + 4*C*C + C
	return V*C + P*C + int64(c.GridRows+1)*C + int64(c.GridCols+1)*C + int64(c.Layers)*perLayer + 2*C
}

// Batch is one training step's input: B rows of T tokens, all slices of
// length B*T, row-major.
type Batch struct {
	B, T     int
	Tokens   []int32   // [B,T] token ids in [0,V)
	Pos      []int32   // [B,T] sequence positions in [0,P), restarting at 0 per document
	Row      []int32   // [B,T] image row in [0,GR], GR = not an image token
	Col      []int32   // [B,T] image column in [0,GC], GC = not an image token
	DocStart []int32   // [B,T] row-local index where this token's document starts
	Targets  []int32   // [B,T] next-token ids
	Weights  []float32 // [B,T] loss weight per position, 0 = ignored
	// Scale, when not 0, replaces the loss's 1/Σw normalisation: the loss
	// is Scale·Σ w·CE. Policy-gradient steps weigh tokens by signed
	// advantages, whose sum says nothing about the batch's size.
	Scale float32
}

// rows returns rows [lo,hi) of b as a sub-batch (views, no copy).
func (b Batch) rows(lo, hi int) Batch {
	s, e := lo*b.T, hi*b.T
	return Batch{B: hi - lo, T: b.T, Tokens: b.Tokens[s:e], Pos: b.Pos[s:e], Row: b.Row[s:e],
		Col: b.Col[s:e], DocStart: b.DocStart[s:e], Targets: b.Targets[s:e], Weights: b.Weights[s:e]}
}

// lossScale is the factor of the batch's loss: Scale, or 1/Σw (0 when no
// weight is positive).
func (b Batch) lossScale() float32 {
	if b.Scale != 0 {
		return b.Scale
	}
	if sw := b.weightSum(); sw > 0 {
		return float32(1 / sw)
	}
	return 0
}

func (b Batch) weightSum() float64 {
	var s float64
	for _, w := range b.Weights[:b.B*b.T] {
		s += float64(w)
	}
	return s
}
