package model

import (
	"math"
	"math/rand/v2"

	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// planPrefix is a true scene's bands up to a random band b, as a reviewing
// run holds them, then "<think>" and band b's row header: the point where
// the model writes its own plan. dec holds the prefix (n tokens) and logits
// are the model's logits after it.
type planPrefix struct {
	d       Doc
	earlier []string // the earlier bands' thoughts
	header  []string
	sc      scene.Scene
	r0, r1  int
	n       int
	logits  []float32
}

// newPlanPrefix draws the band (cuts and band from rng) and decodes the
// prefix through dec.
func newPlanPrefix(rng *rand.Rand, v *Vocab, spec scene.Spec, sc scene.Scene, dec nn.StepDecoder) *planPrefix {
	p := &planPrefix{sc: sc}
	d := &p.d
	d.add(TokBOS, NoGrid, NoGrid, 0)
	d.addWords(v.MustIDs(thought.ModelPromptWords(spec)), 0)
	img := scene.Render(sc)
	cuts := EqualBands(2 + rng.IntN(3))
	if rng.IntN(4) == 0 {
		cuts = randomCuts(rng)
	}
	band := rng.IntN(len(cuts) - 1)
	for b := 0; b < band; b++ {
		r0, r1 := cuts[b], cuts[b+1]
		words := append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(sc, r0, r1))...)
		p.earlier = append(p.earlier, joinWords(words))
		d.add(TokThink, NoGrid, NoGrid, 0)
		d.addWords(v.MustIDs(words), 0)
		d.add(TokEndThink, NoGrid, NoGrid, 0)
		d.addReviewWeighted(v, nil, 0)
		d.addRows(img, r0, r1, 0)
	}
	p.r0, p.r1 = cuts[band], cuts[band+1]
	d.add(TokThink, NoGrid, NoGrid, 0)
	p.header = thought.HeaderWords(p.r0, p.r1)
	d.addWords(v.MustIDs(p.header), 0)
	// The model writes the plan after the prefix, as a run would.
	dec.Reset()
	for i := range d.Tokens {
		p.logits = dec.Step(d.Tokens[i], int32(i), d.Row[i], d.Col[i])
	}
	p.logits = append([]float32(nil), p.logits...)
	p.n = dec.Len()
	return p
}

// sample has the model write a plan after the prefix (sampled as at
// inference, from rng): its token ids, up to and with "</think>", and its
// words with the header. ok is false when the plan does not end or cannot
// be read back. dec then holds the prefix and the plan, "</think>" not fed.
func (p *planPrefix) sample(rng *rand.Rand, v *Vocab, dec nn.StepDecoder, samp Sampling) (toks []int, plan []string, ok bool) {
	dec.Truncate(p.n)
	logits := p.logits
	end := firstWordToken + len(v.words)
	if id, err := v.ID(thought.ReviewOpen); err == nil {
		end = id // plans use no review words
	}
	plan = append([]string(nil), p.header...)
	for n := 0; n < maxThoughtWords && p.d.Len()+len(toks) < selfReviewMaxLen; n++ {
		id := sampleLogits(rng, logits, firstWordToken, end, TokEndThink, samp.ThoughtTemp, samp.TopK)
		toks = append(toks, id)
		if id == TokEndThink {
			break
		}
		plan = append(plan, v.Word(id))
		logits = dec.Step(int32(id), int32(p.n+len(toks)-1), NoGrid, NoGrid)
	}
	if len(toks) == 0 || toks[len(toks)-1] != TokEndThink {
		return nil, nil, false
	}
	if _, _, _, readable := thought.ParseThought(joinWords(plan)); !readable {
		return nil, nil, false
	}
	return toks, plan, true
}

// besideOthers reports whether the earlier bands' plans and plan together
// put a held-out colour–shape pair beside another object.
func (p *planPrefix) besideOthers(plan []string) bool {
	return scene.HeldOutBesideOthers(thought.PlannedObjects(append(append([]string(nil), p.earlier...), joinWords(plan))...))
}

