package train

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/judge"
	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// ReviewerReport measures the model's plan reviewer as a classifier: on
// plans the model itself writes for a band of a true scene of the training
// distribution (the setting of SelfReviewDoc), its probability of "bad"
// against the world checker's verdict.
type ReviewerReport struct {
	Plans int `json:"plans"` // readable plans
	Wrong int `json:"wrong"` // plans the checker rejects
	// Unreadable counts plans that could not be read back (not judged).
	Unreadable int `json:"unreadable"`
	// Caught and FalseRejects count wrong plans rejected and right plans
	// rejected at the default verdict (p(bad) ≥ 0.5).
	Caught       int `json:"caught"`
	FalseRejects int `json:"false_rejects"`
	// AUC is the chance a wrong plan gets a higher p(bad) than a right one.
	AUC float64 `json:"auc"`
	// TPRAt5 and TPRAt10 are the shares of wrong plans caught at the
	// threshold that rejects 5 % (10 %) of right plans.
	TPRAt5  float64 `json:"tpr_at_fpr5"`
	TPRAt10 float64 `json:"tpr_at_fpr10"`
	// WrongBy counts wrong plans and plans per category.
	WrongBy map[string][2]int `json:"wrong_by_category"`
}

// MeasureReviewer probes n plans (categories drawn evenly, never a held-out
// pair in a multi-object scene), deterministic for seed.
func MeasureReviewer(w *model.Weights, n int, seed uint64) ReviewerReport {
	rng := rand.New(rand.NewPCG(seed, seed^0x5eed))
	dec := nn.NewDecoder(w.Params, w.Config.Net.Ctx)
	rep := ReviewerReport{WrongBy: map[string][2]int{}}
	var bad, good []float64
	for tries := 0; tries < n; {
		cat := scene.Categories[rng.IntN(len(scene.Categories))]
		spec := scene.SampleSpec(rng, cat, false)
		sc, err := scene.Place(rng, spec, false)
		if err != nil {
			continue
		}
		tries++
		p, ok := model.ProbePlan(rng, w.Vocab, spec, sc, dec, model.DefaultSampling)
		if !ok {
			rep.Unreadable++
			continue
		}
		c := rep.WrongBy[cat]
		c[1]++
		if p.Reason != nil {
			c[0]++
			bad = append(bad, p.PBad)
			if p.PBad >= 0.5 {
				rep.Caught++
			}
		} else {
			good = append(good, p.PBad)
			if p.PBad >= 0.5 {
				rep.FalseRejects++
			}
		}
		rep.WrongBy[cat] = c
	}
	rep.Plans, rep.Wrong = len(bad)+len(good), len(bad)
	rep.AUC = auc(bad, good)
	rep.TPRAt5, rep.TPRAt10 = tprAt(bad, good, 0.05), tprAt(bad, good, 0.10)
	return rep
}

// auc is P(a random positive scores above a random negative), ties half.
func auc(pos, neg []float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	var s float64
	for _, p := range pos {
		for _, q := range neg {
			switch {
			case p > q:
				s++
			case p == q:
				s += 0.5
			}
		}
	}
	return s / float64(len(pos)*len(neg))
}

// tprAt is the share of pos strictly above the threshold that lets through
// at most fpr of neg.
func tprAt(pos, neg []float64, fpr float64) float64 {
	if len(pos) == 0 || len(neg) == 0 {
		return 0
	}
	s := append([]float64(nil), neg...)
	sort.Float64s(s)
	k := len(s) - 1 - int(fpr*float64(len(s)))
	th := s[max(k, 0)]
	n := 0
	for _, p := range pos {
		if p > th {
			n++
		}
	}
	return float64(n) / float64(len(pos))
}

// FailureReport classifies the runs of one category: a failed picture
// whose accepted plans (the thoughts) already break the prompt is a wrong
// plan; one whose plans the world's checker accepts is a painter that
// strayed from a right plan.
type FailureReport struct {
	Runs      int `json:"runs"`
	Pass      int `json:"pass"`
	WrongPlan int `json:"wrong_plan"`
	Strayed   int `json:"strayed"`
	// RightPlans counts runs whose plans the checker accepts (pass or not).
	RightPlans int `json:"right_plans"`
	// In a reviewing run, the bands' first plans against the checker (with
	// the band's accepted earlier plans): wrong ones, wrong ones the model
	// rejected, right ones it rejected, and rewrites of caught plans that
	// the checker accepts.
	FirstPlans int `json:"first_plans,omitempty"`
	FirstWrong int `json:"first_wrong,omitempty"`
	// Inherited counts wrong first plans whose earlier accepted plans were
	// already wrong: no plan for the band could be right.
	Inherited     int `json:"inherited,omitempty"`
	Caught        int `json:"caught,omitempty"`
	RightRejected int `json:"right_rejected,omitempty"`
	RewritesRight int `json:"rewrites_right,omitempty"`
	// RewritesSame counts rewrites of caught plans that repeat them word
	// for word.
	RewritesSame int `json:"rewrites_same,omitempty"`
	// With plan_candidates: bands that chose among candidates, those with
	// at least one candidate the checker accepts, those whose chosen plan it
	// accepts, and the candidates it accepts out of all (a random pick's
	// rate).
	ChoiceBands     int `json:"choice_bands,omitempty"`
	ChoiceAnyRight  int `json:"choice_any_right,omitempty"`
	ChoiceRight     int `json:"choice_right,omitempty"`
	Candidates      int `json:"candidates,omitempty"`
	CandidatesRight int `json:"candidates_right,omitempty"`
}

