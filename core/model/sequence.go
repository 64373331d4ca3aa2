package model

import (
	"math/rand/v2"
	"slices"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// NoGrid is the row/column index of tokens that are not image tokens.
const NoGrid = tokens.Grid

// Doc is one training document: the token stream of one scene with, per
// token, its position information and the weight of predicting it.
type Doc struct {
	Tokens   []int32
	Row, Col []int32   // grid row/column of image tokens, NoGrid otherwise
	Weight   []float32 // loss weight for predicting this token from the one before
}

func (d *Doc) add(tok, row, col int, w float32) {
	d.Tokens = append(d.Tokens, int32(tok))
	d.Row = append(d.Row, int32(row))
	d.Col = append(d.Col, int32(col))
	d.Weight = append(d.Weight, w)
}

func (d *Doc) addWords(ids []int, w float32) {
	for _, id := range ids {
		d.add(id, NoGrid, NoGrid, w)
	}
}

func (d *Doc) addRows(t tokens.Tokens, r0, r1 int, w float32) {
	for r := r0; r < r1; r++ {
		for c := 0; c < tokens.Grid; c++ {
			d.add(t[r*tokens.Grid+c], r, c, w)
		}
	}
}

// Len is the number of tokens.
func (d *Doc) Len() int { return len(d.Tokens) }

// EqualBands splits the grid's rows into k bands as the engine does: the
// first Grid%k bands get one extra row. It returns k+1 cut rows.
func EqualBands(k int) []int {
	cuts := []int{0}
	base, extra := tokens.Grid/k, tokens.Grid%k
	r := 0
	for i := 0; i < k; i++ {
		r += base
		if i < extra {
			r++
		}
		cuts = append(cuts, r)
	}
	return cuts
}

// DocOptions sets the mixture of training documents.
type DocOptions struct {
	NoThink  float64 // share of documents without thoughts (thought dropout)
	Adaptive float64 // share of think documents whose bands start where objects begin
	Random   float64 // share of think documents with random band heights
	Look     float64 // chance a band is followed by the model's description of it
	Corrupt  float64 // chance a described band was drawn wrong first, then redrawn
	// Review is the share of documents whose plans the model reviews: in a
	// think document every thought is followed by <review> and a verdict,
	// in a no-think one the whole picture's description is. 0 writes the
	// documents of weights trained before reviews existed, draw for draw.
	Review float64 `json:",omitempty"`
	// BadPlan is the chance a reviewed plan is first written wrong on
	// purpose (a relation broken, an object missing, extra or moved, no room
	// left below), reviewed "bad" with the reason the world's checker gives,
	// then written right.
	BadPlan float64 `json:",omitempty"`
	// BadPlanWeight is the loss weight of a wrong plan's words. 0 — they
	// are never learnt, or the model learns to write wrong plans (it did,
	// for the first steps of the review phase, which train.Default records).
	BadPlanWeight float32 `json:",omitempty"`
	// SelfReview is the share of documents that review a plan the model
	// itself writes (SelfReviewDoc); it needs DocStream.Self.
	SelfReview float64 `json:",omitempty"`
	// DenseReview is the share of drawn scenes that become dense review
	// documents (ReviewDocs): ReviewPlans plans the model writes for one
	// band, each reviewed in its own document, right ones kept with chance
	// ReviewKeepRight, and with chance ReviewCorrupt one plan made wrong on
	// purpose. It needs DocStream.Self.
	DenseReview     float64 `json:",omitempty"`
	ReviewPlans     int     `json:",omitempty"`
	ReviewKeepRight float64 `json:",omitempty"`
	ReviewCorrupt   float64 `json:",omitempty"`
	// Canonical writes every document's spec in its canonical form
	// (thought.CanonicalSpec), for weights whose Config.Prompt is
	// PromptCanonical: the prompt, the plans' reviews and reasons all read it.
	Canonical bool `json:",omitempty"`
	// Categories weighs how often each benchmark category is drawn; nil
	// means TrainCategoryWeights.
	Categories map[string]float64 `json:",omitempty"`
	// HeldOutAlone keeps the world's rule in the documents' mistakes too:
	// a plan written wrong on purpose, a band drawn wrong, or a plan of the
	// model's own that puts a held-out colour–shape pair beside another
	// object is left out (scene.HeldOutBesideOthers). Without it those
	// mistakes were the only multi-object scenes with the held-out pairs
	// that training showed, each reviewed "bad". Off in the recipes' phases
	// trained before it existed, so that they replay draw for draw.
	HeldOutAlone bool `json:",omitempty"`
}

// DefaultDocOptions is the mixture the weights were trained on before they
// learnt to review their plans.
var DefaultDocOptions = DocOptions{NoThink: 0.3, Adaptive: 0.2, Random: 0.15, Look: 0.3, Corrupt: 0.35}

// ReflectDocOptions adds plan reviews to DefaultDocOptions: half the
// documents review every plan, and 40 % of reviewed plans are first written
// wrong.
var ReflectDocOptions = DocOptions{NoThink: 0.3, Adaptive: 0.2, Random: 0.15, Look: 0.3, Corrupt: 0.35,
	Review: 0.5, BadPlan: 0.4}

// Loss weights of a review's words: the verdict counts more than the reason.
const (
	verdictWeight = 2
	reasonWeight  = 1
)

// addReview appends "<review> ok </review>" (reason nil) or
// "<review> bad REASON </review>". The opening token is forced at inference,
// so it is not learnt.
func (d *Doc) addReview(v *Vocab, reason []string) {
	d.addWords(v.MustIDs([]string{thought.ReviewOpen}), 0)
	if reason == nil {
		d.addWords(v.MustIDs([]string{thought.VerdictOK}), verdictWeight)
	} else {
		d.addWords(v.MustIDs([]string{thought.VerdictBad}), verdictWeight)
		d.addWords(v.MustIDs(reason), reasonWeight)
	}
	d.addWords(v.MustIDs([]string{thought.ReviewClose}), reasonWeight)
}

// BuildDoc writes the training document of one scene drawn for spec.
func BuildDoc(rng *rand.Rand, v *Vocab, spec scene.Spec, scn scene.Scene, o DocOptions) Doc {
	var d Doc
	d.add(TokBOS, NoGrid, NoGrid, 0)
	d.addWords(v.MustIDs(thought.ModelPromptWords(spec)), 0)
	img := scene.Render(scn)
	reviewed := o.Review > 0 && rng.Float64() < o.Review
	if rng.Float64() < o.NoThink {
		if reviewed {
			return buildReviewedPicture(rng, v, spec, scn, o, d)
		}
		d.add(TokImg, NoGrid, NoGrid, 1)
		d.addRows(img, 0, tokens.Grid, 1)
		if rng.Float64() < o.Look { // describe the whole picture (best-of-n's critic)
			d.add(TokLook, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(thought.ThoughtWords(thought.BandEntries(scn, 0, tokens.Grid))), 1)
			d.add(TokEndLook, NoGrid, NoGrid, 1)
		}
		d.add(TokEnd, NoGrid, NoGrid, 1)
		return d
	}
	var cuts []int
	open := TokThink
	switch u := rng.Float64(); {
	case u < o.Adaptive:
		cuts = objectCuts(scn)
		open = TokAThink
	case u < o.Adaptive+o.Random:
		cuts = randomCuts(rng)
	default:
		cuts = EqualBands(2 + rng.IntN(3))
	}
	for b := 0; b+1 < len(cuts); b++ {
		r0, r1 := cuts[b], cuts[b+1]
		th := append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(scn, r0, r1))...)
		tok := TokThink
		if b == 0 {
			tok = open
		}
		if reviewed && rng.Float64() < o.BadPlan {
			if bad, reason := CorruptPlan(rng, spec, scn, r0, r1); reason != nil && !(o.HeldOutAlone && scene.HeldOutBesideOthers(bad.Objects)) {
				d.add(tok, NoGrid, NoGrid, o.BadPlanWeight)
				d.addWords(v.MustIDs(append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(bad, r0, r1))...)), o.BadPlanWeight)
				d.add(TokEndThink, NoGrid, NoGrid, o.BadPlanWeight)
				d.addReview(v, reason)
			}
		}
		d.add(tok, NoGrid, NoGrid, 1)
		d.addWords(v.MustIDs(th), 1)
		d.add(TokEndThink, NoGrid, NoGrid, 1)
		if reviewed {
			d.addReview(v, nil)
		}
		if rng.Float64() < o.Look {
			drawn := img
			corrupt := rng.Float64() < o.Corrupt
			var bad scene.Scene
			if corrupt {
				bad = Corrupt(rng, scn, r0, r1)
				for try := 0; try < 8 && o.HeldOutAlone && scene.HeldOutBesideOthers(bad.Objects); try++ {
					bad = Corrupt(rng, scn, r0, r1)
				}
				if o.HeldOutAlone && scene.HeldOutBesideOthers(bad.Objects) {
					corrupt, bad = false, scn
				}
				drawn = scene.Render(bad)
			} else {
				bad = scn
			}
			w := float32(1)
			if corrupt {
				w = 0 // never learn to draw the corruption
			}
			d.addRows(spliceRows(img, drawn, r0, r1), r0, r1, w)
			d.add(TokLook, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(thought.ThoughtWords(thought.BandEntries(bad, r0, r1))), 1)
			d.add(TokEndLook, NoGrid, NoGrid, 1)
			if !corrupt {
				continue
			}
			// The redraw: the same thought, the band drawn right.
			d.add(TokThink, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(th), 1)
			d.add(TokEndThink, NoGrid, NoGrid, 1)
			if reviewed {
				d.addReview(v, nil)
			}
		}
		d.addRows(img, r0, r1, 1)
	}
	d.add(TokEnd, NoGrid, NoGrid, 1)
	return d
}

