package scene

import (
	"fmt"
	"math/rand/v2"

	"github.com/twig-project/twig/internal/world/tokens"
)

// SampleSpec draws a random prompt meaning of the given category. Multi-object
// specs never name a held-out colour–shape pair unless heldOut is true, in
// which case at least one group names one (the benchmark's held-out split;
// single-object specs may name one either way).
func SampleSpec(rng *rand.Rand, category string, heldOut bool) Spec {
	for {
		s := sampleSpecOnce(rng, category)
		if !distinctGroups(s) {
			continue
		}
		multi := s.NumObjects() > 1
		named := namesHeldOut(s)
		if heldOut && !named {
			forceHeldOut(rng, &s)
			if !distinctGroups(s) || !namesHeldOut(s) {
				continue
			}
		}
		if !heldOut && multi && named {
			continue
		}
		return s
	}
}

// NumObjects is the number of objects the spec asks for.
func (s Spec) NumObjects() int {
	n := 0
	for _, g := range s.Groups {
		n += g.Count
	}
	return n
}

func namesHeldOut(s Spec) bool {
	for _, g := range s.Groups {
		if g.Color != Any && IsHeldOutPair(g.Color, g.Shape) {
			return true
		}
	}
	return false
}

func forceHeldOut(rng *rand.Rand, s *Spec) {
	p := HeldOut[rng.IntN(len(HeldOut))]
	g := &s.Groups[rng.IntN(len(s.Groups))]
	g.Color, g.Shape = p[0], p[1]
}

// distinctGroups rejects specs where one object could satisfy two groups'
// descriptions: the judge could not tell which group it belongs to.
func distinctGroups(s Spec) bool {
	for i := range s.Groups {
		for j := i + 1; j < len(s.Groups); j++ {
			a, b := s.Groups[i], s.Groups[j]
			if a.Shape != b.Shape {
				continue
			}
			differ := func(x, y int) bool { return x != Any && y != Any && x != y }
			if !differ(a.Color, b.Color) && !differ(a.Size, b.Size) && !differ(a.Texture, b.Texture) {
				return false
			}
		}
	}
	return true
}

func maybe(rng *rand.Rand, p float64, n int) int {
	if rng.Float64() < p {
		return rng.IntN(n)
	}
	return Any
}

func sampleSpecOnce(rng *rand.Rand, category string) Spec {
	nc, ns := len(Colors), len(Shapes)
	group := func(count int, pColor, pSize, pTex float64) Group {
		return Group{Count: count, Shape: rng.IntN(ns), Color: maybe(rng, pColor, nc),
			Size: maybe(rng, pSize, 2), Texture: maybe(rng, pTex, 2)}
	}
	s := Spec{Category: category}
	switch category {
	case "single":
		s.Groups = []Group{group(1, 0.9, 0.5, 0.5)}
	case "color":
		a, b := group(1, 1, 0.2, 0.1), group(1, 1, 0.2, 0.1)
		for b.Color == a.Color {
			b.Color = rng.IntN(nc)
		}
		s.Groups = []Group{a, b}
	case "shape":
		a, b := group(1, 0.5, 0.8, 0.1), group(1, 0.5, 0.8, 0.1)
		for b.Shape == a.Shape {
			b.Shape = rng.IntN(ns)
		}
		s.Groups = []Group{a, b}
	case "texture":
		a, b := group(1, 0.8, 0.1, 1), group(1, 0.8, 0.1, 1)
		if rng.IntN(2) == 0 {
			b.Texture = 1 - a.Texture
		}
		s.Groups = []Group{a, b}
	case "spatial":
		s.Groups = []Group{group(1, 1, 0.2, 0.2), group(1, 1, 0.2, 0.2)}
		s.Relations = []Relation{{A: 0, B: 1, Kind: rng.IntN(4)}}
	case "numeracy":
		if rng.IntN(2) == 0 {
			g := group(2+rng.IntN(3), 0.8, 0.3, 0.3)
			g.Size = maybeSmall(rng, g)
			s.Groups = []Group{g}
		} else {
			a := group(2+rng.IntN(2), 0.9, 0.2, 0.2)
			b := group(1+rng.IntN(2), 0.9, 0.2, 0.2)
			a.Size, b.Size = 0, 0 // counts of large objects rarely fit beside others
			s.Groups = []Group{a, b}
		}
	case "complex":
		switch rng.IntN(3) {
		case 0: // a counted group related to another object
			a := group(2+rng.IntN(2), 0.9, 0, 0.4)
			a.Size = 0
			b := group(1, 1, 0.3, 0.3)
			s.Groups = []Group{a, b}
			s.Relations = []Relation{{A: 1, B: 0, Kind: rng.IntN(4)}}
		case 1: // three objects, two related
			s.Groups = []Group{group(1, 1, 0.4, 0.4), group(1, 1, 0.4, 0.4), group(1, 1, 0.4, 0.4)}
			s.Relations = []Relation{{A: 0, B: 1, Kind: rng.IntN(4)}}
		default: // three objects in a chain of relations
			s.Groups = []Group{group(1, 1, 0.3, 0.3), group(1, 1, 0.3, 0.3), group(1, 1, 0.3, 0.3)}
			k := rng.IntN(4)
			s.Relations = []Relation{{A: 0, B: 1, Kind: k}, {A: 1, B: 2, Kind: k}}
		}
	default:
		panic(fmt.Sprintf("BUG: unknown category %q", category))
	}
	return s
}

