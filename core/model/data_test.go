package model

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/world/scene"
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

// With HeldOutAlone, no document shows a held-out colour–shape pair beside
// another object — not in a plan written wrong on purpose, a band drawn wrong
// or a picture reviewed "bad" — and without it some do (the test can fail).
func TestHeldOutAloneDocs(t *testing.T) {
	v := NewVocab(thought.ModelWords())
	leaks := func(alone bool) int {
		o := ReflectDocOptions
		o.BadPlan, o.Look, o.Corrupt, o.Review = 0.9, 1, 0.9, 1
		o.HeldOutAlone = alone
		rng := rand.New(rand.NewPCG(5, 6))
		n := 0
		for i := 0; i < 3000; i++ {
			cat := scene.Categories[i%len(scene.Categories)]
			spec := scene.SampleSpec(rng, cat, false)
			if cat == "single" && i%2 == 0 { // half the single objects are held-out pairs
				p := scene.HeldOut[rng.IntN(len(scene.HeldOut))]
				spec.Groups[0].Color, spec.Groups[0].Shape = p[0], p[1]
			}
			sc, err := scene.Place(rng, spec, false)
			if err != nil {
				continue
			}
			o.NoThink = float64(i%3) / 4 // think documents and reviewed pictures
			d := BuildDoc(rng, v, spec, sc, o)
			if docShowsHeldOutBesideOthers(v, d, spec.NumObjects() > 1) {
				n++
			}
		}
		return n
	}
	n := leaks(false)
	t.Logf("without HeldOutAlone %d of 3000 documents show a held-out pair beside another object", n)
	if n == 0 {
		t.Fatal("without HeldOutAlone no document showed a held-out pair beside another object: the test cannot tell")
	}
	if n := leaks(true); n > 0 {
		t.Fatalf("with HeldOutAlone %d documents show a held-out pair beside another object", n)
	}
}

// docShowsHeldOutBesideOthers reads every plan and description of d: one
// naming a held-out pair in a multi-object prompt's document, or naming one
// beside another object.
func docShowsHeldOutBesideOthers(v *Vocab, d Doc, multi bool) bool {
	var words []string
	in := false
	for _, tok := range d.Tokens {
		switch tok {
		case TokThink, TokAThink, TokLook:
			in, words = true, nil
			continue
		case TokEndThink, TokEndLook:
			in = false
			es, _, _, _ := thought.ParseThought(strings.Join(words, " "))
			var objs []scene.Object
			for _, e := range es {
				objs = append(objs, scene.Object{Color: e.Color, Shape: e.Shape})
				if multi && scene.IsHeldOutPair(e.Color, e.Shape) {
					return true
				}
			}
			if scene.HeldOutBesideOthers(objs) {
				return true
			}
			continue
		}
		if in && v.IsWord(int(tok)) {
			words = append(words, v.Word(int(tok)))
		}
	}
	return false
}
