package world

// Image tokens. Token 0 is an empty cell. Every other token fills some of the
// cell's 2×2 sub-pixels with one colour and texture:
//
//	token = 1 + (color*len(Textures)+texture)*15 + (mask-1)
//
// where mask has bit 0 = top-left, 1 = top-right, 2 = bottom-left,
// 3 = bottom-right sub-pixel, and is never 0.
const (
	EmptyToken     = 0
	masksPerCell   = 15
	NumImageTokens = 1 + 6*2*masksPerCell // 181
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
	return 1 + (c.Color*len(Textures)+c.Texture)*masksPerCell + (c.Mask - 1)
}

// DecodeCell returns the content of token t; tokens outside the image range
// decode as empty.
func DecodeCell(t int) Cell {
	if t <= 0 || t >= NumImageTokens {
		return Cell{}
	}
	t--
	ct, m := t/masksPerCell, t%masksPerCell
	return Cell{Color: ct / len(Textures), Texture: ct % len(Textures), Mask: m + 1}
}

// ShapeMask rasterises a shape of the given side (in cells) at sub-pixel
// resolution: mask[sy][sx] for sy, sx in [0, side*Sub).
func ShapeMask(shape, sideCells int) [][]bool {
	n := sideCells * Sub
	m := make([][]bool, n)
	c := float64(n) / 2
	for y := 0; y < n; y++ {
		m[y] = make([]bool, n)
		for x := 0; x < n; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			dx, dy := px-c, py-c
			switch Shapes[shape] {
			case "circle":
				m[y][x] = dx*dx+dy*dy <= c*c
			case "square":
				m[y][x] = true
			case "triangle": // apex at the top centre, base along the bottom
				half := c * py / float64(n)
				m[y][x] = dx >= -half-0.01 && dx <= half+0.01
			case "diamond":
				m[y][x] = abs(dx)+abs(dy) <= c+0.01
			}
		}
	}
	return m
}

func abs(f float64) float64 {
	if f < 0 {
		return -f
	}
	return f
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

// ObjectTokens returns the cells object o covers as (cell index, token) pairs.
func ObjectTokens(o Object) map[int]int {
	side := o.Side()
	m := ShapeMask(o.Shape, side)
	out := map[int]int{}
	for cy := 0; cy < side; cy++ {
		for cx := 0; cx < side; cx++ {
			mask := 0
			for sy := 0; sy < Sub; sy++ {
				for sx := 0; sx < Sub; sx++ {
					if m[cy*Sub+sy][cx*Sub+sx] {
						mask |= 1 << (sy*Sub + sx)
					}
				}
			}
			if mask != 0 {
				out[(o.Y+cy)*Grid+o.X+cx] = EncodeCell(Cell{Color: o.Color, Texture: o.Texture, Mask: mask})
			}
		}
	}
	return out
}

// Render draws a scene as image tokens (every cell drawn).
func Render(s Scene) Tokens {
	t := make(Tokens, Grid*Grid)
	for _, o := range s.Objects {
		for i, tok := range ObjectTokens(o) {
			t[i] = tok
		}
	}
	return t
}
