package thought

import (
	"slices"

	"github.com/twig-project/twig/internal/world/scene"
)

// CanonicalSpec is the same meaning as s written one way: every relation
// reads "above" or "left" ("the circle below the square" is "the square
// above the circle"), and the groups are listed so that each relation's
// first group comes before its second (the order s gives them wherever the
// relations leave it open). The picture that satisfies one satisfies the
// other (the judge's claims are symmetric), so it is a normal form of the
// prompt, like lower case: weights whose config asks for it
// (model.PromptCanonical) read and are trained on prompts in this form, and
// their reviews name relations in it. It does not place anything: where the
// objects go is still the thinker's plan.
func CanonicalSpec(s scene.Spec) scene.Spec {
	rels := make([]scene.Relation, len(s.Relations))
	for i, r := range s.Relations {
		switch r.Kind {
		case scene.Below:
			r = scene.Relation{A: r.B, B: r.A, Kind: scene.Above}
		case scene.RightOf:
			r = scene.Relation{A: r.B, B: r.A, Kind: scene.LeftOf}
		}
		rels[i] = r
	}
	// A stable topological order: repeatedly take the earliest group that no
	// remaining relation puts after another remaining group. Relations that
	// cannot all hold (a cycle) keep the rest in their given order.
	n := len(s.Groups)
	order := make([]int, 0, n)
	taken := make([]bool, n)
	for len(order) < n {
		next := -1
		for g := 0; g < n && next < 0; g++ {
			if taken[g] {
				continue
			}
			free := true
			for _, r := range rels {
				if r.B == g && !taken[r.A] && r.A != g {
					free = false
					break
				}
			}
			if free {
				next = g
			}
		}
		if next < 0 { // a cycle: take the earliest left
			next = slices.Index(taken, false)
		}
		taken[next] = true
		order = append(order, next)
	}
	pos := make([]int, n)
	out := scene.Spec{Category: s.Category, Groups: make([]scene.Group, n)}
	for i, g := range order {
		pos[g] = i
		out.Groups[i] = s.Groups[g]
	}
	for _, r := range rels {
		out.Relations = append(out.Relations, scene.Relation{A: pos[r.A], B: pos[r.B], Kind: r.Kind})
	}
	slices.SortStableFunc(out.Relations, func(a, b scene.Relation) int {
		if a.A != b.A {
			return a.A - b.A
		}
		return a.B - b.B
	})
	return out
}
