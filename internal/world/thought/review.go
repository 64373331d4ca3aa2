package thought

import (
	"github.com/twig-project/twig/internal/world/scene"
)

// A plan review is what the model writes after a thought when it reflects:
// a verdict and, for a plan that does not fit the prompt, the reason in a
// few words, e.g.
//
//	<review> ok </review>
//	<review> bad blue square not below red circle </review>
//	<review> bad no room below for green square </review>
//
// The model learns to write reviews from training documents whose verdicts
// and reasons PlanReview computes when the data is made: the world is the
// teacher, never the runtime.

// Review words. They follow every other model word in the vocabulary, so a
// vocabulary that grows by them keeps the ids of the words before.
const (
	ReviewOpen  = "<review>"
	ReviewClose = "</review>"
	VerdictOK   = "ok"
	VerdictBad  = "bad"
)

// ReviewWords lists the words reviews add to the model's vocabulary.
var ReviewWords = []string{ReviewOpen, ReviewClose, VerdictOK, VerdictBad,
	"missing", "extra", "not", "overlap", "no", "room", "for"}

// PlanReview judges a drawing plan — the objects the thoughts so far place —
// against a prompt's claims and returns nil when it fits, or the reason it
// does not, in review words: "overlap", "extra red circle", "missing blue
// square", "blue square not below red circle", or, before the last band,
// "no room below for green square" when what the prompt still needs no
// longer fits in rows fromRow and below. final says the plan is complete.
func PlanReview(spec scene.Spec, objs []scene.Object, final bool, fromRow int) []string {
	for i := range objs {
		for j := i + 1; j < len(objs); j++ {
			if overlap(objs[i], objs[j]) {
				return []string{"overlap"}
			}
		}
	}
	for _, o := range objs {
		asked := false
		for _, g := range spec.Groups {
			asked = asked || g.Matches(o)
		}
		if !asked {
			return append([]string{"extra"}, objectWords(o)...)
		}
	}
	// Counts first, relations ignored: which object is one too many?
	bare := scene.Spec{Groups: spec.Groups}
	if !assignPlan(bare, objs, make([]int, len(objs)), groupCounts(spec), 0, false) {
		for i := len(objs) - 1; i >= 0; i-- {
			rest := append(append([]scene.Object(nil), objs[:i]...), objs[i+1:]...)
			if assignPlan(bare, rest, make([]int, len(rest)), groupCounts(spec), 0, false) {
				return append([]string{"extra"}, objectWords(objs[i])...)
			}
		}
		return append([]string{"extra"}, objectWords(objs[len(objs)-1])...)
	}
	assign := make([]int, len(objs))
	left := groupCounts(spec)
	if !assignPlan(spec, objs, assign, left, 0, false) {
		// Every count-respecting assignment breaks a relation; name one.
		assignPlan(bare, objs, assign, groupCounts(spec), 0, false)
		for _, r := range spec.Relations {
			for a := range objs {
				for b := range objs {
					if assign[a] == r.A && assign[b] == r.B && !scene.HoldsLoose(objs[a], objs[b], r.Kind) {
						w := append(objectWords(objs[a]), "not", relationToken[r.Kind])
						return append(w, objectWords(objs[b])...)
					}
				}
			}
		}
		return []string{"overlap"} // unreachable: a relation must be broken
	}
	missing := func() []string {
		used := groupCounts(spec)
		for _, g := range assign {
			used[g]--
		}
		for g, n := range used {
			if n > 0 {
				return GroupWords(spec.Groups[g])
			}
		}
		return nil
	}
	if final {
		if m := missing(); m != nil {
			return append([]string{"missing"}, m...)
		}
		return nil
	}
	if !PlanCompletable(spec, objs, fromRow) {
		m := missing()
		if m == nil {
			m = GroupWords(spec.Groups[0])
		}
		return append([]string{"no", "room", "below", "for"}, m...)
	}
	return nil
}

func groupCounts(spec scene.Spec) []int {
	left := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		left[i] = g.Count
	}
	return left
}

// objectWords names an object in a review: colour and shape.
func objectWords(o scene.Object) []string {
	return []string{scene.Colors[o.Color], scene.Shapes[o.Shape]}
}

// GroupWords names a prompt's group in a review: the attributes it names,
// then its shape.
func GroupWords(g scene.Group) []string {
	var w []string
	if g.Size != scene.Any {
		w = append(w, scene.Sizes[g.Size])
	}
	if g.Texture != scene.Any {
		w = append(w, scene.Textures[g.Texture])
	}
	if g.Color != scene.Any {
		w = append(w, scene.Colors[g.Color])
	}
	return append(w, scene.Shapes[g.Shape])
}