// buildReviewedPicture finishes a no-think document whose picture the model
// describes and reviews (best-of-n's whole-picture critic): with chance
// o.BadPlan the picture is drawn wrong (not learnt), described, and reviewed
// "bad" with the checker's reason; otherwise drawn right and reviewed "ok".
func buildReviewedPicture(rng *rand.Rand, v *Vocab, spec scene.Spec, scn scene.Scene, o DocOptions, d Doc) Doc {
	shown, w := scn, float32(1)
	var reason []string
	if rng.Float64() < o.BadPlan {
		for try := 0; try < 6 && reason == nil; try++ {
			var bad scene.Scene
			if rng.IntN(2) == 0 {
				bad = Corrupt(rng, scn, rng.IntN(tokens.Grid), tokens.Grid)
			} else {
				bad, _ = CorruptPlan(rng, spec, scn, 0, tokens.Grid)
			}
			if o.HeldOutAlone && scene.HeldOutBesideOthers(bad.Objects) {
				continue
			}
			if r := thought.PlanReview(spec, bad.Objects, true, tokens.Grid); r != nil {
				shown, w, reason = bad, 0, r
			}
		}
	}
	d.add(TokImg, NoGrid, NoGrid, 1)
	d.addRows(scene.Render(shown), 0, tokens.Grid, w)
	d.add(TokLook, NoGrid, NoGrid, 1)
	d.addWords(v.MustIDs(thought.ThoughtWords(thought.BandEntries(shown, 0, tokens.Grid))), 1)
	d.add(TokEndLook, NoGrid, NoGrid, 1)
	d.addReview(v, reason)
	d.add(TokEnd, NoGrid, NoGrid, 1)
	return d
}

