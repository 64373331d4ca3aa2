package nn

import (
	"fmt"
	"sync"
)

// Trainer runs data-parallel steps: W workers, each a Model over the shared
// Params with its own activations and gradients, each on its own goroutine
// with single-threaded kernels. Gradients are summed into Grads.
type Trainer struct {
	Params  *Params
	Grads   *Params // summed gradient of the last Step (aliases Workers[0].Grads)
	Workers []*Model
	rowsPer int
}

// NewTrainer makes workers models that together take batches of up to
// maxB rows of maxT tokens.
func NewTrainer(p *Params, workers, maxB, maxT int) *Trainer {
	if workers <= 0 || workers > maxB {
		panic(fmt.Sprintf("nn.NewTrainer: need 0 < workers ≤ maxB, got %d workers for %d rows", workers, maxB))
	}
	per := (maxB + workers - 1) / workers
	tr := &Trainer{Params: p, rowsPer: per}
	for w := 0; w < workers; w++ {
		tr.Workers = append(tr.Workers, NewModel(p, per, maxT))
	}
	tr.Grads = tr.Workers[0].Grads
	return tr
}

// Step runs forward and backward on b, splitting rows across workers, leaves
// the summed gradient in Grads (overwritten, not accumulated) and returns the
// loss Σ w·CE / Σ w over the whole batch.
func (tr *Trainer) Step(b Batch) float32 {
	scale := b.lossScale()
	losses := make([]float64, len(tr.Workers))
	var wg sync.WaitGroup
	for w, m := range tr.Workers {
		lo := w * tr.rowsPer
		hi := min(lo+tr.rowsPer, b.B)
		m.ZeroGrad()
		if lo >= hi {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			losses[w] = m.forward(b.rows(lo, hi), scale)
			m.backward()
		}()
	}
	wg.Wait()
	tr.reduce()
	var loss float64
	for _, l := range losses {
		loss += l
	}
	return float32(loss)
}

// reduce sums every worker's gradient into worker 0's, in parallel chunks.
func (tr *Trainer) reduce() {
	if len(tr.Workers) == 1 {
		return
	}
	dst := tr.Grads.Data
	parts := len(tr.Workers)
	per := (len(dst) + parts - 1) / parts
	var wg sync.WaitGroup
	for lo := 0; lo < len(dst); lo += per {
		hi := min(lo+per, len(dst))
		wg.Add(1)
		go func() {
			defer wg.Done()
			for _, m := range tr.Workers[1:] {
				addTo(dst[lo:hi], m.Grads.Data[lo:hi])
			}
		}()
	}
	wg.Wait()
}
