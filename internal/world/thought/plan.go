package thought

import (
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// PlanCheck checks a drawing plan — the objects the thoughts so far have
// placed — against a prompt's claims, as far as a partial plan allows: every
// object belongs to some group, no group gets more objects than its count
// (exactly its count when final), objects do not overlap, and every relation
// between objects already placed holds. It returns "" when the plan is
// consistent, or the first problem found.
func PlanCheck(spec scene.Spec, objs []scene.Object, final bool) string {
	for i := range objs {
		for j := i + 1; j < len(objs); j++ {
			if overlap(objs[i], objs[j]) {
				return "objects overlap"
			}
		}
	}
	for _, o := range objs {
		any := false
		for _, g := range spec.Groups {
			if g.Matches(o) {
				any = true
			}
		}
		if !any {
			return "an object the prompt does not ask for: " + scene.Colors[o.Color] + " " + scene.Shapes[o.Shape]
		}
	}
	left := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		left[i] = g.Count
	}
	assign := make([]int, len(objs))
	if !assignPlan(spec, objs, assign, left, 0, final) {
		if final {
			return "the objects do not match the prompt's counts and relations"
		}
		return "too many objects of a kind, or a relation broken"
	}
	return ""
}

func overlap(a, b scene.Object) bool {
	return a.X < b.X+b.Side() && b.X < a.X+a.Side() && a.Y < b.Y+b.Side() && b.Y < a.Y+a.Side()
}

func assignPlan(spec scene.Spec, objs []scene.Object, assign, left []int, i int, final bool) bool {
	if i == len(objs) {
		if final {
			for _, l := range left {
				if l != 0 {
					return false
				}
			}
		}
		for _, r := range spec.Relations {
			for a := range objs {
				for b := range objs {
					if assign[a] == r.A && assign[b] == r.B && !scene.HoldsLoose(objs[a], objs[b], r.Kind) {
						return false
					}
				}
			}
		}
		return true
	}
	for g, grp := range spec.Groups {
		if left[g] > 0 && grp.Matches(objs[i]) {
			left[g]--
			assign[i] = g
			ok := assignPlan(spec, objs, assign, left, i+1, final)
			left[g]++
			if ok {
				return true
			}
		}
	}
	return false
}

// PlannedObjects collects the objects that thoughts' "new" entries place.
func PlannedObjects(thoughts ...string) []scene.Object {
	var objs []scene.Object
	for _, t := range thoughts {
		es, _, _, _ := ParseThought(t)
		for _, e := range es {
			if e.New {
				objs = append(objs, scene.Object{Color: e.Color, Shape: e.Shape, Size: e.Size, Texture: e.Texture, X: e.X, Y: e.Y})
			}
		}
	}
	return objs
}

// PlanCompletable reports whether a partial plan that PlanCheck accepts can
// still be finished: the objects the prompt still needs fit in the rows from
// fromRow down with every relation holding. Thoughts place objects band by band, so an object planned early
// can make a later one impossible ("a red square with a green square beneath
// it" whose first band puts the green square at the top); this check finds
// that while the band can still be rethought.
func PlanCompletable(spec scene.Spec, objs []scene.Object, fromRow int) bool {
	left := make([]int, len(spec.Groups))
	for i, g := range spec.Groups {
		left[i] = g.Count
	}
	assign := make([]int, len(objs))
	budget := completionBudget
	return assignThenComplete(spec, objs, assign, left, 0, fromRow, &budget)
}

// completionBudget bounds the placements one PlanCompletable call tries; a
// search that runs out counts the plan as completable, so the check only
// ever rejects plans it has proved dead.
const completionBudget = 20000

func assignThenComplete(spec scene.Spec, objs []scene.Object, assign, left []int, i, fromRow int, budget *int) bool {
	if i == len(objs) {
		// Objects still to place, with the least demanding attributes.
		all := append([]scene.Object(nil), objs...)
		groupOf := append([]int(nil), assign...)
		for g, grp := range spec.Groups {
			for k := 0; k < left[g]; k++ {
				size := grp.Size
				if size == scene.Any {
					size = 0
				}
				all = append(all, scene.Object{Color: grp.Color, Shape: grp.Shape, Size: size, Texture: grp.Texture, X: -1, Y: -1})
				groupOf = append(groupOf, g)
			}
		}
		return completePlacement(spec, all, groupOf, len(objs), fromRow, budget)
	}
	for g, grp := range spec.Groups {
		if left[g] > 0 && grp.Matches(objs[i]) {
			left[g]--
			assign[i] = g
			ok := assignThenComplete(spec, objs, assign, left, i+1, fromRow, budget)
			left[g]++
			if ok {
				return true
			}
		}
	}
	return false
}

// completePlacement places all[next:] at rows ≥ fromRow by backtracking over
// candidate corners: the grid's edges and the edges of objects already
// placed, where a tight layout's objects sit.
func completePlacement(spec scene.Spec, all []scene.Object, groupOf []int, next, fromRow int, budget *int) bool {
	if next == len(all) {
		return true
	}
	if *budget <= 0 {
		return true
	}
	side := all[next].Side()
	xs := []int{0, tokens.Grid - side}
	ys := []int{fromRow, tokens.Grid - side}
	for _, o := range all[:next] {
		xs = append(xs, o.X+o.Side(), o.X-side, o.X)
		ys = append(ys, o.Y+o.Side(), o.Y-side, o.Y)
	}
	for _, y := range ys {
		if y < fromRow || y > tokens.Grid-side {
			continue
		}
		for _, x := range xs {
			if x < 0 || x > tokens.Grid-side {
				continue
			}
			*budget--
			if *budget <= 0 {
				return true
			}
			all[next].X, all[next].Y = x, y
			if placedFits(spec, all[:next+1], groupOf) && completePlacement(spec, all, groupOf, next+1, fromRow, budget) {
				return true
			}
		}
	}
	all[next].X, all[next].Y = -1, -1
	return false
}

// placedFits checks the last object of objs against the ones before it: no
// overlap, and every relation between their groups holds.
func placedFits(spec scene.Spec, objs []scene.Object, groupOf []int) bool {
	n := len(objs) - 1
	o := objs[n]
	for i := 0; i < n; i++ {
		if overlap(objs[i], o) {
			return false
		}
		for _, r := range spec.Relations {
			if r.A == groupOf[n] && r.B == groupOf[i] && !scene.HoldsLoose(o, objs[i], r.Kind) {
				return false
			}
			if r.A == groupOf[i] && r.B == groupOf[n] && !scene.HoldsLoose(objs[i], o, r.Kind) {
				return false
			}
		}
	}
	return true
}
