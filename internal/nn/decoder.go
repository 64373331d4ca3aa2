package nn

import (
	"fmt"
	"math"

	"github.com/twig-project/twig/internal/kernels"
)

// MatVec is the Decoder's hook for running its heavy products elsewhere: it
// sets out[n] = w[n×k]·x[k], plus bias[n] when bias is not nil. The decoder
// calls it for the qkv, attention-projection and MLP products of every layer
// and for the logits (attention over the cache stays on the CPU). w and bias
// are always tensors of the Params and never change while a Decoder uses
// them, so an implementation may keep copies on a device, keyed by &w[0].
// Set it with Params.MatVec; nil uses the CPU kernels (the reference).
type MatVec interface {
	MatVec(out, x, w, bias []float32, k, n int)
}

// Decoder generates one token at a time with a key/value cache; all tokens
// fed since the last Reset form one document. It reads Params live (no
// copy). Not safe for concurrent use.
type Decoder struct {
	p    *Params
	cap  int
	n    int // tokens in the cache
	pool kernels.Pool
	mv   MatVec // Params.MatVec at NewDecoder; nil = CPU kernels
	half bool   // the products read the half-precision weights (halfWeights)

	k, v   []uint16  // cached keys [L,NH,cap/keyBlock,HS,keyBlock] and values [L,NH,cap,HS], halves
	kv     []uint16  // [2C] this token's keys and values as halves
	x      []float32 // [C] residual stream
	ln     []float32 // [C]
	qkv    []float32 // [3C]
	atty   []float32 // [C]
	proj   []float32 // [C]
	fch    []float32 // [4C]
	scores []float32 // [cap]
	logits []float32 // [V]
	stat   []float32 // [2] layernorm mean, rstd (unused)
}

// NewDecoder makes a decoder over p holding up to capacity tokens
// (capacity ≤ Ctx). Unless p.MatVec is set, its products read a copy of
// the weight matrices rounded to half precision (kernels.HalfT: at most
// 2⁻¹¹ relative error a weight; the sums stay float32), made here once
// for p's current weights and again after Params.Changed; see
// SetHalfWeights.
func NewDecoder(p *Params, capacity int) *Decoder {
	cfg := p.Config
	if capacity <= 0 || capacity > cfg.Ctx {
		panic(fmt.Sprintf("nn.NewDecoder: capacity %d outside [1,%d]", capacity, cfg.Ctx))
	}
	C, V := cfg.D, cfg.Vocab
	d := &Decoder{p: p, cap: capacity, mv: p.MatVec}
	if d.mv == nil && halfWeightsWanted() {
		d.half = true
		p.packed().halves(p)
	}
	sizes := []int{C, C, 3 * C, C, C, 4 * C, capacity, V, 2}
	dsts := []*[]float32{&d.x, &d.ln, &d.qkv, &d.atty, &d.proj, &d.fch, &d.scores, &d.logits, &d.stat}
	carve(sizes, dsts)
	d.k, d.v, d.kv = newKVCache(cfg, capacity)
	return d
}

// SetHalfWeights switches this decoder's products to the half-precision
// copy of the weights (on) or to the float32 weights (off), e.g. for a
// float32 reference beside an accelerator's products. It has no effect
// with a MatVec hook.
func (d *Decoder) SetHalfWeights(on bool) {
	d.half = on && d.mv == nil
	if d.half {
		d.p.packed().halves(d.p)
	}
}

// Len is the number of tokens in the cache.
func (d *Decoder) Len() int { return d.n }

// Truncate rewinds the cache to its first n tokens (0 ≤ n ≤ Len).
func (d *Decoder) Truncate(n int) {
	if n < 0 || n > d.n {
		panic(fmt.Sprintf("nn.Decoder.Truncate(%d) with %d tokens cached", n, d.n))
	}
	d.n = n
}

// Reset empties the cache.
func (d *Decoder) Reset() { d.n = 0 }

// Step appends one token (at sequence position pos, image row and col) and
// returns the logits [V] for the next token. The slice is owned by the
// decoder and valid until the next call. It panics when the cache is full.
func (d *Decoder) Step(tok, pos, row, col int32) []float32 {
	if d.n >= d.cap {
		panic(fmt.Sprintf("nn.Decoder.Step: cache full (%d tokens)", d.cap))
	}
	p := d.p
	cfg := p.Config
	C, NH, V := cfg.D, cfg.Heads, cfg.Vocab
	HS := C / NH
	scale := float32(1 / math.Sqrt(float64(HS)))
	t := d.n
	var pk *packedWeights
	var hw *halfWeights
	if d.mv == nil {
		pk = p.packed()
		if d.half {
			hw = pk.halves(p)
		}
	}
	encoderForward(d.x, []int32{tok}, []int32{pos}, []int32{row}, []int32{col}, p.WTE, p.WPE, p.WRow, p.WCol, 1, C)
	for l := range p.Layers {
		w := &p.Layers[l]
		var pw *packedLayer
		if pk != nil {
			pw = &pk.layers[l]
		}
		layernormForward(d.ln, d.stat[:1], d.stat[1:], d.x, w.LN1W, w.LN1B, 1, C)
		d.matvec(d.qkv, d.ln, w.QKVW, w.QKVB, C, 3*C, pw.get(0), hw.get(l, 0))
		kernels.F32ToF16(d.kv, d.qkv[C:3*C])
		for h := 0; h < NH; h++ {
			kc, vc := cacheHead(d.k, d.v, l*NH+h, d.cap, HS)
			attendOne(d.atty[h*HS:h*HS+HS], d.scores[:t+1], d.qkv[h*HS:h*HS+HS], d.kv[h*HS:h*HS+HS], d.kv[C+h*HS:C+h*HS+HS], kc, vc, t, HS, scale)
		}
		d.matvec(d.proj, d.atty, w.AttProjW, w.AttProjB, C, C, pw.get(1), hw.get(l, 1))
		addTo(d.x, d.proj)
		layernormForward(d.ln, d.stat[:1], d.stat[1:], d.x, w.LN2W, w.LN2B, 1, C)
		d.matvec(d.fch, d.ln, w.FCW, w.FCB, C, 4*C, pw.get(2), hw.get(l, 2))
		geluForward(d.fch, d.fch, 4*C)
		d.matvec(d.proj, d.fch, w.FCProjW, w.FCProjB, 4*C, C, pw.get(3), hw.get(l, 3))
		addTo(d.x, d.proj)
	}
	layernormForward(d.ln, d.stat[:1], d.stat[1:], d.x, p.LNFW, p.LNFB, 1, C)
	var wte *kernels.PackedT
	var wteHalf *kernels.HalfT
	if pk != nil {
		wte = pk.wte
	}
	if hw != nil {
		wteHalf = hw.wte
	}
	d.matvec(d.logits, d.ln, p.WTE, nil, C, V, wte, wteHalf)
	d.n++
	return d.logits[:V]
}

