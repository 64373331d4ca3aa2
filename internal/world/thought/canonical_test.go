package thought

import (
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/judge"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

func TestCanonicalSpecWords(t *testing.T) {
	red := scene.Group{Count: 1, Color: 0, Shape: 0, Size: scene.Any, Texture: scene.Any}
	blue := scene.Group{Count: 1, Color: 4, Shape: 1, Size: scene.Any, Texture: scene.Any}
	green := scene.Group{Count: 1, Color: 3, Shape: 2, Size: scene.Any, Texture: scene.Any}
	words := func(s scene.Spec) string { return strings.Join(ModelPromptWords(CanonicalSpec(s)), " ") }
	two := func(kind int) scene.Spec {
		return scene.Spec{Category: "spatial", Groups: []scene.Group{red, blue}, Relations: []scene.Relation{{A: 0, B: 1, Kind: kind}}}
	}
	above, below := words(two(scene.Above)), words(two(scene.Below))
	if !strings.HasSuffix(above, ", first above second") || !strings.HasSuffix(below, ", first above second") {
		t.Fatalf("relations not written as above: %q, %q", above, below)
	}
	if above == below || !strings.HasPrefix(below, "one "+scene.Colors[4]) {
		t.Fatalf("'red below blue' must list blue first: %q", below)
	}
	if got := words(two(scene.RightOf)); !strings.HasSuffix(got, "first left second") || !strings.HasPrefix(got, "one "+scene.Colors[4]) {
		t.Fatalf("right: %q", got)
	}
	// A chain written bottom-up becomes top-down.
	chain := scene.Spec{Category: "complex", Groups: []scene.Group{red, blue, green},
		Relations: []scene.Relation{{A: 0, B: 1, Kind: scene.Below}, {A: 1, B: 2, Kind: scene.Below}}}
	c := CanonicalSpec(chain)
	if !reflect.DeepEqual(c.Groups, []scene.Group{green, blue, red}) ||
		!reflect.DeepEqual(c.Relations, []scene.Relation{{A: 0, B: 1, Kind: scene.Above}, {A: 1, B: 2, Kind: scene.Above}}) {
		t.Fatalf("chain: %+v", c)
	}
	// Already canonical: unchanged.
	if s := two(scene.LeftOf); !reflect.DeepEqual(CanonicalSpec(s), s) {
		t.Fatalf("canonical spec changed: %+v", CanonicalSpec(s))
	}
}

// TestCanonicalSpecSameMeaning: over every category, a picture of a scene
// placed for a spec passes the judge for the spec and its canonical form
// alike, and a picture of another spec's scene gets the same verdict too.
func TestCanonicalSpecSameMeaning(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		cat := scene.Categories[i%len(scene.Categories)]
		spec := scene.SampleSpec(rng, cat, false)
		other := scene.SampleSpec(rng, cat, false)
		c := CanonicalSpec(spec)
		if len(c.Groups) != len(spec.Groups) || len(c.Relations) != len(spec.Relations) {
			t.Fatalf("%+v → %+v", spec, c)
		}
		for _, r := range c.Relations {
			if r.Kind != scene.Above && r.Kind != scene.LeftOf || r.A >= r.B {
				t.Fatalf("relation %+v of %+v not canonical", r, c)
			}
		}
		for _, s := range []scene.Spec{spec, other} {
			sc, err := scene.Place(rng, s, false)
			if err != nil {
				continue
			}
			pic := tokens.Picture(scene.Render(sc))
			if a, b := judge.Check(spec, pic).Pass, judge.Check(c, pic).Pass; a != b {
				t.Fatalf("judge differs for %+v and its canonical %+v: %v vs %v", spec, c, a, b)
			}
		}
	}
}