// CorruptPlan returns a copy of the scene whose plan for rows [r0, r1) is
// wrong — an object there moved, dropped, recoloured or reshaped, an extra
// one added, or one from further down pulled up into the band — with the
// reason the world's checker gives against spec; objects above the band are
// untouched. It returns a nil reason when a few tries found no corruption
// that the checker rejects.
func CorruptPlan(rng *rand.Rand, spec scene.Spec, scn scene.Scene, r0, r1 int) (scene.Scene, []string) {
	final := r1 >= tokens.Grid
	bandY := func(side int) (int, bool) {
		hi := min(r1, tokens.Grid-side+1)
		if hi <= r0 {
			return 0, false
		}
		return r0 + rng.IntN(hi-r0), true
	}
	for try := 0; try < 8; try++ {
		bad := scene.Scene{Objects: append([]scene.Object(nil), scn.Objects...)}
		var in, below []int
		for i, o := range bad.Objects {
			switch {
			case o.Y >= r0 && o.Y < r1:
				in = append(in, i)
			case o.Y >= r1:
				below = append(below, i)
			}
		}
		kind := rng.IntN(5)
		if len(spec.Relations) > 0 && rng.IntN(2) == 0 {
			// Relations and dead ends are what plans get wrong most: place an
			// object of the band, or one from below, where one breaks.
			if bad, reason := breakRelation(rng, spec, bad, append(in, below...), r0, r1, bandY); reason != nil {
				return bad, reason
			}
			continue
		}
		switch {
		case kind == 0 && len(in) > 0: // moved
			o := &bad.Objects[in[rng.IntN(len(in))]]
			o.X = rng.IntN(tokens.Grid - o.Side() + 1)
			if y, ok := bandY(o.Side()); ok && rng.IntN(2) == 0 {
				o.Y = y
			}
		case kind == 1 && len(in) > 0: // dropped
			i := in[rng.IntN(len(in))]
			bad.Objects = append(bad.Objects[:i], bad.Objects[i+1:]...)
		case kind == 2: // extra: a kind the prompt asks for, or any
			e := scene.Object{Color: rng.IntN(len(scene.Colors)), Shape: rng.IntN(len(scene.Shapes)), Size: rng.IntN(2), Texture: rng.IntN(2)}
			if g := spec.Groups[rng.IntN(len(spec.Groups))]; rng.IntN(3) > 0 {
				e.Shape = g.Shape
				for _, a := range [][2]*int{{&e.Color, &g.Color}, {&e.Size, &g.Size}, {&e.Texture, &g.Texture}} {
					if *a[1] != scene.Any {
						*a[0] = *a[1]
					}
				}
			}
			y, ok := bandY(e.Side())
			if !ok {
				continue
			}
			e.Y, e.X = y, rng.IntN(tokens.Grid-e.Side()+1)
			bad.Objects = append(bad.Objects, e)
		case kind == 3 && len(in) > 0: // recoloured or reshaped
			o := &bad.Objects[in[rng.IntN(len(in))]]
			if rng.IntN(2) == 0 {
				o.Color = (o.Color + 1 + rng.IntN(len(scene.Colors)-1)) % len(scene.Colors)
			} else {
				o.Shape = (o.Shape + 1 + rng.IntN(len(scene.Shapes)-1)) % len(scene.Shapes)
			}
		case kind == 4 && len(below) > 0: // pulled up from below
			o := &bad.Objects[below[rng.IntN(len(below))]]
			y, ok := bandY(o.Side())
			if !ok {
				continue
			}
			o.Y = y
		default:
			continue
		}
		var planned []scene.Object
		for _, o := range bad.Objects {
			if o.Y < r1 {
				planned = append(planned, o)
			}
		}
		if reason := thought.PlanReview(spec, planned, final, r1); reason != nil {
			return bad, reason
		}
	}
	return scn, nil
}