// matvec is out[n] = w[n×k]·x[k] + bias through the hook, or the CPU
// kernels over the half-precision copy hw of w when not nil, else the
// packed copy pw.
func (d *Decoder) matvec(out, x, w, bias []float32, k, n int, pw *kernels.PackedT, hw *kernels.HalfT) {
	switch {
	case d.mv != nil:
		d.mv.MatVec(out[:n], x[:k], w[:n*k], bias, k, n)
		return
	case hw != nil:
		kernels.MatVecHalf(out[:n], x[:k], hw)
	default:
		d.pool.MatMulTPacked(out[:n], x[:k], 1, pw)
	}
	if bias != nil {
		addTo(out[:n], bias[:n])
	}
}

// get returns layer l's i-th matrix (qkv, attProj, fc, fcProj); nil when
// the half-precision weights are not in use (hw nil).
func (hw *halfWeights) get(l, i int) *kernels.HalfT {
	if hw == nil {
		return nil
	}
	return hw.layers[l][i]
}

// get returns the i-th matrix of the layer (qkv, attProj, fc, fcProj); nil
// for a nil layer (the MatVec hook is in use).
func (pl *packedLayer) get(i int) *kernels.PackedT {
	if pl == nil {
		return nil
	}
	return [...]*kernels.PackedT{pl.qkv, pl.attProj, pl.fc, pl.fcProj}[i]
}

// keyBlock is how many positions the key cache keeps together: per head the
// keys are stored in blocks of keyBlock positions, each block transposed
// ([HS][keyBlock]), so the scores of a block are one vector-matrix product
// over contiguous memory (a plain transposed [HS][cap] cache reads HS rows
// cap apart, which costs more in cache misses and TLB entries).
const keyBlock = kernels.KeyBlock

// keyBlocks is capacity rounded up to whole key blocks.
func keyBlocks(capacity int) int { return (capacity + keyBlock - 1) / keyBlock * keyBlock }

// The key/value caches hold halves (kernels.F32ToF16: rounded to nearest,
// 11 significant bits), and attention sums in float32: per token it streams
// the whole cache, which from a few hundred positions on costs more than
// the weights a batch shares, so half the bytes is nearly half the time.

// cachePad is the slack after a cache's last head: kernels.VecMatF16 reads
// rows of values 32 halves at a time.
const cachePad = 32

// newKVCache allocates a sequence's key and value caches for capacity
// positions (each head's part starts on a 64-byte line: its size is a
// multiple of 32 halves) and the [2C] scratch for a token's keys and
// values.
func newKVCache(cfg Config, capacity int) (k, v, kv []uint16) {
	C, L := cfg.D, cfg.Layers
	nk, nv := L*keyBlocks(capacity)*C, L*capacity*C
	buf := make([]uint16, nk+cachePad+nv+cachePad+2*C)
	return buf[:nk:nk], buf[nk+cachePad : nk+cachePad+nv : nk+cachePad+nv+cachePad], buf[nk+nv+2*cachePad:]
}

// cacheHead returns the key and value caches of head lh (= layer·NH+head),
// the values' slice extending into the padding after it.
func cacheHead(k, v []uint16, lh, capacity, HS int) (kc, vc []uint16) {
	nk, nv := keyBlocks(capacity)*HS, capacity*HS
	return k[lh*nk : lh*nk+nk], v[lh*nv : lh*nv+nv+cachePad]
}

// attendOne appends position t's key and value (kh, vh [HS], halves) to
// one head's caches (kT in key blocks, v [cap,HS]) and sets out [HS] to the
// head's attention for query q [HS] over positions [0,t].
func attendOne(out, scores, q []float32, kh, vh, kT, v []uint16, t, HS int, scale float32) {
	blk := kT[t/keyBlock*HS*keyBlock:][:HS*keyBlock]
	for c, x := range kh[:HS] {
		blk[c*keyBlock+t%keyBlock] = x
	}
	copy(v[t*HS:t*HS+HS], vh[:HS])
	kernels.KeyScoresF16(scores[:t+1], q, kT, HS, t+1)
	kernels.Softmax(scores[:t+1], scale)
	kernels.VecMatF16(out, scores[:t+1], v, t+1, HS, HS)
}
