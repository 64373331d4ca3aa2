package nn

import (
	"fmt"
	"math"
	"sync"

	"github.com/twig-project/twig/internal/kernels"
)

// StepDecoder is what a session decodes through: a *Decoder (one sequence)
// or a *BatchSlot (one sequence of a BatchDecoder's batch).
type StepDecoder interface {
	// Step appends one token (at sequence position pos, image row and col)
	// and returns the logits [V] for the next one, valid until this
	// decoder's next Step.
	Step(tok, pos, row, col int32) []float32
	// Len is the number of tokens in the cache.
	Len() int
	// Truncate rewinds the cache to its first n tokens (0 ≤ n ≤ Len).
	Truncate(n int)
	// Reset empties the cache.
	Reset()
}

var (
	_ StepDecoder = (*Decoder)(nil)
	_ StepDecoder = (*BatchSlot)(nil)
)

// BatchDecoder decodes many sequences at once so that the weight products
// are matrix-matrix (GEMM) instead of one matrix-vector product per
// sequence: each step runs the submitted tokens of all slots as the rows
// of one batch, while attention runs per sequence over its own cache.
//
// Two ways to drive it:
//   - Slot(i).Step from one goroutine per slot: a Step blocks until every
//     open slot has submitted its next token (or closed), then one batched
//     forward computes them all. N engine runs in N goroutines share a batch.
//   - StepBatch from a single goroutine, for callers that hold all
//     sequences themselves. Do not mix the two while slots are blocked.
//
// The weight products read the Params' packed copy of the weights (shared
// with every Decoder over the same Params and rebuilt after
// Params.Changed). Params.MatVec is not used.
type BatchDecoder struct {
	p          *Params
	cap, slots int
	pool       kernels.Pool
	slot       []BatchSlot
	half       bool // the products read the half-precision weights

	// batch activations, one row per submitted token
	x, ln, qkv, atty, proj, fch, logits []float32
	mean, rstd                          []float32 // [slots] layernorm stats (unused)
	scores                              []float32 // [threads·cap]
	kv                                  []uint16  // [slots·2C] the rows' keys and values as halves
	in                                  []BatchToken

	mu      sync.Mutex
	cond    sync.Cond
	gen     uint64 // batches run so far; waiters watch it change
	open    int    // slots not closed
	pending int    // open slots that have submitted a token
}

// BatchToken is one slot's next token for StepBatch.
type BatchToken struct {
	Slot               int
	Tok, Pos, Row, Col int32
}

// BatchSlot is one sequence of a BatchDecoder. Its methods are for one
// goroutine at a time; different slots may be driven from different
// goroutines concurrently.
type BatchSlot struct {
	b      *BatchDecoder
	i      int
	n      int       // tokens in the cache
	k, v   []uint16  // keys [L,NH,cap/keyBlock,HS,keyBlock], values [L,NH,cap,HS], halves
	logits []float32 // [V]
	tok    BatchToken
	state  slotState
}

type slotState uint8

const (
	slotOpen    slotState = iota // not waiting
	slotPending                  // submitted a token, waiting for the batch
	slotClosed                   // finished: batches no longer wait for it
)

// NewBatchDecoder makes a decoder for up to slots sequences of up to
// capacity tokens each (capacity ≤ Ctx). All slots start open and empty.
func NewBatchDecoder(p *Params, slots, capacity int) *BatchDecoder {
	cfg := p.Config
	if capacity <= 0 || capacity > cfg.Ctx {
		panic(fmt.Sprintf("nn.NewBatchDecoder: capacity %d outside [1,%d]", capacity, cfg.Ctx))
	}
	if slots <= 0 {
		panic(fmt.Sprintf("nn.NewBatchDecoder: %d slots", slots))
	}
	C, V := cfg.D, cfg.Vocab
	b := &BatchDecoder{p: p, cap: capacity, slots: slots, open: slots}
	if halfWeightsWanted() {
		b.half = true
		p.packed().halves(p)
	}
	b.cond.L = &b.mu
	S := slots
	sizes := []int{S * C, S * C, 3 * S * C, S * C, S * C, 4 * S * C, S * V, S, S, capacity}
	dsts := []*[]float32{&b.x, &b.ln, &b.qkv, &b.atty, &b.proj, &b.fch, &b.logits, &b.mean, &b.rstd, &b.scores}
	carve(sizes, dsts)
	b.slot = make([]BatchSlot, slots)
	for i := range b.slot {
		s := &b.slot[i]
		s.b, s.i = b, i
		s.logits = make([]float32, V)
		s.k, s.v, _ = newKVCache(cfg, capacity)
	}
	b.kv = make([]uint16, S*2*C)
	b.in = make([]BatchToken, 0, slots)
	b.SetThreads(1)
	return b
}

