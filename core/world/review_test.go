package world

import (
	"math/rand/v2"
	"strings"
	"testing"
)

func TestPlanReviewAcceptsTruthAndNamesErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, cat := range Categories {
		for i := 0; i < 150; i++ {
			spec := SampleSpec(rng, cat, false)
			sc, err := Place(rng, spec, false)
			if err != nil {
				continue
			}
			if r := PlanReview(spec, sc.Objects, true, Grid); r != nil {
				t.Fatalf("%s: true plan rejected: %v", cat, r)
			}
			for cut := 1; cut < Grid; cut += 5 {
				var above []Object
				for _, o := range sc.Objects {
					if o.Y < cut {
						above = append(above, o)
					}
				}
				if r := PlanReview(spec, above, false, cut); r != nil {
					t.Fatalf("%s: true partial plan to row %d rejected: %v", cat, cut, r)
				}
			}
			r := PlanReview(spec, sc.Objects[:len(sc.Objects)-1], true, Grid)
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
	spec, err := Parse("a red circle above a blue square")
	if err != nil {
		t.Fatal(err)
	}
	red := Object{Color: 0, Shape: 0, Size: 0, X: 2, Y: 8}
	blue := Object{Color: 2, Shape: 1, Size: 0, X: 9, Y: 1}
	cases := []struct {
		objs  []Object
		final bool
		from  int
		want  string
	}{
		{[]Object{red, blue}, true, Grid, "red circle not above blue square"},
		{[]Object{red}, true, Grid, "missing blue square"},
		{[]Object{red, red}, false, 12, "overlap"},
		{[]Object{red, {Color: 0, Shape: 0, Size: 0, X: 10, Y: 2}}, false, 5, "extra red circle"},
		{[]Object{{Color: 1, Shape: 0, Size: 0, X: 2, Y: 2}}, false, 5, "extra green circle"},
		{[]Object{{Color: 2, Shape: 1, Size: 0, X: 2, Y: 0}}, false, 3, "no room below for red circle"},
		{[]Object{{Color: 0, Shape: 0, Size: 0, X: 2, Y: 13}}, false, Grid, "no room below for blue square"},
		{[]Object{{Color: 0, Shape: 0, Size: 0, X: 2, Y: 0}}, false, 3, ""},
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
