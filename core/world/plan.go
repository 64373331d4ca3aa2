package world

// PlanCheck checks a drawing plan — the objects the thoughts so far have
// placed — against a prompt's claims, as far as a partial plan allows: every
// object belongs to some group, no group gets more objects than its count
// (exactly its count when final), objects do not overlap, and every relation
// between objects already placed holds. It returns "" when the plan is
// consistent, or the first problem found.
func PlanCheck(spec Spec, objs []Object, final bool) string {
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
			return "an object the prompt does not ask for: " + Colors[o.Color] + " " + Shapes[o.Shape]
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

func overlap(a, b Object) bool {
	return a.X < b.X+b.Side() && b.X < a.X+a.Side() && a.Y < b.Y+b.Side() && b.Y < a.Y+a.Side()
}

func assignPlan(spec Spec, objs []Object, assign, left []int, i int, final bool) bool {
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
					if assign[a] == r.A && assign[b] == r.B && !looseHolds(objs[a], objs[b], r.Kind) {
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

// looseHolds is a relation without the margin: no overlap along the axis.
func looseHolds(a, b Object, kind int) bool {
	switch kind {
	case Above:
		return a.Y+a.Side() <= b.Y
	case Below:
		return b.Y+b.Side() <= a.Y
	case LeftOf:
		return a.X+a.Side() <= b.X
	case RightOf:
		return b.X+b.Side() <= a.X
	}
	return false
}

// PlannedObjects collects the objects that thoughts' "new" entries place.
func PlannedObjects(thoughts ...string) []Object {
	var objs []Object
	for _, t := range thoughts {
		es, _, _, _ := ParseThought(t)
		for _, e := range es {
			if e.New {
				objs = append(objs, Object{Color: e.Color, Shape: e.Shape, Size: e.Size, Texture: e.Texture, X: e.X, Y: e.Y})
			}
		}
	}
	return objs
}
