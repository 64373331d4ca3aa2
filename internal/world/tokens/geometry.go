// Package tokens is the embedded model's view of a canvas: a Grid×Grid grid
// of image tokens (Tokens), what one token holds (Cell), the palette, the
// decoder from tokens to a picture (Picture) and its inverse for pictures of
// any size (FromPicture).
//
// Geometry glossary (used in every file of this package):
//
//	cell     one image token; the grid is Grid×Grid cells (16×16)
//	sub      a cell is Sub×Sub sub-pixels (2×2); a token says which of them are filled
//	px       picture pixels; a sub-pixel is PxPerSub×PxPerSub pixels in the picture
package tokens

// Grid geometry.
const (
	Grid     = 16                 // cells per side of the token grid
	Sub      = 2                  // sub-pixels per cell side
	SubGrid  = Grid * Sub         // sub-pixels per side (32)
	PxPerSub = 8                  // picture pixels per sub-pixel side
	PxSize   = SubGrid * PxPerSub // picture side in pixels (256)
)
