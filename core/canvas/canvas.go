// Package canvas is the picture a TwiG run draws: W×H pixels cut into bands
// of pixel rows (docs/CANVAS.md). Rows not painted yet are transparent. A
// band arrives as a Strip — its pixel rows, carried on the wire as one PNG —
// or, from an image model that paints a whole picture, as a picture
// composited into the band's rows only: every pixel outside the band stays
// as it was, bit for bit, whatever the model sent.
//
// It is groundwork for the engine's move from the embedded model's token
// grid to real pictures; it imports nothing of the synthetic world.
package canvas

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"

	xdraw "golang.org/x/image/draw"

	"github.com/twig-project/twig/core/protocol"
)

// MaxSide bounds a canvas's width and height (a 4096² canvas is 64 MiB).
const MaxSide = 4096

// Canvas is W×H pixels, RGBA with straight (non-premultiplied) alpha,
// row after row (stride 4W). The zero pixel is transparent: undrawn.
type Canvas struct {
	W, H int
	Pix  []uint8
}

// New returns a transparent w×h canvas.
func New(w, h int) (*Canvas, error) {
	if w < 1 || h < 1 || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("canvas: %d×%d is not a canvas size: use 1 to %d pixels a side", w, h, MaxSide)
	}
	return &Canvas{W: w, H: h, Pix: make([]uint8, 4*w*h)}, nil
}

// Clone returns a copy.
func (c *Canvas) Clone() *Canvas {
	return &Canvas{W: c.W, H: c.H, Pix: bytes.Clone(c.Pix)}
}

// Image is the canvas as an image sharing its pixels.
func (c *Canvas) Image() *image.NRGBA {
	return &image.NRGBA{Pix: c.Pix, Stride: 4 * c.W, Rect: image.Rect(0, 0, c.W, c.H)}
}

// check reports whether r is a closed range of the canvas's rows.
func (c *Canvas) check(r protocol.Rows) error {
	if r.Start < 0 || r.End <= r.Start || r.End > c.H {
		return fmt.Errorf("canvas: rows [%d,%d) are not rows of a %d-row canvas", r.Start, r.End, c.H)
	}
	return nil
}

// rows is the byte range of r's pixels.
func (c *Canvas) rows(r protocol.Rows) []uint8 { return c.Pix[4*c.W*r.Start : 4*c.W*r.End] }

// ClearRows makes rows r transparent again (a band about to be redrawn).
func (c *Canvas) ClearRows(r protocol.Rows) error {
	if err := c.check(r); err != nil {
		return err
	}
	clear(c.rows(r))
	return nil
}

// Strip is some pixel rows of a canvas: Pix holds rows Rows of a canvas W
// pixels wide, stride 4W.
type Strip struct {
	Rows protocol.Rows
	W    int
	Pix  []uint8
}

// Strip copies rows r out of the canvas.
func (c *Canvas) Strip(r protocol.Rows) (Strip, error) {
	if err := c.check(r); err != nil {
		return Strip{}, err
	}
	return Strip{Rows: r, W: c.W, Pix: bytes.Clone(c.rows(r))}, nil
}

// Put writes strip s into its rows; it must be as wide as the canvas.
func (c *Canvas) Put(s Strip) error {
	if err := c.check(s.Rows); err != nil {
		return err
	}
	if s.W != c.W || len(s.Pix) != 4*s.W*(s.Rows.End-s.Rows.Start) {
		return fmt.Errorf("canvas: a strip %d pixels wide with %d bytes for rows [%d,%d) does not fit a %d-pixel-wide canvas",
			s.W, len(s.Pix), s.Rows.Start, s.Rows.End, c.W)
	}
	copy(c.rows(s.Rows), s.Pix)
	return nil
}

