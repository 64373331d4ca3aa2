package nn

import (
	"sync"
	"sync/atomic"

	"github.com/twig-project/twig/internal/kernels"
)

// weightPacks caches the decoder's weight matrices packed for the kernels
// (kernels.PackT): a one-token product then streams each matrix as one
// contiguous run, about a fifth faster than reading it row by row, and a
// batch of tokens skips packing. It is shared by copies of a Params struct
// (which share Data) and rebuilt on first use after Params.Changed.
type weightPacks struct {
	mu      sync.Mutex
	version atomic.Uint64
	cur     atomic.Pointer[packedWeights]
}

// packedWeights is one packing of the weights, valid for version and for
// the kernel path it was packed for.
type packedWeights struct {
	version uint64
	kernel  string
	layers  []packedLayer
	wte     *kernels.PackedT

	halfOnce sync.Once
	half     *halfWeights // made by halves on first use
}

type packedLayer struct{ qkv, attProj, fc, fcProj *kernels.PackedT }

// halfWeights are the decoder's weight matrices rounded to halves
// (kernels.HalfT): one sequence's token streams every matrix once, from
// the L3 (3.3 MB of float32 for the shipped model, more than a core's
// L2), so half the bytes is most of a token's time saved. The
// BatchDecoder reads them too (kernels.MatMulTHalf); training keeps
// float32.
type halfWeights struct {
	layers [][4]*kernels.HalfT // qkv, attProj, fc, fcProj
	wte    *kernels.HalfT
}

// halves returns the half-precision copy of these packed weights, making
// it on first use (about a millisecond for the shipped model).
func (c *packedWeights) halves(p *Params) *halfWeights {
	c.halfOnce.Do(func() {
		C, V := p.Config.D, p.Config.Vocab
		h := &halfWeights{layers: make([][4]*kernels.HalfT, len(p.Layers)), wte: kernels.PackHalfT(p.WTE, V, C)}
		for l := range p.Layers {
			lp := &p.Layers[l]
			h.layers[l] = [4]*kernels.HalfT{
				kernels.PackHalfT(lp.QKVW, 3*C, C),
				kernels.PackHalfT(lp.AttProjW, C, C),
				kernels.PackHalfT(lp.FCW, 4*C, C),
				kernels.PackHalfT(lp.FCProjW, C, 4*C),
			}
		}
		c.half = h
	})
	return c.half
}

// halfWeightsOn says whether decoders made from now on use half-precision
// weights (SetHalfWeights).
var halfWeightsOn atomic.Bool

func init() { halfWeightsOn.Store(true) }

// SetHalfWeights turns the decoders' (Decoder, BatchDecoder) half-precision
// weights on (the default) or off for decoders made after the call, and
// returns the previous setting: for benchmarks and tests that compare the
// float32 weights side by side. On the "rows" kernel path (the
// kernels as they were, kernels.SetKernel) decoders always use float32.
func SetHalfWeights(on bool) (prev bool) { return halfWeightsOn.Swap(on) }

// halfWeightsWanted says whether a decoder made now reads the
// half-precision weights: SetHalfWeights on, and a kernel path other than
// "rows".
func halfWeightsWanted() bool { return halfWeightsOn.Load() && kernels.Kernel() != "rows" }

// Changed tells the decoders that Data was written: the next Step repacks
// the weights (about a millisecond for the shipped model). Optimizer.Update
// calls it; call it after writing Data any other way (loading a
// checkpoint into Params that decoders have used, editing weights by hand).
func (p *Params) Changed() {
	if p.packs != nil {
		p.packs.version.Add(1)
	}
}

// packed returns the packed weights, packing them if Data changed since.
func (p *Params) packed() *packedWeights {
	w := p.packs
	v := w.version.Load()
	k := kernels.Kernel()
	if c := w.cur.Load(); c != nil && c.version == v && c.kernel == k {
		return c
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if c := w.cur.Load(); c != nil && c.version == v && c.kernel == k {
		return c
	}
	C, V := p.Config.D, p.Config.Vocab
	c := &packedWeights{version: v, kernel: k, layers: make([]packedLayer, len(p.Layers)), wte: kernels.PackT(p.WTE, V, C)}
	for l := range p.Layers {
		lp := &p.Layers[l]
		c.layers[l] = packedLayer{
			qkv:     kernels.PackT(lp.QKVW, 3*C, C),
			attProj: kernels.PackT(lp.AttProjW, C, C),
			fc:      kernels.PackT(lp.FCW, 4*C, C),
			fcProj:  kernels.PackT(lp.FCProjW, C, 4*C),
		}
	}
	w.cur.Store(c)
	return c
}
