package world

import (
	"math/rand/v2"
	"testing"
)

func TestSampleSpecAndPlaceTerminate(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, cat := range Categories {
		for _, held := range []bool{false, true} {
			for i := 0; i < 300; i++ {
				s := SampleSpec(rng, cat, held)
				if held != namesHeldOut(s) && s.NumObjects() > 1 {
					t.Fatalf("%s held=%v: spec %v", cat, held, s.Groups)
				}
				sc, err := Place(rng, s, held)
				if err != nil {
					t.Fatalf("%s: %v", cat, err)
				}
				if len(sc.Objects) != s.NumObjects() {
					t.Fatal("wrong object count")
				}
			}
		}
	}
}
