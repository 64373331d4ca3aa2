package model

import (
	"math/rand/v2"

	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
)

// TrainCategoryWeights is how often training draws each benchmark category;
// the harder, multi-object categories are drawn more.
var TrainCategoryWeights = map[string]float64{
	"single": 1, "color": 1.2, "shape": 1.2, "texture": 1.2, "spatial": 1.5, "numeracy": 1.5, "complex": 2,
}

// DocStream yields an endless, seeded stream of training documents. It never
// yields a multi-object scene with a held-out colour–shape pair.
type DocStream struct {
	rng   *rand.Rand
	vocab *Vocab
	opts  DocOptions
	cats  []string
	cum   []float64
	// Self decodes the model's own plans for self-review documents
	// (DocOptions.SelfReview); nil writes none.
	Self    nn.StepDecoder
	pending []Doc // dense review documents not yet returned
}

// NewDocStream starts a stream at the given seed.
func NewDocStream(seed uint64, v *Vocab, o DocOptions) *DocStream {
	s := &DocStream{rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)), vocab: v, opts: o}
	weights := o.Categories
	if weights == nil {
		weights = TrainCategoryWeights
	}
	total := 0.0
	for _, c := range scene.Categories {
		total += weights[c]
		s.cats = append(s.cats, c)
		s.cum = append(s.cum, total)
	}
	for i := range s.cum {
		s.cum[i] /= total
	}
	return s
}

// Next returns the next document.
func (s *DocStream) Next() Doc {
	if len(s.pending) > 0 {
		d := s.pending[0]
		s.pending = s.pending[1:]
		return d
	}
	for {
		u := s.rng.Float64()
		cat := s.cats[len(s.cats)-1]
		for i, c := range s.cum {
			if u < c {
				cat = s.cats[i]
				break
			}
		}
		spec := scene.SampleSpec(s.rng, cat, false)
		if s.opts.Canonical {
			spec = thought.CanonicalSpec(spec)
		}
		scene, err := scene.Place(s.rng, spec, false)
		if err != nil {
			continue
		}
		if s.opts.DenseReview > 0 && s.Self != nil && s.rng.Float64() < s.opts.DenseReview {
			docs := ReviewDocs(s.rng, s.vocab, spec, scene, s.Self, docSampling, s.opts.ReviewPlans, s.opts.ReviewKeepRight, s.opts.ReviewCorrupt, s.opts.HeldOutAlone)
			if len(docs) == 0 {
				continue
			}
			s.pending = docs[1:]
			return docs[0]
		}
		if s.opts.SelfReview > 0 && s.Self != nil && s.rng.Float64() < s.opts.SelfReview {
			// The model's plans are mostly right; keep 2 in 5 of the right
			// ones so that its wrong ones are a fair share of what it learns.
			if d, ok, bad := SelfReviewDoc(s.rng, s.vocab, spec, scene, s.Self, docSampling, s.opts.HeldOutAlone); ok && (bad || s.rng.Float64() < 0.4) {
				return d
			}
			continue
		}
		return BuildDoc(s.rng, s.vocab, spec, scene, s.opts)
	}
}

// docSampling is how self-review documents sample the model's own plans:
// as the shipped model sampled when the recipe's phases were trained (the
// documents, and so make train, stay the same when inference's defaults
// move).
var docSampling = Sampling{ThoughtTemp: 0.6, ImageTemp: 0.6, TopK: 8}
