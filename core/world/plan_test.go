package world

import (
	"math/rand/v2"
	"testing"
)

func TestPlanCheckAcceptsTruthRejectsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cat := range Categories {
		for i := 0; i < 200; i++ {
			spec := SampleSpec(rng, cat, false)
			sc, err := Place(rng, spec, false)
			if err != nil {
				continue
			}
			if p := PlanCheck(spec, sc.Objects, true); p != "" {
				t.Fatalf("%s: true plan rejected: %s", cat, p)
			}
			if p := PlanCheck(spec, sc.Objects[:len(sc.Objects)-1], true); p == "" {
				t.Fatalf("%s: plan missing an object accepted as final", cat)
			}
			if p := PlanCheck(spec, sc.Objects[:len(sc.Objects)-1], false); p != "" {
				t.Fatalf("%s: partial true plan rejected: %s", cat, p)
			}
			extra := append(append([]Object(nil), sc.Objects...), sc.Objects[0])
			extra[len(extra)-1].X = (extra[0].X + 8) % 12
			if p := PlanCheck(spec, extra, false); p == "" && !overlapAny(extra) {
				t.Fatalf("%s: extra object accepted", cat)
			}
		}
	}
}

func overlapAny(objs []Object) bool {
	for i := range objs {
		for j := i + 1; j < len(objs); j++ {
			if overlap(objs[i], objs[j]) {
				return true
			}
		}
	}
	return false
}

// A true scene cut at any row is completable from that row: the objects
// starting above it are a plan whose rest fits below.
func TestPlanCompletableAcceptsEveryPrefixOfATrueScene(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 8))
	for _, cat := range Categories {
		for i := 0; i < 150; i++ {
			spec := SampleSpec(rng, cat, false)
			sc, err := Place(rng, spec, false)
			if err != nil {
				continue
			}
			for cut := 0; cut <= Grid; cut += 3 {
				var above []Object
				for _, o := range sc.Objects {
					if o.Y < cut {
						above = append(above, o)
					}
				}
				if !PlanCompletable(spec, above, cut) {
					t.Fatalf("%s %v: true prefix above row %d rejected: %v", cat, spec, cut, above)
				}
			}
		}
	}
}

func TestPlanCompletableRejectsDeadEnds(t *testing.T) {
	spec, err := Parse("a red square with a green square beneath it")
	if err != nil {
		t.Fatal(err)
	}
	green := Object{Color: indexOf(Colors, "green"), Shape: indexOf(Shapes, "square"), Size: 1, Texture: 0, X: 10, Y: 0}
	if PlanCompletable(spec, []Object{green}, 6) {
		t.Fatal("green square at the top accepted although the red square must go above it")
	}
	if !PlanCompletable(spec, nil, 6) {
		t.Fatal("an empty first band rejected although both squares fit below it")
	}
	red := green
	red.Color = indexOf(Colors, "red")
	if !PlanCompletable(spec, []Object{red}, 6) {
		t.Fatal("red square at the top rejected")
	}
	// Four small objects in a column need 12 rows; from row 6 only 10 remain.
	col := Spec{}
	for _, c := range []string{"red", "blue", "green", "yellow"} {
		col.Groups = append(col.Groups, Group{Count: 1, Color: indexOf(Colors, c), Shape: indexOf(Shapes, "circle"), Size: 0, Texture: Any})
	}
	for g := 0; g < 3; g++ {
		col.Relations = append(col.Relations, Relation{A: g, B: g + 1, Kind: Above})
	}
	if PlanCompletable(col, nil, 6) {
		t.Fatal("a four-high column accepted with 10 rows left")
	}
	if !PlanCompletable(col, nil, 4) {
		t.Fatal("a four-high column rejected with 12 rows left")
	}
}

func indexOf(list []string, w string) int {
	for i, v := range list {
		if v == w {
			return i
		}
	}
	return -1
}