func maybeSmall(rng *rand.Rand, g Group) int {
	if g.Count >= 3 {
		return 0
	}
	return g.Size
}

// Place lays out objects that satisfy spec on the grid: no overlap, at least
// one empty cell between bounding boxes, and every relation held with a clear
// margin. It fills open attributes at random and fails after many tries.
// allowHeldOut=false keeps held-out colour–shape pairs out of multi-object scenes.
func Place(rng *rand.Rand, spec Spec, allowHeldOut bool) (Scene, error) {
	multi := spec.NumObjects() > 1
	for try := 0; try < 200; try++ {
		var objs []Object
		var groupOf []int
		ok := true
		for gi, g := range spec.Groups {
			for k := 0; k < g.Count; k++ {
				o := Object{Color: g.Color, Shape: g.Shape, Size: g.Size, Texture: g.Texture}
				if o.Color == Any {
					o.Color = rng.IntN(len(Colors))
					for multi && !allowHeldOut && IsHeldOutPair(o.Color, o.Shape) {
						o.Color = rng.IntN(len(Colors))
					}
				}
				if o.Size == Any {
					o.Size = rng.IntN(2)
					if spec.NumObjects() >= 3 && rng.IntN(3) > 0 {
						o.Size = 0
					}
				}
				if o.Texture == Any {
					o.Texture = rng.IntN(2)
				}
				objs = append(objs, o)
				groupOf = append(groupOf, gi)
			}
		}
		// Extra objects must not match another group's description.
		for i, o := range objs {
			for gj, g := range spec.Groups {
				if gj != groupOf[i] && g.Matches(o) {
					ok = false
				}
			}
		}
		if !ok {
			continue
		}
		if placeAll(rng, objs, groupOf, spec.Relations) {
			return Scene{Objects: objs}, nil
		}
	}
	return Scene{}, fmt.Errorf("world: could not lay out %d objects for %v", spec.NumObjects(), spec.Groups)
}

func placeAll(rng *rand.Rand, objs []Object, groupOf []int, rels []Relation) bool {
	for i := range objs {
		placed := false
		for t := 0; t < 60 && !placed; t++ {
			side := objs[i].Side()
			objs[i].X = rng.IntN(tokens.Grid - side + 1)
			objs[i].Y = rng.IntN(tokens.Grid - side + 1)
			placed = fits(objs[:i+1], groupOf, rels)
		}
		if !placed {
			return false
		}
	}
	return true
}

// fits checks the last object against those before it.
func fits(objs []Object, groupOf []int, rels []Relation) bool {
	n := len(objs) - 1
	o := objs[n]
	for i := 0; i < n; i++ {
		p := objs[i]
		if !Separated(o, p) {
			return false
		}
		for _, r := range rels {
			if r.A == groupOf[i] && r.B == groupOf[n] && !Holds(p, o, r.Kind) {
				return false
			}
			if r.A == groupOf[n] && r.B == groupOf[i] && !Holds(o, p, r.Kind) {
				return false
			}
		}
	}
	return true
}

// Separated reports whether two objects' bounding boxes leave at least one
// empty cell between them.
func Separated(a, b Object) bool {
	return a.X+a.Side() < b.X || b.X+b.Side() < a.X || a.Y+a.Side() < b.Y || b.Y+b.Side() < a.Y
}

// HoldsLoose reports whether a stands in relation kind to b without the
// margin: their boxes do not overlap along the relation's axis and a is on
// the named side (how the judge reads a picture).
func HoldsLoose(a, b Object, kind int) bool {
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

// Holds reports whether a stands in relation kind to b with a clear margin
// (at least one empty cell row or column between them).
func Holds(a, b Object, kind int) bool {
	switch kind {
	case Above:
		return a.Y+a.Side() < b.Y
	case Below:
		return b.Y+b.Side() < a.Y
	case LeftOf:
		return a.X+a.Side() < b.X
	case RightOf:
		return b.X+b.Side() < a.X
	}
	return false
}
