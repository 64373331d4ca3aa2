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