// AnalyzeFailures draws n prompts per category of the training
// distribution (held-out pairs in multi-object scenes when heldOut, for the
// held-out split's failures) with settings, judges each picture and
// classifies the failures. Deterministic for seed up to thread timing of
// nothing: each prompt has its own seed.
func AnalyzeFailures(ctx context.Context, m *model.Model, settings engine.Settings, n int, seed uint64, heldOut bool, workers int) (map[string]*FailureReport, error) {
	rng := rand.New(rand.NewPCG(seed, seed^0xfa11))
	type job struct {
		cat, prompt string
		spec        scene.Spec
		seed        int64
	}
	var jobs []job
	cats := scene.Categories
	if heldOut {
		cats = []string{"color", "shape", "texture", "spatial", "numeracy", "complex"}
	}
	for _, cat := range cats {
		for i := 0; i < n; i++ {
			spec := scene.SampleSpec(rng, cat, heldOut)
			if _, err := scene.Place(rand.New(rand.NewPCG(1, 2)), spec, heldOut); err != nil {
				i--
				continue
			}
			name := cat
			if heldOut {
				name = "heldout-" + cat
			}
			jobs = append(jobs, job{name, english.Phrase(spec, rng), spec, int64(len(jobs) + 1)})
		}
	}
	out := map[string]*FailureReport{}
	var mu sync.Mutex
	var firstErr error
	ch := make(chan job)
	var wg sync.WaitGroup
	for k := 0; k < max(workers, 1); k++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range ch {
				var reviews []protocol.PlanReview
				sink := func(e protocol.Event) error {
					if p, ok := e.Payload.(*protocol.PlanReview); ok {
						reviews = append(reviews, *p)
					}
					return nil
				}
				res, err := engine.Draw(ctx, m, engine.RunSpec{Prompt: j.prompt, Seed: j.seed, Settings: settings}, sink)
				mu.Lock()
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					mu.Unlock()
					continue
				}
				pass := judge.Check(j.spec, tokens.Picture(res.Tokens)).Pass
				right := thought.PlanReview(j.spec, thought.PlannedObjects(res.Thoughts...), true, tokens.Grid) == nil
				r := out[j.cat]
				if r == nil {
					r = &FailureReport{}
					out[j.cat] = r
				}
				r.Runs++
				if right {
					r.RightPlans++
				}
				wrongAt := func(p protocol.PlanReview) bool {
					if p.Band >= len(res.Thoughts) || p.Band >= len(res.Bands) {
						return false
					}
					r1 := res.Bands[p.Band].End / engine.TokenGeometry.Unit // bands are pixel rows
					objs := thought.PlannedObjects(append(append([]string(nil), res.Thoughts[:p.Band]...), p.Thought)...)
					return thought.PlanReview(j.spec, objs, r1 >= tokens.Grid, r1) != nil
				}
				caught := map[int]string{}
				rightCand := map[[2]int]bool{}
				for _, p := range reviews {
					if settings.PlanCandidates > 1 {
						rc := !wrongAt(p)
						rightCand[[2]int{p.Band, p.Attempt}] = rc
						r.Candidates++
						if rc {
							r.CandidatesRight++
						}
						if p.Chosen != nil {
							r.ChoiceBands++
							for a := 0; a <= p.Attempt; a++ {
								if rightCand[[2]int{p.Band, a}] {
									r.ChoiceAnyRight++
									break
								}
							}
							if rightCand[[2]int{p.Band, *p.Chosen}] {
								r.ChoiceRight++
							}
						}
						continue
					}
					switch {
					case p.Attempt == 0:
						r.FirstPlans++
						wrong := wrongAt(p)
						if wrong {
							r.FirstWrong++
							if p.Band > 0 && p.Band < len(res.Bands) && thought.PlanReview(j.spec, thought.PlannedObjects(res.Thoughts[:p.Band]...), false, res.Bands[p.Band].Start/engine.TokenGeometry.Unit) != nil {
								r.Inherited++
							}
						}
						if wrong && !p.Accepted {
							r.Caught++
							caught[p.Band] = p.Thought
						}
						if !wrong && !p.Accepted {
							r.RightRejected++
						}
					case p.Attempt == 1 && caught[p.Band] != "":
						if !wrongAt(p) {
							r.RewritesRight++
						}
						if p.Thought == caught[p.Band] {
							r.RewritesSame++
						}
					}
				}
				switch {
				case pass:
					r.Pass++
				case right:
					r.Strayed++
				default:
					r.WrongPlan++
				}
				mu.Unlock()
			}
		}()
	}
	for _, j := range jobs {
		ch <- j
	}
	close(ch)
	wg.Wait()
	return out, firstErr
}
