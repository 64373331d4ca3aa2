package tokens

import (
	"image"
	"image/color"

	xdraw "golang.org/x/image/draw"
)

// Palette gives each colour its RGB value; striped objects alternate the colour
// with its Tint every StripePx picture rows.
var Palette = []color.RGBA{
	{220, 40, 40, 255},  // red
	{40, 170, 60, 255},  // green
	{40, 80, 220, 255},  // blue
	{235, 200, 30, 255}, // yellow
	{150, 60, 190, 255}, // purple
	{245, 130, 20, 255}, // orange
}

// Background is the colour of an empty cell; Undrawn marks cells not drawn yet.
var (
	Background = color.RGBA{255, 255, 255, 255}
	Undrawn    = color.RGBA{200, 200, 200, 255}
	UndrawnAlt = color.RGBA{180, 180, 180, 255}
)

// StripePx is the height of one stripe in picture pixels.
const StripePx = 4

// Tint is the light stripe colour of a striped object of colour c.
func Tint(c int) color.RGBA {
	p := Palette[c]
	mix := func(v uint8) uint8 { return uint8((int(v) + 2*255) / 3) }
	return color.RGBA{mix(p.R), mix(p.G), mix(p.B), 255}
}

// Picture decodes a token canvas into the PxSize×PxSize picture that people
// see and the judge reads. Undrawn cells are a plain grey checkerboard.
func Picture(t Tokens) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, PxSize, PxSize))
	cellPx := Sub * PxPerSub
	for i, tok := range t {
		cx, cy := i%Grid, i/Grid
		x0, y0 := cx*cellPx, cy*cellPx
		if tok < 0 {
			c := Undrawn
			if (cx+cy)%2 == 1 {
				c = UndrawnAlt
			}
			fill(img, x0, y0, cellPx, cellPx, func(x, y int) color.RGBA { return c })
			continue
		}
		cell := DecodeCell(tok)
		for sy := 0; sy < Sub; sy++ {
			for sx := 0; sx < Sub; sx++ {
				on := cell.Mask&(1<<(sy*Sub+sx)) != 0
				fill(img, x0+sx*PxPerSub, y0+sy*PxPerSub, PxPerSub, PxPerSub, func(x, y int) color.RGBA {
					switch {
					case !on:
						return Background
					case cell.Texture == 1 && (y/StripePx)%2 == 1:
						return Tint(cell.Color)
					default:
						return Palette[cell.Color]
					}
				})
			}
		}
	}
	return img
}

func fill(img *image.RGBA, x0, y0, w, h int, c func(x, y int) color.RGBA) {
	for y := y0; y < y0+h; y++ {
		for x := x0; x < x0+w; x++ {
			img.SetRGBA(x, y, c(x, y))
		}
	}
}

// Scaled returns the picture scaled to side×side pixels with x/image/draw
// (nearest neighbour keeps edges and stripes crisp).
func Scaled(src image.Image, side int) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, side, side))
	xdraw.NearestNeighbor.Scale(dst, dst.Bounds(), src, src.Bounds(), xdraw.Src, nil)
	return dst
}