// carve allocates one buffer and cuts it into the given sizes.
func carve(sizes []int, dsts []*[]float32) {
	total := 0
	for _, s := range sizes {
		total += s
	}
	buf := make([]float32, total)
	off := 0
	for i, s := range sizes {
		*dsts[i] = buf[off : off+s : off+s]
		off += s
	}
}

// Repack re-reads the weights after Data changed: it is Params.Changed.
func (b *BatchDecoder) Repack() { b.p.Changed() }

// SetThreads sets how many threads a batched forward may use: its products
// and its attention rows are split over them (default 1). Every slot's
// goroutine waits on the forward, so on idle cores more threads shorten the
// wait; on a machine whose other cores are busy they lengthen it (measured:
// 8 slots, 2 threads, the other core loaded: 24 K tokens/s against 28 K).
func (b *BatchDecoder) SetThreads(n int) {
	b.pool.Threads = max(n, 1)
	if need := b.pool.Threads * b.cap; len(b.scores) < need {
		b.scores = make([]float32, need)
	}
}

// Slots is the number of slots.
func (b *BatchDecoder) Slots() int { return b.slots }

// Slot returns slot i (0 ≤ i < Slots).
func (b *BatchDecoder) Slot(i int) *BatchSlot { return &b.slot[i] }

// Len is the number of tokens in the slot's cache.
func (s *BatchSlot) Len() int { return s.n }

// Truncate rewinds the slot's cache to its first n tokens (0 ≤ n ≤ Len).
func (s *BatchSlot) Truncate(n int) {
	if n < 0 || n > s.n {
		panic(fmt.Sprintf("nn.BatchSlot.Truncate(%d) with %d tokens cached", n, s.n))
	}
	s.n = n
}

// Reset empties the slot's cache; a closed slot opens again (batches wait
// for it from now on).
func (s *BatchSlot) Reset() {
	s.n = 0
	b := s.b
	b.mu.Lock()
	if s.state == slotClosed {
		s.state = slotOpen
		b.open++
	}
	b.mu.Unlock()
}

// Logits returns the logits of the slot's last step.
func (s *BatchSlot) Logits() []float32 { return s.logits }

// Step submits the slot's next token, waits until every open slot has
// submitted one (or closed), and returns this slot's logits [V], valid until
// its next Step. The last slot to arrive runs the batched forward. It panics
// when the slot's cache is full or the slot is closed.
func (s *BatchSlot) Step(tok, pos, row, col int32) []float32 {
	if s.n >= s.b.cap {
		panic(fmt.Sprintf("nn.BatchSlot.Step: cache full (%d tokens)", s.b.cap))
	}
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.state != slotOpen {
		panic("nn.BatchSlot.Step: slot is closed")
	}
	s.tok = BatchToken{Slot: s.i, Tok: tok, Pos: pos, Row: row, Col: col}
	s.state = slotPending
	b.pending++
	if b.pending == b.open {
		b.runPending()
		return s.logits
	}
	for gen := b.gen; b.gen == gen; {
		b.cond.Wait()
	}
	return s.logits
}

// Close marks the slot's sequence finished: batches stop waiting for it.
// If every other open slot is already waiting, their batch runs now.
// Reset opens the slot again.
func (s *BatchSlot) Close() {
	b := s.b
	b.mu.Lock()
	defer b.mu.Unlock()
	if s.state == slotClosed {
		return
	}
	s.state = slotClosed
	b.open--
	if b.pending > 0 && b.pending == b.open {
		b.runPending()
	}
}

// runPending runs the batch of every pending slot and wakes their Steps.
// Called with b.mu held.
func (b *BatchDecoder) runPending() {
	b.in = b.in[:0]
	for i := range b.slot {
		if s := &b.slot[i]; s.state == slotPending {
			b.in = append(b.in, s.tok)
			s.state = slotOpen
		}
	}
	b.forward(b.in)
	b.pending = 0
	b.gen++
	b.cond.Broadcast()
}

