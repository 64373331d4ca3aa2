package nn_test

import (
	"math"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/internal/nn"
)

// TestHalfCacheOnShippedWeights bounds what the decoders' half-precision
// key/value caches change on the shipped model and real documents: the
// log-probability each decoder gives every next token against the
// float32 training forward (whose attention keeps float32 keys and
// values), over whole documents of the training distribution (up to the
// run-realistic few hundred tokens). The single decoder runs its float32
// weights here (TestHalfWeightsOnShippedWeights bounds the half ones).
func TestHalfCacheOnShippedWeights(t *testing.T) {
	m, err := model.Default()
	if err != nil {
		t.Skip(err)
	}
	defer nn.SetHalfWeights(nn.SetHalfWeights(false))
	p := m.W.Params
	cfg := p.Config
	docs := model.NewDocStream(11, m.W.Vocab, model.DocOptions{Look: 0.5, Review: 0.5})
	const S = 4
	bd := nn.NewBatchDecoder(p, S, cfg.Ctx)
	var worst, sum float64
	var n int
	for k := 0; k < S; k++ {
		b, want := forwardDoc(p, docs.Next())
		d := nn.NewDecoder(p, cfg.Ctx)
		slot := bd.Slot(k)
		for i := 0; i < b.T; i++ {
			single := logProb(d.Step(b.Tokens[i], b.Pos[i], b.Row[i], b.Col[i]), b.Targets[i])
			bd.StepBatch([]nn.BatchToken{{Slot: k, Tok: b.Tokens[i], Pos: b.Pos[i], Row: b.Row[i], Col: b.Col[i]}})
			batched := logProb(slot.Logits(), b.Targets[i])
			for _, got := range []float64{single, batched} {
				diff := math.Abs(got - float64(want[i]))
				worst = max(worst, diff)
				sum += diff
				n++
			}
		}
	}
	t.Logf("half caches vs float32 forward over %d next-token log-probabilities: max |Δ| %.2e nats, mean %.2e", n, worst, sum/float64(n))
	if worst > 0.02 || sum/float64(n) > 1e-3 {
		t.Errorf("half caches move log-probabilities by up to %.2e nats (mean %.2e): over 0.02 (1e-3)", worst, sum/float64(n))
	}
}

// TestHalfWeightsOnShippedWeights bounds what the decoders' half-precision
// weights change on the shipped model and real documents: every next
// token's log-probability with half weights (a Decoder, and a slot of a
// BatchDecoder) against a Decoder with float32 weights (the weights'
// rounding alone: all keep half caches), and against the float32 training
// forward (weights and caches together).
func TestHalfWeightsOnShippedWeights(t *testing.T) {
	m, err := model.Default()
	if err != nil {
		t.Skip(err)
	}
	p := m.W.Params
	cfg := p.Config
	docs := model.NewDocStream(12, m.W.Vocab, model.DocOptions{Look: 0.5, Review: 0.5})
	// Four documents; the batch steps them together (its products are
	// then GEMM over up to four rows), the single decoders one by one.
	const S = 4
	var bs [S]nn.Batch
	var want [S][]float32
	longest := 0
	for k := range S {
		bs[k], want[k] = forwardDoc(p, docs.Next())
		longest = max(longest, bs[k].T)
	}
	var f32, half [S]*nn.Decoder
	for k := range S {
		f32[k], half[k] = nn.NewDecoder(p, cfg.Ctx), nn.NewDecoder(p, cfg.Ctx)
		f32[k].SetHalfWeights(false)
		half[k].SetHalfWeights(true)
	}
	bd := nn.NewBatchDecoder(p, S, cfg.Ctx) // half weights: the default
	var worstW, sumW, worstF, sumF float64
	var n int
	for i := 0; i < longest; i++ {
		var in []nn.BatchToken
		for k := range S {
			if b := bs[k]; i < b.T {
				in = append(in, nn.BatchToken{Slot: k, Tok: b.Tokens[i], Pos: b.Pos[i], Row: b.Row[i], Col: b.Col[i]})
			}
		}
		bd.StepBatch(in)
		for _, tk := range in {
			k, tgt := tk.Slot, bs[tk.Slot].Targets[i]
			f := logProb(f32[k].Step(tk.Tok, tk.Pos, tk.Row, tk.Col), tgt)
			single := logProb(half[k].Step(tk.Tok, tk.Pos, tk.Row, tk.Col), tgt)
			batched := logProb(bd.Slot(k).Logits(), tgt)
			for _, h := range []float64{single, batched} {
				dw, df := math.Abs(h-f), math.Abs(h-float64(want[k][i]))
				worstW, worstF = max(worstW, dw), max(worstF, df)
				sumW += dw
				sumF += df
				n++
			}
		}
	}
	t.Logf("half weights vs float32 weights over %d next-token log-probabilities: max |Δ| %.2e nats, mean %.2e", n, worstW, sumW/float64(n))
	t.Logf("half weights and caches vs the float32 forward: max |Δ| %.2e nats, mean %.2e", worstF, sumF/float64(n))
	if worstW > 0.02 || sumW/float64(n) > 1e-3 {
		t.Errorf("half weights move log-probabilities by up to %.2e nats (mean %.2e): over 0.02 (1e-3)", worstW, sumW/float64(n))
	}
	if worstF > 0.03 || sumF/float64(n) > 2e-3 {
		t.Errorf("half weights and caches move log-probabilities by up to %.2e nats (mean %.2e): over 0.03 (2e-3)", worstF, sumF/float64(n))
	}
}

// forwardDoc is doc's first min(len, Ctx) tokens as one sequence, each
// predicting the next (a Batch of T = that length - 1), and the float32
// training forward's log-probability of each of its targets.
func forwardDoc(p *nn.Params, doc model.Doc) (nn.Batch, []float32) {
	T := min(len(doc.Tokens), p.Config.Ctx)
	b := nn.Batch{B: 1, T: T - 1}
	for i := 0; i < T-1; i++ {
		b.Tokens = append(b.Tokens, doc.Tokens[i])
		b.Pos = append(b.Pos, int32(i))
		b.Row = append(b.Row, doc.Row[i])
		b.Col = append(b.Col, doc.Col[i])
		b.DocStart = append(b.DocStart, 0)
		b.Targets = append(b.Targets, doc.Tokens[i+1])
		b.Weights = append(b.Weights, 1)
	}
	fm := nn.NewModel(p, 1, T-1)
	fm.Forward(b)
	want := make([]float32, T-1)
	fm.TargetLogProbs(want)
	return b, want
}

// logProb is log softmax(logits)[tok] in float64.
func logProb(logits []float32, tok int32) float64 {
	mx := math.Inf(-1)
	for _, v := range logits {
		mx = max(mx, float64(v))
	}
	var s float64
	for _, v := range logits {
		s += math.Exp(float64(v) - mx)
	}
	return float64(logits[tok]) - mx - math.Log(s)
}
