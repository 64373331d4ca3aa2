package tokens

import (
	"image"
	"image/color"
)

// FromPicture reads a picture back into image tokens: the inverse of
// Picture, for pictures of any size (a client's PNG, a model's partial
// canvas). The picture is cut into SubGrid×SubGrid sub-pixels; in each, a
// few pixels are classified as the nearest of white (off), the greys of an
// undrawn cell or transparency (undrawn), a palette colour or its stripe
// tint, and the sub-pixel takes the majority. A cell whose sub-pixels are
// mostly undrawn is -1; otherwise its token has the mask of its coloured
// sub-pixels, their majority colour, and stripes when more than a quarter
// of that colour's pixels are tint. Picture(FromPicture(Picture(t))) == Picture(t).
func FromPicture(img image.Image) Tokens {
	b := img.Bounds()
	t := NewTokens()
	if b.Empty() {
		return t
	}
	var sub [SubGrid][SubGrid]subRead
	for sy := 0; sy < SubGrid; sy++ {
		for sx := 0; sx < SubGrid; sx++ {
			sub[sy][sx] = readSub(img, b, sx, sy)
		}
	}
	nc := len(Palette)
	for cy := 0; cy < Grid; cy++ {
		for cx := 0; cx < Grid; cx++ {
			undrawn, mask := 0, 0
			colPx := make([]int, nc)
			tintPx := make([]int, nc)
			for sy := 0; sy < Sub; sy++ {
				for sx := 0; sx < Sub; sx++ {
					s := sub[cy*Sub+sy][cx*Sub+sx]
					switch {
					case s.undrawn:
						undrawn++
					case s.color >= 0:
						mask |= 1 << (sy*Sub + sx)
						colPx[s.color] += s.colorPx
						tintPx[s.color] += s.tintPx
					}
				}
			}
			i := cy*Grid + cx
			if undrawn*2 >= Sub*Sub {
				continue // stays -1
			}
			if mask == 0 {
				t[i] = EmptyToken
				continue
			}
			best := 0
			for c := range colPx {
				if colPx[c] > colPx[best] {
					best = c
				}
			}
			tex := 0
			if tintPx[best]*4 > colPx[best] {
				tex = 1
			}
			t[i] = EncodeCell(Cell{Color: best, Texture: tex, Mask: mask})
		}
	}
	return t
}

// subRead is what one sub-pixel of a picture holds.
type subRead struct {
	undrawn bool
	color   int // -1 off (background)
	colorPx int // sampled pixels of color (plain and tint)
	tintPx  int
}

// readSub classifies a 4×4 sample of the pixels of sub-pixel (sx, sy).
func readSub(img image.Image, b image.Rectangle, sx, sy int) subRead {
	w, h := b.Dx(), b.Dy()
	x0, x1 := b.Min.X+sx*w/SubGrid, b.Min.X+(sx+1)*w/SubGrid
	y0, y1 := b.Min.Y+sy*h/SubGrid, b.Min.Y+(sy+1)*h/SubGrid
	x1, y1 = max(x1, x0+1), max(y1, y0+1)
	const n = 4
	nc := len(Palette)
	var colPx, tintPx [16]int
	bg, und := 0, 0
	for j := 0; j < n; j++ {
		y := y0 + (2*j+1)*(y1-y0)/(2*n)
		for i := 0; i < n; i++ {
			x := x0 + (2*i+1)*(x1-x0)/(2*n)
			k := classifyPixel(img.At(min(x, b.Max.X-1), min(y, b.Max.Y-1)))
			switch {
			case k == pxBackground:
				bg++
			case k == pxUndrawn:
				und++
			case k >= nc:
				colPx[k-nc]++
				tintPx[k-nc]++
			default:
				colPx[k]++
			}
		}
	}
	best := 0
	for c := 0; c < nc; c++ {
		if colPx[c] > colPx[best] {
			best = c
		}
	}
	switch {
	case und > bg && und >= colPx[best]:
		return subRead{undrawn: true, color: -1}
	case colPx[best] > bg:
		return subRead{color: best, colorPx: colPx[best], tintPx: tintPx[best]}
	}
	return subRead{color: -1}
}

// Pixel classes of classifyPixel: 0…nc-1 a palette colour, nc…2nc-1 its
// tint, and these two.
const (
	pxBackground = -1
	pxUndrawn    = -2
)

// classifyPixel returns the class of the reference colour nearest to c; a
// mostly transparent pixel is undrawn.
func classifyPixel(c color.Color) int {
	r, g, b, a := c.RGBA()
	if a < 0x8000 {
		return pxUndrawn
	}
	// un-premultiply to 8 bits
	r8, g8, b8 := int(r*0xff/a), int(g*0xff/a), int(b*0xff/a)
	best, bd := pxBackground, 1<<30
	try := func(ref color.RGBA, class int) {
		dr, dg, db := r8-int(ref.R), g8-int(ref.G), b8-int(ref.B)
		if d := dr*dr + dg*dg + db*db; d < bd {
			best, bd = class, d
		}
	}
	try(Background, pxBackground)
	try(Undrawn, pxUndrawn)
	try(UndrawnAlt, pxUndrawn)
	for i, p := range Palette {
		try(p, i)
	}
	for i := range Palette {
		try(Tint(i), len(Palette)+i)
	}
	return best
}
