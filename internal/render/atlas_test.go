package render

import (
	"bytes"
	"math/rand/v2"
	"testing"

	"github.com/twig-project/twig/internal/world/tokens"
)

func TestAtlasTilesRebuildPicture(t *testing.T) {
	atlas := Atlas()
	r := rand.New(rand.NewPCG(1, 2))
	for trial := 0; trial < 3; trial++ {
		canvas := tokens.NewTokens()
		for i := range canvas {
			canvas[i] = r.IntN(tokens.NumImageTokens+1) - 1 // -1 … 180
		}
		want := tokens.Picture(canvas)
		for i, tok := range canvas {
			row, col := i/tokens.Grid, i%tokens.Grid
			a := AtlasCell(tok, row, col)
			ax, ay := (a%tokens.Grid)*CellPx, (a/tokens.Grid)*CellPx
			for y := 0; y < CellPx; y++ {
				got := atlas.Pix[atlas.PixOffset(ax, ay+y):atlas.PixOffset(ax+CellPx, ay+y)]
				exp := want.Pix[want.PixOffset(col*CellPx, row*CellPx+y):want.PixOffset((col+1)*CellPx, row*CellPx+y)]
				if !bytes.Equal(got, exp) {
					t.Fatalf("cell (%d,%d) token %d: atlas tile row %d differs from tokens.Picture", row, col, tok, y)
				}
			}
		}
	}
}
