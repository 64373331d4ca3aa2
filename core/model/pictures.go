package model

import (
	"image"

	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// TokensOf reads a picture into the model's token view, 16×16 in raster
// order, -1 where a cell reads undrawn (the world's tokens.FromPicture: each
// sub-pixel's nearest palette colour; the undrawn grey and transparency
// read as undrawn). The OpenAI-compatible endpoints (edge/httpapi) read a
// client's picture through it when the backend is this model, so that they
// import no world code.
func (m *Model) TokensOf(img image.Image) []int { return tokens.FromPicture(img) }

// ThoughtRows are the token rows [start, end) a thought's header names
// ("rows A B : …"); ok is false when it names none. The chat endpoint takes
// a critique's band from it when the backend is this model.
func (m *Model) ThoughtRows(text string) (start, end int, ok bool) {
	_, r0, r1, _ := thought.ParseThought(text)
	return r0, r1, r0 >= 0 && r1 > r0
}
