package scene

import (
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/world/tokens"
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

// The token grid counts colours and textures without the world's words; the
// words must match it.
func TestVocabularyMatchesTokens(t *testing.T) {
	if len(Colors) != tokens.NumColors || len(tokens.Palette) != tokens.NumColors || len(Textures) != tokens.NumTextures {
		t.Fatalf("colours %d, palette %d, tokens.NumColors %d; textures %d, tokens.NumTextures %d",
			len(Colors), len(tokens.Palette), tokens.NumColors, len(Textures), tokens.NumTextures)
	}
}
