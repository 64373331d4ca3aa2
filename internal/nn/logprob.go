package nn

import "math"

// TargetLogProbs writes, for every position of the last Forward's batch,
// the log-probability the model gave its target token (dst has B×T
// entries). Call it before Backward, which turns the probabilities into
// gradients. RL uses it for the reference model's log-probabilities.
func (m *Model) TargetLogProbs(dst []float32) {
	b := m.batch
	V := m.Params.Config.Vocab
	for i := 0; i < b.B*b.T; i++ {
		p := float64(m.probs[i*V+int(b.Targets[i])])
		dst[i] = float32(math.Log(math.Max(p, 1e-30)))
	}
}