// breakRelation moves one of the objects cand into rows [r0, r1) at random
// spots until the checker says a relation is broken or what is left no
// longer fits below.
func breakRelation(rng *rand.Rand, spec scene.Spec, sc scene.Scene, cand []int, r0, r1 int, bandY func(int) (int, bool)) (scene.Scene, []string) {
	if len(cand) == 0 {
		return sc, nil
	}
	i := cand[rng.IntN(len(cand))]
	orig := sc.Objects[i]
	for try := 0; try < 10; try++ {
		o := orig
		y, ok := bandY(o.Side())
		if !ok {
			return sc, nil
		}
		o.Y, o.X = y, rng.IntN(tokens.Grid-o.Side()+1)
		sc.Objects[i] = o
		var planned []scene.Object
		for _, p := range sc.Objects {
			if p.Y < r1 {
				planned = append(planned, p)
			}
		}
		r := thought.PlanReview(spec, planned, r1 >= tokens.Grid, r1)
		if len(r) > 0 && (r[0] == "no" || slices.Contains(r, "not")) {
			return sc, r
		}
	}
	sc.Objects[i] = orig
	return sc, nil
}

// spliceRows returns rows [r0, r1) taken from drawn, the rest from img.
func spliceRows(img, drawn tokens.Tokens, r0, r1 int) tokens.Tokens {
	out := append(tokens.Tokens(nil), img...)
	copy(out[r0*tokens.Grid:r1*tokens.Grid], drawn[r0*tokens.Grid:r1*tokens.Grid])
	return out
}

