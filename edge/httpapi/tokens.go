package httpapi

import (
	"bytes"
	"fmt"
	"image"
	"image/png"

	xdraw "golang.org/x/image/draw"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// TokenModel is what the OpenAI-compatible endpoints need of a backend
// that is a token model (package model's *Model implements it). With such
// a backend they speak its token grid: a client's picture is read into its
// token view, a critique's rows come from its thought's header, and the
// answers are its pictures of tokens (canvas.TokenRenderer), as before
// twig/2. With any other backend (remote image models, mixed roles) they
// work on the pictures' pixels at the painter's size and read no thought:
// no synthetic-world code decides anything there.
type TokenModel interface {
	// TokensOf reads a picture into the model's token view: grid×grid in
	// raster order, -1 where a cell reads undrawn.
	TokensOf(img image.Image) []int
	// ThoughtRows are the token rows [start, end) a thought's header
	// names; ok is false when it names none.
	ThoughtRows(thought string) (start, end int, ok bool)
}

// tokenModel is the gateway's backend as a token model, when it is one.
func (a *apiHandler) tokenModel() (TokenModel, bool) {
	tm, ok := a.g.Backend().(TokenModel)
	return tm, ok && canvas.TokenRenderer != nil
}

// Geometry is the canvas of a backend's painter: its own when the backend
// says (an engine.Sizer, such as a remote backend whose painter is an
// image model), else a twig token model's.
func Geometry(b engine.Backend) engine.Geometry {
	if s, ok := b.(engine.Sizer); ok {
		if g := s.Geometry(); g.Check() == nil {
			return g
		}
	}
	return engine.TokenGeometry
}

// tokenPicture is a token model's picture of toks (grid×grid) at side×side
// pixels, drawn by the model's renderer (canvas.TokenRenderer).
func tokenPicture(toks []int, grid, side int) (*image.RGBA, error) {
	if canvas.TokenRenderer == nil {
		return nil, fmt.Errorf("edge: no token renderer: the backend's token pictures cannot be drawn")
	}
	s := canvas.TokenRenderer(toks, grid, protocol.Rows{Start: 0, End: side}, side, side)
	if len(s.Pix) != 4*side*side {
		return nil, fmt.Errorf("edge: the token renderer drew no %d×%d picture of a %d-cell grid", side, side, grid)
	}
	// the renderer's pictures are opaque: their bytes are RGBA as they are NRGBA
	return &image.RGBA{Pix: s.Pix, Stride: 4 * side, Rect: image.Rect(0, 0, side, side)}, nil
}

// encodeTokens is a token model's picture of toks as a side×side PNG.
func encodeTokens(toks []int, grid, side int) ([]byte, error) {
	img, err := tokenPicture(toks, grid, side)
	if err != nil {
		return nil, err
	}
	return encodeImage(img)
}

// encodeImage writes img as a PNG.
func encodeImage(img image.Image) ([]byte, error) {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		return nil, fmt.Errorf("edge: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// encodeCanvas writes a canvas's picture as a PNG, scaled (Catmull-Rom) to
// w×h when that is not its size.
func encodeCanvas(c *canvas.Canvas, w, h int) ([]byte, error) {
	img := c.Image()
	if w == c.W && h == c.H {
		return encodeImage(img)
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.CatmullRom.Scale(dst, dst.Rect, img, img.Rect, xdraw.Src, nil)
	return encodeImage(dst)
}

// clearFrom makes a canvas's rows from y down undrawn (transparent).
func clearFrom(c *canvas.Canvas, y int) {
	if y < c.H {
		c.ClearRows(protocol.Rows{Start: max(y, 0), End: c.H})
	}
}

// transparentRows marks the pixel rows of img (scaled to h rows) holding a
// pixel more transparent than not: an OpenAI edit mask's rows to redraw,
// or a picture's own undrawn rows. It returns them as one band [first,
// last+1); ok is false when no row is marked.
func transparentRows(img image.Image, h int) (protocol.Rows, bool) {
	b := img.Bounds()
	r0, r1 := -1, -1
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			if _, _, _, a := img.At(x, y).RGBA(); a < 0x8000 {
				row := y - b.Min.Y
				if r0 < 0 {
					r0 = row
				}
				r1 = row + 1
				break
			}
		}
	}
	if r0 < 0 {
		return protocol.Rows{}, false
	}
	dy := b.Dy()
	return protocol.Rows{Start: r0 * h / dy, End: min(h, (r1*h+dy-1)/dy)}, true
}
