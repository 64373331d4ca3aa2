package model

import (
	"testing"

	"github.com/twig-project/twig/internal/world/thought"
)

func TestDocStreamLengths(t *testing.T) {
	v := NewVocab(thought.ModelWords())
	s := NewDocStream(1, v, DefaultDocOptions)
	maxLen, total := 0, 0
	for i := 0; i < 2000; i++ {
		d := s.Next()
		total += d.Len()
		maxLen = max(maxLen, d.Len())
		for _, tok := range d.Tokens {
			if int(tok) >= v.Size() {
				t.Fatalf("token %d out of vocab", tok)
			}
		}
	}
	t.Logf("vocab %d, mean doc %d tokens, max %d", v.Size(), total/2000, maxLen)
}

func BenchmarkDocStream(b *testing.B) {
	v := NewVocab(thought.ModelWords())
	s := NewDocStream(1, v, DefaultDocOptions)
	for i := 0; i < b.N; i++ {
		s.Next()
	}
}

// Reviewed documents hold "ok" and "bad" verdicts in a useful balance, every
// "bad" is followed by the plan written again, and "bad" verdicts carry a
// reason.
func TestReviewedDocs(t *testing.T) {
	v := NewVocab(thought.ModelWords())
	s := NewDocStream(3, v, ReflectDocOptions)
	ok, _ := v.ID(thought.VerdictOK)
	bad, _ := v.ID(thought.VerdictBad)
	open, _ := v.ID(thought.ReviewOpen)
	closeID, _ := v.ID(thought.ReviewClose)
	nOK, nBad := 0, 0
	for i := 0; i < 2000; i++ {
		d := s.Next()
		for k, tok := range d.Tokens {
			if int(tok) != open {
				continue
			}
			switch int(d.Tokens[k+1]) {
			case ok:
				nOK++
				if int(d.Tokens[k+2]) != closeID {
					t.Fatalf("ok review not closed: %v", d.Tokens[k:k+4])
				}
			case bad:
				nBad++
				// The plan reviewed "bad" is read, never learnt: from its
				// <think> to its </think>, no weight.
				for b := k - 1; d.Tokens[k-1] == TokEndThink && d.Tokens[b] != TokThink && d.Tokens[b] != TokAThink; b-- {
					if d.Weight[b] != 0 {
						t.Fatalf("a wrong plan's %s has weight %v", v.Word(int(d.Tokens[b])), d.Weight[b])
					}
				}
				j := k + 2
				for int(d.Tokens[j]) != closeID {
					j++
				}
				if j == k+2 {
					t.Fatal("bad review without a reason")
				}
				if next := d.Tokens[j+1]; next != TokEnd && next != TokThink && next != TokAThink {
					t.Fatalf("bad review followed by %s", v.Word(int(next)))
				}
			default:
				t.Fatalf("review opens with %s", v.Word(int(d.Tokens[k+1])))
			}
		}
	}
	share := float64(nBad) / float64(nOK+nBad)
	t.Logf("reviews: %d ok, %d bad (%.0f %% bad)", nOK, nBad, 100*share)
	if share < 0.15 || share > 0.45 {
		t.Fatalf("bad share %.2f outside [0.15, 0.45]", share)
	}
}