func objectCuts(s scene.Scene) []int {
	starts := map[int]bool{0: true}
	for _, o := range s.Objects {
		starts[o.Y] = true
	}
	var cuts []int
	for r := 0; r < tokens.Grid; r++ {
		if starts[r] {
			cuts = append(cuts, r)
		}
	}
	return append(cuts, tokens.Grid)
}

func randomCuts(rng *rand.Rand) []int {
	k := 2 + rng.IntN(4)
	set := map[int]bool{}
	for len(set) < k-1 {
		set[1+rng.IntN(tokens.Grid-1)] = true
	}
	cuts := []int{0}
	for r := 1; r < tokens.Grid; r++ {
		if set[r] {
			cuts = append(cuts, r)
		}
	}
	return append(cuts, tokens.Grid)
}

// Corrupt returns a copy of the scene with one mistake visible in rows
// [r0, r1): a colour, shape or texture swapped, an object moved or dropped,
// or an extra object. If no object touches the band, an extra one appears.
func Corrupt(rng *rand.Rand, s scene.Scene, r0, r1 int) scene.Scene {
	out := scene.Scene{Objects: append([]scene.Object(nil), s.Objects...)}
	var touching []int
	for i, o := range out.Objects {
		if o.Y < r1 && o.Y+o.Side() > r0 {
			touching = append(touching, i)
		}
	}
	kind := rng.IntN(6)
	if len(touching) == 0 {
		kind = 5
	}
	if kind < 5 {
		i := touching[rng.IntN(len(touching))]
		o := &out.Objects[i]
		switch kind {
		case 0:
			o.Color = (o.Color + 1 + rng.IntN(len(scene.Colors)-1)) % len(scene.Colors)
		case 1:
			o.Shape = (o.Shape + 1 + rng.IntN(len(scene.Shapes)-1)) % len(scene.Shapes)
		case 2:
			o.Texture = 1 - o.Texture
		case 3:
			dx := 2 + rng.IntN(4)
			if rng.IntN(2) == 0 {
				dx = -dx
			}
			o.X = min(max(o.X+dx, 0), tokens.Grid-o.Side())
		case 4:
			out.Objects = append(out.Objects[:i], out.Objects[i+1:]...)
		}
		return out
	}
	e := scene.Object{Color: rng.IntN(len(scene.Colors)), Shape: rng.IntN(len(scene.Shapes)), Size: 0, Texture: rng.IntN(2)}
	e.Y = min(max(r0, 0), tokens.Grid-e.Side())
	e.X = rng.IntN(tokens.Grid - e.Side() + 1)
	out.Objects = append(out.Objects, e)
	return out
}