// StepBatch appends one token to each listed slot (each slot at most once)
// and computes them in one batched forward; each slot's logits are then at
// Slot(i).Logits(). It does not wait for other slots and must not run
// while any slot is blocked in Step.
func (b *BatchDecoder) StepBatch(in []BatchToken) {
	for k, t := range in {
		if t.Slot < 0 || t.Slot >= b.slots {
			panic(fmt.Sprintf("nn.BatchDecoder.StepBatch: slot %d outside [0,%d)", t.Slot, b.slots))
		}
		if s := &b.slot[t.Slot]; s.n >= b.cap {
			panic(fmt.Sprintf("nn.BatchDecoder.StepBatch: slot %d cache full (%d tokens)", t.Slot, b.cap))
		}
		for _, u := range in[:k] {
			if u.Slot == t.Slot {
				panic(fmt.Sprintf("nn.BatchDecoder.StepBatch: slot %d listed twice", t.Slot))
			}
		}
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.forward(in)
}

// forward runs one decoding step for the tokens in (one row each).
func (b *BatchDecoder) forward(in []BatchToken) {
	R := len(in)
	if R == 0 {
		return
	}
	p := b.p
	cfg := p.Config
	C, V := cfg.D, cfg.Vocab
	x, ln, qkv, atty := b.x[:R*C], b.ln[:R*C], b.qkv[:R*3*C], b.atty[:R*C]
	proj, fch := b.proj[:R*C], b.fch[:R*4*C]
	pk := p.packed()
	var hw *halfWeights
	if b.half {
		hw = pk.halves(p)
	}
	for r, t := range in {
		encoderForward(x[r*C:r*C+C], []int32{t.Tok}, []int32{t.Pos}, []int32{t.Row}, []int32{t.Col}, p.WTE, p.WPE, p.WRow, p.WCol, 1, C)
	}
	for l := range p.Layers {
		w, pw := &p.Layers[l], &pk.layers[l]
		layernormForward(ln, b.mean, b.rstd, x, w.LN1W, w.LN1B, R, C)
		b.matmul(qkv, ln, pw.qkv, hw.get(l, 0), w.QKVB, R)
		for r := range R {
			kernels.F32ToF16(b.kv[r*2*C:r*2*C+2*C], qkv[r*3*C+C:r*3*C+3*C])
		}
		// Attention per sequence, the rows split over the threads (each
		// with its own scores): the slots' goroutines all wait on this.
		if th := min(b.pool.Threads, R); th > 1 {
			b.attendThreads(th, l, in, qkv, atty)
		} else {
			b.attend(l, in, qkv, atty, b.scores[:b.cap], 0, R)
		}
		b.matmul(proj, atty, pw.attProj, hw.get(l, 1), w.AttProjB, R)
		addTo(x, proj)
		layernormForward(ln, b.mean, b.rstd, x, w.LN2W, w.LN2B, R, C)
		b.matmul(fch, ln, pw.fc, hw.get(l, 2), w.FCB, R)
		geluForward(fch, fch, R*4*C)
		b.matmul(proj, fch, pw.fcProj, hw.get(l, 3), w.FCProjB, R)
		addTo(x, proj)
	}
	layernormForward(ln, b.mean, b.rstd, x, p.LNFW, p.LNFB, R, C)
	logits := b.logits[:R*V]
	if hw != nil {
		b.pool.MatMulTHalf(logits, ln, R, hw.wte)
	} else {
		b.pool.MatMulTPacked(logits, ln, R, pk.wte)
	}
	for r, t := range in {
		s := &b.slot[t.Slot]
		copy(s.logits, logits[r*V:r*V+V])
		s.n++
	}
}

// attendThreads is attend over all rows, split over th goroutines (kept
// out of forward: the goroutines' captures would move its variables to
// the heap on every path).
func (b *BatchDecoder) attendThreads(th, l int, in []BatchToken, qkv, atty []float32) {
	R := len(in)
	var wg sync.WaitGroup
	per := (R + th - 1) / th
	for i := 1; i < th; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b.attend(l, in, qkv, atty, b.scores[i*b.cap:(i+1)*b.cap], i*per, min((i+1)*per, R))
		}()
	}
	b.attend(l, in, qkv, atty, b.scores[:b.cap], 0, min(per, R))
	wg.Wait()
}

// attend runs layer l's attention for rows [lo,hi) of the batch in: each
// row's query against its slot's caches, after appending the row's key and
// value (b.kv, halves) to them.
func (b *BatchDecoder) attend(l int, in []BatchToken, qkv, atty, scores []float32, lo, hi int) {
	cfg := b.p.Config
	C, NH := cfg.D, cfg.Heads
	HS := C / NH
	scale := float32(1 / math.Sqrt(float64(HS)))
	for r := lo; r < hi; r++ {
		s := &b.slot[in[r].Slot]
		t := s.n
		q, kv := qkv[r*3*C:r*3*C+C], b.kv[r*2*C:r*2*C+2*C]
		for h := 0; h < NH; h++ {
			kc, vc := cacheHead(s.k, s.v, l*NH+h, b.cap, HS)
			attendOne(atty[r*C+h*HS:r*C+h*HS+HS], scores[:t+1], q[h*HS:h*HS+HS], kv[h*HS:h*HS+HS], kv[C+h*HS:C+h*HS+HS], kc, vc, t, HS, scale)
		}
	}
}

// matmul is out[R×n] = inp[R×k]·wᵀ + bias over the half-precision
// weights hw when not nil, else the packed float32 ones w.
func (b *BatchDecoder) matmul(out, inp []float32, w *kernels.PackedT, hw *kernels.HalfT, bias []float32, R int) {
	if hw != nil {
		b.pool.MatMulTHalf(out, inp, R, hw)
	} else {
		b.pool.MatMulTPacked(out, inp, R, w)
	}
	n := len(bias)
	for i := 0; i < R; i++ {
		addTo(out[i*n:i*n+n], bias)
	}
}
