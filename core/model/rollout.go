package model

import (
	"context"
	"math"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/nn"
)

// Rollout is one run of the real engine recorded for reinforcement
// learning: what it drew, and every token the model generated — thoughts,
// plan reviews, image tokens, descriptions — in sequences that hold each
// token's context as it was when the token was chosen.
type Rollout struct {
	Result engine.Result
	// Seqs are the token streams the run generated in: the context a run of
	// tokens was generated after (weight 0), then those tokens (weight 1);
	// a stream that a side branch (a review, a description) rewound starts
	// a new sequence with its context copied.
	Seqs []Doc
	// LogP holds, for each sequence, the log-probability the model gave
	// each generated token (softmax of its logits, temperature 1), aligned
	// with Seqs[i].Tokens; 0 for context tokens.
	LogP [][]float32
	// Generated counts the generated tokens.
	Generated int
}

// seqRecorder builds a rollout's sequences as the session generates.
type seqRecorder struct {
	seqs []Doc
	logp [][]float32
	gen  int
}

func (r *seqRecorder) generated(ctx []item, next item, logits []float32) {
	k := len(r.seqs) - 1
	if k < 0 || !continues(r.seqs[k], ctx) {
		r.seqs = append(r.seqs, Doc{})
		r.logp = append(r.logp, nil)
		k++
	}
	d := &r.seqs[k]
	for _, it := range ctx[d.Len():] {
		d.add(int(it.tok), int(it.row), int(it.col), 0)
		r.logp[k] = append(r.logp[k], 0)
	}
	d.add(int(next.tok), int(next.row), int(next.col), 1)
	r.logp[k] = append(r.logp[k], logSoftmaxAt(logits, int(next.tok)))
	r.gen++
}

// continues reports whether the sequence so far is a prefix of ctx.
func continues(d Doc, ctx []item) bool {
	if d.Len() > len(ctx) {
		return false
	}
	for i, it := range ctx[:d.Len()] {
		if d.Tokens[i] != it.tok || d.Row[i] != it.row || d.Col[i] != it.col {
			return false
		}
	}
	return true
}

func logSoftmaxAt(logits []float32, k int) float32 {
	mx := logits[0]
	for _, l := range logits {
		mx = max(mx, l)
	}
	var z float64
	for _, l := range logits {
		z += math.Exp(float64(l - mx))
	}
	return float32(float64(logits[k]-mx) - math.Log(z))
}

// Rollout draws prompt through the engine with settings, decoding through
// dec (a slot of a batch decoder, so that many rollouts share each forward
// pass; nil = a decoder of its own), and records every generated token.
func (m *Model) Rollout(ctx context.Context, prompt string, seed int64, settings engine.Settings, dec nn.StepDecoder) (Rollout, error) {
	rec := &seqRecorder{}
	b := &rolloutBackend{m: m, rec: rec, dec: dec}
	res, err := engine.Draw(ctx, b, engine.RunSpec{Prompt: prompt, Seed: seed, Settings: settings}, nil)
	if err != nil {
		return Rollout{}, err
	}
	return Rollout{Result: res, Seqs: rec.seqs, LogP: rec.logp, Generated: rec.gen}, nil
}

// rolloutBackend is the model with one recorded session.
type rolloutBackend struct {
	m   *Model
	rec recorder
	dec nn.StepDecoder
}

func (b *rolloutBackend) DefaultBands() int { return b.m.DefaultBands() }

func (b *rolloutBackend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	r, err := b.m.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	s := r.(*run).s
	s.rec = b.rec
	if b.dec != nil {
		b.dec.Reset()
		s.dec = b.dec
	}
	return r, nil
}
