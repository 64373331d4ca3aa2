package scene

import (
	"github.com/twig-project/twig/internal/world/tokens"
)

// ShapeMask rasterises a shape of the given side (in cells) at sub-pixel
// resolution: mask[sy][sx] for sy, sx in [0, side*Sub).
func ShapeMask(shape, sideCells int) [][]bool {
	n := sideCells * tokens.Sub
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

// ObjectTokens returns the cells object o covers as (cell index, token) pairs.
func ObjectTokens(o Object) map[int]int {
	side := o.Side()
	m := ShapeMask(o.Shape, side)
	out := map[int]int{}
	for cy := 0; cy < side; cy++ {
		for cx := 0; cx < side; cx++ {
			mask := 0
			for sy := 0; sy < tokens.Sub; sy++ {
				for sx := 0; sx < tokens.Sub; sx++ {
					if m[cy*tokens.Sub+sy][cx*tokens.Sub+sx] {
						mask |= 1 << (sy*tokens.Sub + sx)
					}
				}
			}
			if mask != 0 {
				out[(o.Y+cy)*tokens.Grid+o.X+cx] = tokens.EncodeCell(tokens.Cell{Color: o.Color, Texture: o.Texture, Mask: mask})
			}
		}
	}
	return out
}

// Render draws a scene as image tokens (every cell drawn).
func Render(s Scene) tokens.Tokens {
	t := make(tokens.Tokens, tokens.Grid*tokens.Grid)
	for _, o := range s.Objects {
		for i, tok := range ObjectTokens(o) {
			t[i] = tok
		}
	}
	return t
}
