// Package train trains the embedded model on documents streamed from the
// synthetic world: packed rows, AdamW with warm-up and cosine decay,
// checkpoints that resume exactly, and a one-line progress display.
package train

import (
	"math/rand/v2"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/nn"
)

// packer fills batch rows with whole documents back to back (no padding);
// when the next document does not fit, the row's tail holds its prefix, which
// is still a valid training example for the positions it covers.
type packer struct {
	batch nn.Batch
}

func newPacker(b, t int) *packer {
	n := b * t
	return &packer{batch: nn.Batch{B: b, T: t,
		Tokens: make([]int32, n), Pos: make([]int32, n), Row: make([]int32, n), Col: make([]int32, n),
		DocStart: make([]int32, n), Targets: make([]int32, n), Weights: make([]float32, n)}}
}

// fill packs a fresh batch from the stream and returns it with the number of
// weighted target tokens it holds.
func (p *packer) fill(next func() model.Doc) (nn.Batch, int) {
	b := p.batch
	weighted := 0
	for r := 0; r < b.B; r++ {
		base := r * b.T
		i := 0
		for i < b.T {
			d := next()
			n := min(d.Len()-1, b.T-i) // positions this document fills
			start := int32(i)
			for k := 0; k < n; k++ {
				at := base + i + k
				b.Tokens[at] = d.Tokens[k]
				b.Pos[at] = int32(k)
				b.Row[at] = d.Row[k]
				b.Col[at] = d.Col[k]
				b.DocStart[at] = start
				b.Targets[at] = d.Tokens[k+1]
				b.Weights[at] = d.Weight[k+1]
				if d.Weight[k+1] > 0 {
					weighted++
				}
			}
			i += n
		}
	}
	return b, weighted
}

// stepRNG gives every step its own generator, so a resumed run sees exactly
// the documents the uninterrupted run would have seen.
func stepSeed(seed uint64, step int) uint64 {
	r := rand.New(rand.NewPCG(seed, uint64(step)+0x5bd1e995))
	return r.Uint64()
}
