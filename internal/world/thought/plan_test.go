package thought

import (
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

func TestPlanCheckAcceptsTruthRejectsErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, cat := range scene.Categories {
		for i := 0; i < 200; i++ {
			spec := scene.SampleSpec(rng, cat, false)
			sc, err := scene.Place(rng, spec, false)
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
			extra := append(append([]scene.Object(nil), sc.Objects...), sc.Objects[0])
			extra[len(extra)-1].X = (extra[0].X + 8) % 12
			if p := PlanCheck(spec, extra, false); p == "" && !overlapAny(extra) {
				t.Fatalf("%s: extra object accepted", cat)
			}
		}
	}
}

func overlapAny(objs []scene.Object) bool {
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
	for _, cat := range scene.Categories {
		for i := 0; i < 150; i++ {
			spec := scene.SampleSpec(rng, cat, false)
			sc, err := scene.Place(rng, spec, false)
			if err != nil {
				continue
			}
			for cut := 0; cut <= tokens.Grid; cut += 3 {
				var above []scene.Object
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
	spec, err := english.Parse("a red square with a green square beneath it")
	if err != nil {
		t.Fatal(err)
	}
	green := scene.Object{Color: indexOf(scene.Colors, "green"), Shape: indexOf(scene.Shapes, "square"), Size: 1, Texture: 0, X: 10, Y: 0}
	if PlanCompletable(spec, []scene.Object{green}, 6) {
		t.Fatal("green square at the top accepted although the red square must go above it")
	}
	if !PlanCompletable(spec, nil, 6) {
		t.Fatal("an empty first band rejected although both squares fit below it")
	}
	red := green
	red.Color = indexOf(scene.Colors, "red")
	if !PlanCompletable(spec, []scene.Object{red}, 6) {
		t.Fatal("red square at the top rejected")
	}
	// Four small objects in a column need 12 rows; from row 6 only 10 remain.
	col := scene.Spec{}
	for _, c := range []string{"red", "blue", "green", "yellow"} {
		col.Groups = append(col.Groups, scene.Group{Count: 1, Color: indexOf(scene.Colors, c), Shape: indexOf(scene.Shapes, "circle"), Size: 0, Texture: scene.Any})
	}
	for g := 0; g < 3; g++ {
		col.Relations = append(col.Relations, scene.Relation{A: g, B: g + 1, Kind: scene.Above})
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
