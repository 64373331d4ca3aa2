package model

import (
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/thought"
)

// Self-review documents hold a plan the model wrote (not learnt), the
// checker's verdict on it (learnt) and, after "bad", the true plan.
func TestSelfReviewDocs(t *testing.T) {
	m := randomModel(t)
	v := m.W.Vocab
	s := NewDocStream(4, v, DocOptions{SelfReview: 1, Review: 1})
	s.Self = nn.NewDecoder(m.W.Params, m.W.Config.Net.Ctx)
	open, _ := v.ID(thought.ReviewOpen)
	for i := 0; i < 20; i++ {
		d := s.Next()
		k := 0
		for j, tok := range d.Tokens {
			if int(tok) == open && d.Weight[j+1] > 0 {
				k = j
				break
			}
		}
		if k == 0 {
			t.Fatalf("doc %d has no learnt review", i)
		}
		for j := 0; j < k; j++ {
			if d.Weight[j] != 0 {
				t.Fatalf("doc %d: %s before the review is learnt", i, v.Word(int(d.Tokens[j])))
			}
		}
		if d.Tokens[d.Len()-1] != TokEnd {
			t.Fatalf("doc %d does not end", i)
		}
	}
	_ = rand.New
}

// Dense review documents: several plans for one band, each reviewed in its
// own document after the same prefix; only reviews and rewrites are learnt,
// and both verdicts occur.
func TestReviewDocs(t *testing.T) {
	m := randomModel(t)
	v := m.W.Vocab
	s := NewDocStream(5, v, DocOptions{DenseReview: 1, ReviewPlans: 3, ReviewKeepRight: 1, ReviewCorrupt: 1, Review: 1})
	s.Self = nn.NewDecoder(m.W.Params, m.W.Config.Net.Ctx)
	open, _ := v.ID(thought.ReviewOpen)
	okID, _ := v.ID(thought.VerdictOK)
	badID, _ := v.ID(thought.VerdictBad)
	verdicts := map[int32]int{}
	for i := 0; i < 30; i++ {
		d := s.Next()
		k := -1
		for j, tok := range d.Tokens {
			if int(tok) == open && d.Weight[j+1] > 0 {
				k = j
				break
			}
		}
		if k < 0 {
			t.Fatalf("doc %d has no learnt review", i)
		}
		for j := 0; j <= k; j++ {
			if d.Weight[j] != 0 {
				t.Fatalf("doc %d: %s before the review is learnt", i, v.Word(int(d.Tokens[j])))
			}
		}
		verdicts[d.Tokens[k+1]]++
		if d.Tokens[k+1] == int32(badID) && d.Tokens[d.Len()-2] != int32(v.MustIDs([]string{thought.ReviewClose})[0]) {
			t.Fatalf("doc %d: a bad plan is not followed by a reviewed rewrite", i)
		}
	}
	if verdicts[int32(okID)] == 0 || verdicts[int32(badID)] == 0 {
		t.Fatalf("verdicts %v: want both", verdicts)
	}
}
