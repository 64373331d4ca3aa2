package thought

import (
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

func TestPlanReviewAcceptsTruthAndNamesErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, cat := range scene.Categories {
		for i := 0; i < 150; i++ {
			spec := scene.SampleSpec(rng, cat, false)
			sc, err := scene.Place(rng, spec, false)
			if err != nil {
				continue
			}
			if r := PlanReview(spec, sc.Objects, true, tokens.Grid); r != nil {
				t.Fatalf("%s: true plan rejected: %v", cat, r)
			}
			for cut := 1; cut < tokens.Grid; cut += 5 {
				var above []scene.Object
				for _, o := range sc.Objects {
					if o.Y < cut {
						above = append(above, o)
					}
				}
				if r := PlanReview(spec, above, false, cut); r != nil {
					t.Fatalf("%s: true partial plan to row %d rejected: %v", cat, cut, r)
				}
			}
			r := PlanReview(spec, sc.Objects[:len(sc.Objects)-1], true, tokens.Grid)
			if len(r) == 0 || r[0] != "missing" {
				t.Fatalf("%s: plan without its last object: got %v, want missing …", cat, r)
			}
			for _, w := range r {
				if !isModelWord(w) {
					t.Fatalf("review word %q is not a model word", w)
				}
			}
		}
	}
}

func TestPlanReviewReasons(t *testing.T) {
	spec, err := english.Parse("a red circle above a blue square")
	if err != nil {
		t.Fatal(err)
	}
	red := scene.Object{Color: 0, Shape: 0, Size: 0, X: 2, Y: 8}
	blue := scene.Object{Color: 2, Shape: 1, Size: 0, X: 9, Y: 1}
	cases := []struct {
		objs  []scene.Object
		final bool
		from  int
		want  string
	}{
		{[]scene.Object{red, blue}, true, tokens.Grid, "red circle not above blue square"},
		{[]scene.Object{red}, true, tokens.Grid, "missing blue square"},
		{[]scene.Object{red, red}, false, 12, "overlap"},
		{[]scene.Object{red, {Color: 0, Shape: 0, Size: 0, X: 10, Y: 2}}, false, 5, "extra red circle"},
		{[]scene.Object{{Color: 1, Shape: 0, Size: 0, X: 2, Y: 2}}, false, 5, "extra green circle"},
		{[]scene.Object{{Color: 2, Shape: 1, Size: 0, X: 2, Y: 0}}, false, 3, "no room below for red circle"},
		{[]scene.Object{{Color: 0, Shape: 0, Size: 0, X: 2, Y: 13}}, false, tokens.Grid, "no room below for blue square"},
		{[]scene.Object{{Color: 0, Shape: 0, Size: 0, X: 2, Y: 0}}, false, 3, ""},
	}
	for _, c := range cases {
		if got := strings.Join(PlanReview(spec, c.objs, c.final, c.from), " "); got != c.want {
			t.Errorf("PlanReview(%v, final=%v, from %d) = %q, want %q", c.objs, c.final, c.from, got, c.want)
		}
	}
}

func isModelWord(w string) bool {
	for _, m := range ModelWords() {
		if m == w {
			return true
		}
	}
	return false
}
