package tokens

// Image tokens. Token 0 is an empty cell. Every other token fills some of the
// cell's 2×2 sub-pixels with one colour and texture:
//
//	token = 1 + (color*NumTextures+texture)*15 + (mask-1)
//
// where mask has bit 0 = top-left, 1 = top-right, 2 = bottom-left,
// 3 = bottom-right sub-pixel, and is never 0.
const (
	EmptyToken     = 0
	masksPerCell   = 15
	NumImageTokens = 1 + NumColors*NumTextures*masksPerCell // 181
)

// A cell's colour indexes Palette; its texture is 0 (solid) or 1 (striped).
// The world's words for them (scene.Colors, scene.Textures) have these lengths.
const (
	NumColors   = 6
	NumTextures = 2
)

// Cell is the decoded content of one image token.
type Cell struct {
	Color, Texture int
	Mask           int // 0 for an empty cell
}

// EncodeCell returns the token for a cell; an empty mask gives EmptyToken.
func EncodeCell(c Cell) int {
	if c.Mask == 0 {
		return EmptyToken
	}
	return 1 + (c.Color*NumTextures+c.Texture)*masksPerCell + (c.Mask - 1)
}

// DecodeCell returns the content of token t; tokens outside the image range
// decode as empty.
func DecodeCell(t int) Cell {
	if t <= 0 || t >= NumImageTokens {
		return Cell{}
	}
	t--
	ct, m := t/masksPerCell, t%masksPerCell
	return Cell{Color: ct / NumTextures, Texture: ct % NumTextures, Mask: m + 1}
}

// Tokens is a Grid×Grid canvas of image tokens in raster order; -1 marks a
// cell not drawn yet.
type Tokens []int

// NewTokens returns an all-undrawn canvas.
func NewTokens() Tokens {
	t := make(Tokens, Grid*Grid)
	for i := range t {
		t[i] = -1
	}
	return t
}
