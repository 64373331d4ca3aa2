package render

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/gif"
	"image/png"
	"io"
	"slices"
	"strings"

	"golang.org/x/image/font"
	"golang.org/x/image/font/basicfont"
	"golang.org/x/image/math/fixed"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Picture sizes, in pixels.
const (
	Side       = 512 // side of the picture in PNGs and GIF frames
	captionPad = 8
	lineHeight = 15
	textLines  = 4 // thought lines under the title
	CaptionH   = captionPad*2 + lineHeight*(1+textLines)
)

var (
	captionBG = color.RGBA{250, 250, 250, 255}
	titleInk  = color.RGBA{20, 20, 20, 255}
	textInk   = color.RGBA{70, 70, 70, 255}
	bandMark  = color.RGBA{0, 0, 0, 255}
)

// WritePNG writes the canvas as a Side×Side PNG, smooth (see Smooth).
func WritePNG(w io.Writer, t tokens.Tokens) error {
	return png.Encode(w, Smooth(t, Side))
}

// WriteCanvas writes a run's final canvas as a PNG: a token model's canvas
// (TokenCanvas) smooth at Side×Side as WritePNG draws its tokens, any
// other the picture itself, at its size and in its colours.
func WriteCanvas(w io.Writer, c *canvas.Canvas) error {
	if TokenCanvas(c) {
		return WritePNG(w, c.Tokens)
	}
	return png.Encode(w, c.Image())
}

// edgeLevels is how many steps of each fill's anti-aliased edge against the
// background the GIF palette holds.
const edgeLevels = 8

// palette holds every flat colour a frame uses, so those convert exactly,
// and ramps from each fill to the background for the smooth edges (a rarer
// mix, e.g. two colours touching, takes the nearest palette colour).
func palette() color.Palette {
	p := color.Palette{tokens.Background, tokens.Undrawn, tokens.UndrawnAlt, captionBG, titleInk, textInk, bandMark}
	fills := []color.RGBA{}
	for i, c := range tokens.Palette {
		fills = append(fills, c, tokens.Tint(i))
	}
	p = append(p, toColors(fills)...)
	for _, c := range fills {
		for k := 1; k < edgeLevels; k++ {
			p = append(p, blend(c, tokens.Background, float64(k)/edgeLevels))
		}
	}
	return p
}

func toColors(cs []color.RGBA) []color.Color {
	out := make([]color.Color, len(cs))
	for i, c := range cs {
		out[i] = c
	}
	return out
}

// WriteGIF writes the film as an animated GIF that plays once and holds the
// last frame. It streams: one frame is held at a time, whatever the film's
// length (image/gif's EncodeAll would hold every frame at once, ~300 KB
// each).
func WriteGIF(w io.Writer, f *Film) error {
	pal, photo := palette(), slices.ContainsFunc(f.Frames, func(fr Frame) bool { return fr.Picture != nil })
	if photo {
		pal = photoPalette()
	}
	index := map[color.RGBA]uint8{}
	for i, c := range pal {
		index[c.(color.RGBA)] = uint8(i)
	}
	rgba := image.NewRGBA(image.Rect(0, 0, Side, Side+CaptionH))
	cfg := image.Config{ColorModel: pal, Width: Side, Height: Side + CaptionH}
	var buf bytes.Buffer
	var smooth *image.RGBA // Smooth of canvas: frames often repeat the canvas
	var canvas tokens.Tokens
	for i, fr := range f.Frames {
		pic := fr.Picture
		if pic == nil {
			if smooth == nil || !slices.Equal(canvas, fr.Canvas) {
				smooth, canvas = Smooth(fr.Canvas, Side), fr.Canvas
			}
			pic = smooth
		}
		drawFrame(rgba, fr, pic)
		buf.Reset()
		var img *image.Paletted
		if photo {
			img = toPalettedPhoto(rgba, pal, index)
		} else {
			img = toPaletted(rgba, pal, index)
		}
		// a one-frame GIF: header, screen, global palette, the frame, trailer
		if err := gif.EncodeAll(&buf, &gif.GIF{Image: []*image.Paletted{img},
			Delay: []int{fr.Delay}, LoopCount: -1, Config: cfg}); err != nil {
			return err
		}
		b := buf.Bytes()
		head, err := gifHeaderLen(b)
		if err != nil {
			return err
		}
		if i > 0 {
			b = b[head:] // the frame's blocks only: the header went out with the first
		}
		if _, err := w.Write(b[:len(b)-1]); err != nil { // all but the trailer
			return err
		}
	}
	_, err := w.Write([]byte{0x3b}) // trailer
	return err
}

// gifHeaderLen is the length of a GIF's header, logical screen descriptor
// and global colour table: where its first block begins.
func gifHeaderLen(b []byte) (int, error) {
	if len(b) < 14 || string(b[:6]) != "GIF89a" || b[len(b)-1] != 0x3b {
		return 0, errors.New("render: unexpected GIF encoding")
	}
	n := 13
	if packed := b[10]; packed&0x80 != 0 {
		n += 3 << (packed&7 + 1)
	}
	if n >= len(b) {
		return 0, errors.New("render: unexpected GIF encoding")
	}
	return n, nil
}

