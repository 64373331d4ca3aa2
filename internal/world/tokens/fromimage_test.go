package tokens_test

import (
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

func TestFromPictureRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	canvas := func() tokens.Tokens {
		tk := make(tokens.Tokens, tokens.Grid*tokens.Grid)
		for i := range tk {
			tk[i] = rng.IntN(tokens.NumImageTokens)
		}
		for i := 11 * tokens.Grid; i < len(tk); i++ { // a partial canvas: rows 11.. undrawn
			tk[i] = -1
		}
		return tk
	}
	for _, side := range []int{tokens.PxSize, 2 * tokens.PxSize, 3 * tokens.PxSize / 2} {
		for n := 0; n < 5; n++ {
			want := canvas()
			img := tokens.Scaled(tokens.Picture(want), side)
			if got := tokens.FromPicture(img); !slices.Equal(got, want) {
				t.Fatalf("side %d: round trip differs in %d cells", side, diff(got, want))
			}
		}
	}
}

// Small pictures lose the stripes but keep colours, masks and undrawn cells.
func TestFromPictureSmall(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	spec := scene.SampleSpec(rng, "complex", false)
	sc, err := scene.Place(rng, spec, false)
	if err != nil {
		t.Fatal(err)
	}
	want := scene.Render(sc)
	for i := 12 * tokens.Grid; i < len(want); i++ {
		want[i] = -1
	}
	got := tokens.FromPicture(tokens.Scaled(tokens.Picture(want), tokens.SubGrid))
	for i := range want {
		w, g := tokens.DecodeCell(want[i]), tokens.DecodeCell(got[i])
		if (want[i] < 0) != (got[i] < 0) || w.Mask != g.Mask || w.Mask != 0 && w.Color != g.Color {
			t.Fatalf("cell %d: got %d (%+v), want %d (%+v)", i, got[i], g, want[i], w)
		}
	}
}

func TestFromPictureTransparentIsUndrawn(t *testing.T) {
	img := image.NewNRGBA(image.Rect(0, 0, 64, 64))
	for y := 0; y < 32; y++ {
		for x := 0; x < 64; x++ {
			img.Set(x, y, color.White)
		}
	}
	got := tokens.FromPicture(img)
	for i, tok := range got {
		want := tokens.EmptyToken
		if i >= tokens.Grid*tokens.Grid/2 {
			want = -1
		}
		if tok != want {
			t.Fatalf("cell %d = %d, want %d", i, tok, want)
		}
	}
	if got := tokens.FromPicture(image.NewRGBA(image.Rectangle{})); !slices.Equal(got, tokens.NewTokens()) {
		t.Fatal("an empty picture should read as all undrawn")
	}
}

func diff(a, b tokens.Tokens) int {
	n := 0
	for i := range a {
		if a[i] != b[i] {
			n++
		}
	}
	return n
}
