package model

import (
	"math"
	"math/rand/v2"

	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// SelfReviewDoc writes a training document that teaches the model to review
// its own plans, not only plans made wrong on purpose: a true scene's bands
// up to a random band b, as a reviewing run holds them, then a plan for band
// b that the model itself writes (through dec, sampled as at inference),
// the verdict and reason the world's checker gives it, and — when it is
// wrong — the band's true plan. Only the review and the rewrite are learnt;
// the document ends there. ok is false when the model's plan could not be
// read back (the document is then skipped); bad reports the checker's
// verdict.
func SelfReviewDoc(rng *rand.Rand, v *Vocab, spec scene.Spec, sc scene.Scene, dec nn.StepDecoder, samp Sampling) (d Doc, ok, bad bool) {
	d.add(TokBOS, NoGrid, NoGrid, 0)
	d.addWords(v.MustIDs(thought.ModelPromptWords(spec)), 0)
	img := scene.Render(sc)
	cuts := EqualBands(2 + rng.IntN(3))
	if rng.IntN(4) == 0 {
		cuts = randomCuts(rng)
	}
	band := rng.IntN(len(cuts) - 1)
	var earlier []string
	for b := 0; b < band; b++ {
		r0, r1 := cuts[b], cuts[b+1]
		words := append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(sc, r0, r1))...)
		earlier = append(earlier, joinWords(words))
		d.add(TokThink, NoGrid, NoGrid, 0)
		d.addWords(v.MustIDs(words), 0)
		d.add(TokEndThink, NoGrid, NoGrid, 0)
		d.addReviewWeighted(v, nil, 0)
		d.addRows(img, r0, r1, 0)
	}
	r0, r1 := cuts[band], cuts[band+1]
	d.add(TokThink, NoGrid, NoGrid, 0)
	header := thought.HeaderWords(r0, r1)
	d.addWords(v.MustIDs(header), 0)
	// The model writes the plan after the prefix, as a run would.
	dec.Reset()
	var logits []float32
	for i := range d.Tokens {
		logits = dec.Step(d.Tokens[i], int32(i), d.Row[i], d.Col[i])
	}
	end := firstWordToken + len(v.words)
	if id, err := v.ID(thought.ReviewOpen); err == nil {
		end = id // plans use no review words
	}
	plan := append([]string(nil), header...)
	for n := 0; n < maxThoughtWords && d.Len() < selfReviewMaxLen; n++ {
		id := sampleLogits(rng, logits, firstWordToken, end, TokEndThink, samp.ThoughtTemp, samp.TopK)
		d.add(id, NoGrid, NoGrid, 0)
		if id == TokEndThink {
			break
		}
		plan = append(plan, v.Word(id))
		logits = dec.Step(int32(id), int32(d.Len()-1), NoGrid, NoGrid)
	}
	if d.Tokens[d.Len()-1] != TokEndThink {
		return Doc{}, false, false
	}
	if _, _, _, readable := thought.ParseThought(joinWords(plan)); !readable {
		return Doc{}, false, false
	}
	objs := thought.PlannedObjects(append(earlier, joinWords(plan))...)
	reason := thought.PlanReview(spec, objs, r1 >= tokens.Grid, r1)
	d.addReviewWeighted(v, reason, 1)
	if reason != nil {
		d.add(TokThink, NoGrid, NoGrid, 1)
		d.addWords(v.MustIDs(append(header, thought.ThoughtWords(thought.BandEntries(sc, r0, r1))...)), 1)
		d.add(TokEndThink, NoGrid, NoGrid, 1)
		d.addReviewWeighted(v, nil, 1)
	}
	d.add(TokEnd, NoGrid, NoGrid, 0)
	return d, true, reason != nil
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
