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