// drawFrame draws pic (the frame's Side×Side picture), the band marker and
// the caption.
func drawFrame(dst *image.RGBA, fr Frame, pic *image.RGBA) {
	copy(dst.Pix, pic.Pix) // same stride: the picture is the top Side rows
	if fr.Rows.End < 0 || fr.Rows.Start < fr.Rows.End {
		markBand(dst, fr.Rows.Start, fr.Rows.End, fr.Height)
	}
	for y := Side; y < Side+CaptionH; y++ {
		for x := 0; x < Side; x++ {
			dst.SetRGBA(x, y, captionBG)
		}
	}
	d := font.Drawer{Dst: dst, Src: image.NewUniform(titleInk), Face: basicfont.Face7x13}
	y := Side + captionPad + 11
	d.Dot = fixed.P(captionPad, y)
	d.DrawString(clip(fr.Title, maxChars))
	d.Src = image.NewUniform(textInk)
	for _, line := range wrap(fr.Text, maxChars, textLines) {
		y += lineHeight
		d.Dot = fixed.P(captionPad, y)
		d.DrawString(line)
	}
}

// markBand draws a bar in the left margin beside pixel rows [start, end)
// of a canvas h rows high (end -1: to the bottom).
func markBand(dst *image.RGBA, start, end, h int) {
	if h < 1 {
		return
	}
	if end < 0 {
		end = h
	}
	for y := start * Side / h; y < min(end*Side/h, Side); y++ {
		for x := 0; x < 6; x++ {
			dst.SetRGBA(x, y, bandMark)
		}
	}
}

const maxChars = (Side - 2*captionPad) / 7

// wrap breaks text into at most n lines of at most width characters, ending
// with "…" when it had to cut.
func wrap(text string, width, n int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		switch {
		case line == "":
			line = w
		case len(line)+1+len(w) <= width:
			line += " " + w
		default:
			lines = append(lines, line)
			line = w
		}
	}
	if line != "" {
		lines = append(lines, line)
	}
	for i := range lines {
		lines[i] = clip(lines[i], width)
	}
	if len(lines) > n {
		lines = lines[:n]
		last := []rune(lines[n-1])
		lines[n-1] = string(last[:min(len(last), width-4)]) + " ..."
	}
	return lines
}

func clip(s string, width int) string {
	r := []rune(s)
	if len(r) <= width {
		return s
	}
	return string(r[:width-3]) + "..."
}

// photoPalette is the palette of a film of real pictures: the 6×6×6
// colour cube (a photo is dithered onto it), then the frame's own colours
// (captions, the band marker, the undrawn checkerboard), which convert
// exactly.
func photoPalette() color.Palette {
	p := make(color.Palette, 0, 256)
	for r := range 6 {
		for g := range 6 {
			for b := range 6 {
				p = append(p, color.RGBA{uint8(51 * r), uint8(51 * g), uint8(51 * b), 255})
			}
		}
	}
	for _, c := range []color.RGBA{tokens.Undrawn, tokens.UndrawnAlt, captionBG, titleInk, textInk} {
		if !slices.Contains(p, color.Color(c)) {
			p = append(p, c)
		}
	}
	return p
}

// bayer4 is the 4×4 ordered-dither matrix, in sixteenths.
var bayer4 = [16]int{0, 8, 2, 10, 12, 4, 14, 6, 3, 11, 1, 9, 15, 7, 13, 5}

// toPalettedPhoto converts a frame of a real picture: the frame's own
// colours exactly, every other colour onto the colour cube with ordered
// dithering (arithmetic, no palette search: a frame costs one pass).
func toPalettedPhoto(src *image.RGBA, pal color.Palette, index map[color.RGBA]uint8) *image.Paletted {
	dst := image.NewPaletted(src.Bounds(), pal)
	w := src.Bounds().Dx()
	for i, j := 0, 0; i < len(src.Pix); i, j = i+4, j+1 {
		c := color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3]}
		if idx, ok := index[c]; ok {
			dst.Pix[j] = idx
			continue
		}
		d := bayer4[(j/w)%4*4+(j%w)%4]
		q := func(v uint8) int { return min(5, (int(v)*5*16+d*255)/(255*16)) }
		dst.Pix[j] = uint8(q(c.R)*36 + q(c.G)*6 + q(c.B))
	}
	return dst
}

// toPaletted converts with an exact lookup (every colour drawn is in the
// palette); anything else goes to the nearest palette colour.
func toPaletted(src *image.RGBA, pal color.Palette, index map[color.RGBA]uint8) *image.Paletted {
	dst := image.NewPaletted(src.Bounds(), pal)
	var last color.RGBA
	var lastI uint8
	for i, j := 0, 0; i < len(src.Pix); i, j = i+4, j+1 {
		c := color.RGBA{src.Pix[i], src.Pix[i+1], src.Pix[i+2], src.Pix[i+3]}
		if c != last || i == 0 {
			idx, ok := index[c]
			if !ok {
				idx = uint8(pal.Index(c))
				index[c] = idx
			}
			last, lastI = c, idx
		}
		dst.Pix[j] = lastI
	}
	return dst
}