// review is the world checker's verdict on plan for the prefix's band.
func (p *planPrefix) review(spec scene.Spec, plan []string) []string {
	objs := thought.PlannedObjects(append(append([]string(nil), p.earlier...), joinWords(plan))...)
	return thought.PlanReview(spec, objs, p.r1 >= tokens.Grid, p.r1)
}

// reviewDoc is the prefix, the candidate plan (tokens after the header, up
// to "</think>"; read, not learnt), its review (learnt) and, after "bad",
// the band's true plan and "ok" (learnt).
func (p *planPrefix) reviewDoc(v *Vocab, cand []int, reason []string) Doc {
	d := Doc{Tokens: append([]int32(nil), p.d.Tokens...), Row: append([]int32(nil), p.d.Row...),
		Col: append([]int32(nil), p.d.Col...), Weight: append([]float32(nil), p.d.Weight...)}
	for _, id := range cand {
		d.add(id, NoGrid, NoGrid, 0)
	}
	d.addReviewWeighted(v, reason, 1)
	if reason != nil {
		d.add(TokThink, NoGrid, NoGrid, 1)
		d.addWords(v.MustIDs(append(p.header, thought.ThoughtWords(thought.BandEntries(p.sc, p.r0, p.r1))...)), 1)
		d.add(TokEndThink, NoGrid, NoGrid, 1)
		d.addReviewWeighted(v, nil, 1)
	}
	d.add(TokEnd, NoGrid, NoGrid, 0)
	return d
}

// SelfReviewDoc writes a training document that teaches the model to review
// its own plans, not only plans made wrong on purpose: a true scene's bands
// up to a random band b, as a reviewing run holds them, then a plan for band
// b that the model itself writes (through dec, sampled as at inference),
// the verdict and reason the world's checker gives it, and — when it is
// wrong — the band's true plan. Only the review and the rewrite are learnt;
// the document ends there. ok is false when the model's plan could not be
// read back (the document is then skipped); bad reports the checker's
// verdict. heldOutAlone (DocOptions.HeldOutAlone) skips a plan that puts a
// held-out colour–shape pair beside another object.
func SelfReviewDoc(rng *rand.Rand, v *Vocab, spec scene.Spec, sc scene.Scene, dec nn.StepDecoder, samp Sampling, heldOutAlone bool) (d Doc, ok, bad bool) {
	p := newPlanPrefix(rng, v, spec, sc, dec)
	toks, plan, ok := p.sample(rng, v, dec, samp)
	if !ok || (heldOutAlone && p.besideOthers(plan)) {
		return Doc{}, false, false
	}
	reason := p.review(spec, plan)
	return p.reviewDoc(v, toks, reason), true, reason != nil
}

// ReviewDocs writes dense review documents for one prefix (DocOptions.
// DenseReview): k plans the model writes for the same band (sampled as at
// inference), each reviewed by the world's checker in its own document —
// wrong ones always kept, right ones with chance keepRight so that the
// verdicts are about balanced — and, with chance corrupt, one plan made
// wrong on purpose (CorruptPlan: relations broken, no room left below,
// objects moved, dropped or added). The documents share the prefix, which
// the decoder reads once.
//
// heldOutAlone (DocOptions.HeldOutAlone) leaves out plans that put a
// held-out colour–shape pair beside another object.
func ReviewDocs(rng *rand.Rand, v *Vocab, spec scene.Spec, sc scene.Scene, dec nn.StepDecoder, samp Sampling, k int, keepRight, corrupt float64, heldOutAlone bool) []Doc {
	p := newPlanPrefix(rng, v, spec, sc, dec)
	var docs []Doc
	for i := 0; i < k; i++ {
		toks, plan, ok := p.sample(rng, v, dec, samp)
		if !ok {
			continue
		}
		reason := p.review(spec, plan)
		if reason == nil && rng.Float64() >= keepRight {
			continue
		}
		if heldOutAlone && p.besideOthers(plan) {
			continue
		}
		docs = append(docs, p.reviewDoc(v, toks, reason))
	}
	if rng.Float64() < corrupt {
		if bad, reason := CorruptPlan(rng, spec, sc, p.r0, p.r1); reason != nil && !(heldOutAlone && scene.HeldOutBesideOthers(bad.Objects)) {
			ids := v.MustIDs(thought.ThoughtWords(thought.BandEntries(bad, p.r0, p.r1)))
			docs = append(docs, p.reviewDoc(v, append(ids, TokEndThink), reason))
		}
	}
	return docs
}