// Composite writes img, scaled to the canvas's size, into rows r only: the
// band of a picture an image model painted whole. Pixels outside r are not
// touched. The picture is scaled with Catmull-Rom, as a photo wants.
func (c *Canvas) Composite(img image.Image, r protocol.Rows) error {
	if err := c.check(r); err != nil {
		return err
	}
	if img.Bounds().Empty() {
		return errors.New("canvas: the picture to composite is empty")
	}
	// Scale the whole picture (so the band's rows sample what lies around
	// them), then copy the band's rows alone.
	full := image.NewNRGBA(image.Rect(0, 0, c.W, c.H))
	if b := img.Bounds(); b.Dx() == c.W && b.Dy() == c.H {
		draw.Draw(full, full.Rect, img, b.Min, draw.Src) // the model's pixels as they are
	} else {
		xdraw.CatmullRom.Scale(full, full.Rect, img, b, draw.Src, nil)
	}
	copy(c.rows(r), full.Pix[4*c.W*r.Start:4*c.W*r.End])
	return nil
}

// EncodePNG is the strip as a PNG (RGBA, W × its rows): its form on the wire.
func (s Strip) EncodePNG() ([]byte, error) {
	h := s.Rows.End - s.Rows.Start
	if s.W < 1 || h < 1 || len(s.Pix) != 4*s.W*h {
		return nil, fmt.Errorf("canvas: a strip %d×%d with %d bytes cannot be encoded", s.W, h, len(s.Pix))
	}
	var b bytes.Buffer
	img := &image.NRGBA{Pix: s.Pix, Stride: 4 * s.W, Rect: image.Rect(0, 0, s.W, h)}
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// DecodeStrip reads the PNG of rows r of a canvas w pixels wide. The PNG's
// size must be exactly w × the rows: its header is checked before any
// pixel is decoded, so a forged PNG costs no more memory than the strip.
func DecodeStrip(data []byte, r protocol.Rows, w int) (Strip, error) {
	h := r.End - r.Start
	if w < 1 || w > MaxSide || r.Start < 0 || h < 1 || r.End > MaxSide {
		return Strip{}, fmt.Errorf("canvas: rows [%d,%d) of a %d-pixel-wide canvas are not a strip", r.Start, r.End, w)
	}
	cfg, err := png.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return Strip{}, fmt.Errorf("canvas: the strip is not a PNG: %v", err)
	}
	if cfg.Width != w || cfg.Height != h {
		return Strip{}, fmt.Errorf("canvas: the strip's PNG is %d×%d, want %d×%d (rows [%d,%d))", cfg.Width, cfg.Height, w, h, r.Start, r.End)
	}
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		return Strip{}, fmt.Errorf("canvas: the strip's PNG: %v", err)
	}
	n, ok := img.(*image.NRGBA)
	if !ok || n.Stride != 4*w {
		n = image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(n, n.Rect, img, img.Bounds().Min, draw.Src)
	}
	return Strip{Rows: r, W: w, Pix: n.Pix}, nil
}

// Schedule cuts h pixel rows into k nearly equal bands whose edges are
// multiples of unit (the larger bands first), as engine.Schedule cuts a
// token grid: a token model's unit is h/16, so Schedule(k, h, h/16) is
// engine.Schedule(k) in pixels. k is clamped to [1, h/unit].
func Schedule(k, h, unit int) ([]protocol.Rows, error) {
	if unit < 1 || h < unit || h%unit != 0 {
		return nil, fmt.Errorf("canvas: %d rows cannot be cut in units of %d", h, unit)
	}
	units := h / unit
	k = max(1, min(k, units))
	out := make([]protocol.Rows, k)
	start := 0
	for i := range out {
		n := units / k
		if i < units%k {
			n++
		}
		out[i] = protocol.Rows{Start: start * unit, End: (start + n) * unit}
		start += n
	}
	return out, nil
}

// CellRows are the pixel rows that row r of a grid of n rows covers on a
// canvas h pixels high: [r·h/n, (r+1)·h/n). A token model's row r is these
// pixel rows of a real picture.
func CellRows(r, n, h int) protocol.Rows {
	return protocol.Rows{Start: r * h / n, End: (r + 1) * h / n}
}
