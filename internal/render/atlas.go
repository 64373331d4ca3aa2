package render

import (
	"image"

	"github.com/twig-project/twig/internal/world/tokens"
)

// CellPx is the side of one cell's tile in the picture, in pixels.
const CellPx = tokens.PxSize / tokens.Grid

// AtlasUndrawn is the atlas cell of the undrawn tile for cells whose
// (row+col) is even; the tile for odd cells is the next one.
const AtlasUndrawn = tokens.NumImageTokens

// Atlas is one picture holding the tile of every image token, for views that
// draw the canvas tile by tile (the browser page): token t's tile is atlas
// cell t in raster order (row t/Grid, column t%Grid, CellPx pixels a side),
// and undrawn cells use AtlasUndrawn (even row+col) or AtlasUndrawn+1 (odd).
// A tile depends only on its token, so blitting tiles gives tokens.Picture.
func Atlas() *image.RGBA {
	t := tokens.NewTokens()
	for i := range t {
		if i < tokens.NumImageTokens {
			t[i] = i
		}
	}
	return tokens.Picture(t)
}

// AtlasCell returns the atlas cell to draw for token tok at canvas cell (row, col).
func AtlasCell(tok, row, col int) int {
	if tok < 0 || tok >= tokens.NumImageTokens {
		return AtlasUndrawn + (row+col)%2
	}
	return tok
}
