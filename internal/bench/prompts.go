// Package bench is twig's benchmark: fixed, seeded prompt sets per category
// (plus a held-out split of compositions training never shows), run through
// the engine in several modes, judged from the rendered picture.
package bench

import (
	"math/rand/v2"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
)

// Item is one benchmark prompt.
type Item struct {
	Category string     `json:"category"` // a world category, or "heldout"
	Prompt   string     `json:"prompt"`
	Spec     scene.Spec `json:"-"`
	Seed     int64      `json:"seed"`
}

// PerCategory is the number of prompts in each category of the full set.
const PerCategory = 200

// HeldOutCategory names the split of held-out compositions.
const HeldOutCategory = "heldout"

// Suite returns the fixed benchmark: PerCategory prompts for every category
// and for the held-out split, each phrased in English. The same call always
// returns the same prompts.
func Suite() []Item {
	rng := rand.New(rand.NewPCG(2511, 16671))
	var items []Item
	// placeable keeps only specs a picture can satisfy (three large objects
	// in a vertical chain do not fit on the grid, for instance).
	placeable := func(s scene.Spec, held bool) bool {
		_, err := scene.Place(rand.New(rand.NewPCG(1, 2)), s, held)
		return err == nil
	}
	for _, cat := range scene.Categories {
		for i := 0; i < PerCategory; i++ {
			spec := scene.SampleSpec(rng, cat, false)
			for !placeable(spec, false) {
				spec = scene.SampleSpec(rng, cat, false)
			}
			items = append(items, Item{Category: cat, Prompt: english.Phrase(spec, rng), Spec: spec, Seed: int64(len(items) + 1)})
		}
	}
	multi := []string{"color", "shape", "texture", "spatial", "numeracy", "complex"}
	for i := 0; i < PerCategory; i++ {
		spec := scene.SampleSpec(rng, multi[i%len(multi)], true)
		for !placeable(spec, true) {
			spec = scene.SampleSpec(rng, multi[i%len(multi)], true)
		}
		items = append(items, Item{Category: HeldOutCategory, Prompt: english.Phrase(spec, rng), Spec: spec, Seed: int64(len(items) + 1)})
	}
	return items
}

// Sample takes every k-th item so that each category keeps its share.
func Sample(items []Item, limitPerCategory int) []Item {
	count := map[string]int{}
	var out []Item
	for _, it := range items {
		if count[it.Category] < limitPerCategory {
			count[it.Category]++
			out = append(out, it)
		}
	}
	return out
}