// PlanProbe is one plan the model wrote for a band of a true scene, with its
// own probability of "bad" and the world checker's reason (nil: right).
type PlanProbe struct {
	Category string
	PBad     float64
	Reason   []string
	Plan     string
}

// ProbePlan has the model write a plan for a random band of a true scene
// (as SelfReviewDoc does) and reports its probability of reviewing it
// "bad" — the reviewer measured as a classifier against the world's
// checker. ok is false when the plan could not be read back.
func ProbePlan(rng *rand.Rand, v *Vocab, spec scene.Spec, sc scene.Scene, dec nn.StepDecoder, samp Sampling) (PlanProbe, bool) {
	p := newPlanPrefix(rng, v, spec, sc, dec)
	_, plan, ok := p.sample(rng, v, dec, samp)
	if !ok {
		return PlanProbe{}, false
	}
	openID, err1 := v.ID(thought.ReviewOpen)
	okID, err2 := v.ID(thought.VerdictOK)
	badID, err3 := v.ID(thought.VerdictBad)
	if err1 != nil || err2 != nil || err3 != nil {
		return PlanProbe{}, false
	}
	n := dec.Len()
	dec.Step(TokEndThink, int32(n), NoGrid, NoGrid)
	logits := dec.Step(int32(openID), int32(n+1), NoGrid, NoGrid)
	pb := 1 / (1 + math.Exp(float64(logits[okID]-logits[badID])))
	return PlanProbe{PBad: pb, Reason: p.review(spec, plan), Plan: joinWords(plan)}, true
}

// addReviewWeighted is addReview with its weights scaled by w.
func (d *Doc) addReviewWeighted(v *Vocab, reason []string, w float32) {
	n := d.Len()
	d.addReview(v, reason)
	for i := n; i < d.Len(); i++ {
		d.Weight[i] *= w
	}
}

func joinWords(w []string) string {
	s := ""
	for i, x := range w {
		if i > 0 {
			s += " "
		}
		s += x
	}
	return s
}

// sampleLogits samples among ids [lo, hi) and extra at temperature temp
// from the top k (greedy when temp is 0), as a session does.
func sampleLogits(rng *rand.Rand, logits []float32, lo, hi, extra int, temp float32, k int) int {
	cand := make([]int, 0, hi-lo+1)
	for i := lo; i < hi; i++ {
		cand = append(cand, i)
	}
	cand = append(cand, extra)
	for a := 0; a < len(cand); a++ { // partial selection sort: top k first
		if k > 0 && a >= k {
			break
		}
		m := a
		for b := a + 1; b < len(cand); b++ {
			if logits[cand[b]] > logits[cand[m]] {
				m = b
			}
		}
		cand[a], cand[m] = cand[m], cand[a]
	}
	if temp <= 0 {
		return cand[0]
	}
	if k <= 0 || k > len(cand) {
		k = len(cand)
	}
	probs := make([]float64, k)
	var sum float64
	for a := 0; a < k; a++ {
		probs[a] = math.Exp(float64((logits[cand[a]] - logits[cand[0]]) / temp))
		sum += probs[a]
	}
	u := rng.Float64() * sum
	for a := 0; a < k; a++ {
		u -= probs[a]
		if u <= 0 {
			return cand[a]
		}
	}
	return cand[k-1]
}

// selfReviewMaxLen bounds a self-review document's plan (the decoder's
// context is the model's, at least this long).
const selfReviewMaxLen = 900
