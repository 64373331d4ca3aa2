// Package canvas is the picture a TwiG run draws: W×H pixels cut into bands
// of pixel rows (docs/CANVAS.md). Rows not painted yet are transparent. A
// band arrives as a Strip — its pixel rows, carried on the wire as one PNG —
// or, from an image model that paints a whole picture, as a picture
// composited into the band's rows only: every pixel outside the band stays
// as it was, bit for bit, whatever the model sent.
//
// A token model (the embedded model) paints on the same canvas: its strips
// carry the token rows they were rendered from, and the canvas keeps them
// in a side table (Tokens), so that a token model reads back exactly what
// it painted. The package imports nothing of the synthetic world.
package canvas

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"image/draw"
	"image/png"
	"slices"
	"sync"

	xdraw "golang.org/x/image/draw"

	"github.com/twig-project/twig/core/protocol"
)

// MaxSide bounds a canvas's width and height (a 4096² canvas is 64 MiB).
const MaxSide = 4096

// TokenRenderer draws a token model's token rows as pixels: the pixel rows
// rows of a w×h canvas whose token view is toks (grid×grid, -1 undrawn), as
// a strip. Readers that get tokens without pixels — a twig/1 trace's token
// rows, a call request that carries only a token view — draw them with it
// when it is set; package model sets it to the embedded model's renderer
// (the world's picture of its tokens), so this package imports no world.
var TokenRenderer func(toks []int, grid int, rows protocol.Rows, w, h int) Strip

// MaxGrid bounds a token grid's side.
const MaxGrid = 256

// Canvas is W×H pixels, RGBA with straight (non-premultiplied) alpha,
// row after row (stride 4W). The zero pixel is transparent: undrawn.
type Canvas struct {
	W, H int
	Pix  []uint8
	// Painted marks the pixel rows painted so far (a painted pixel may be
	// transparent too).
	Painted []bool
	// Grid is the token grid's side when a token model may paint on the
	// canvas (W and H are multiples of it; token row r is pixel rows
	// CellRows(r, Grid, H)), else 0.
	Grid int
	// Tokens is the token view of the canvas, Grid×Grid in raster order:
	// a token row painted by a token model holds its tokens, every other
	// row -1 (undrawn, or painted by a painter of pixels). Nil when Grid is 0.
	Tokens []int
}

// New returns a transparent w×h canvas.
func New(w, h int) (*Canvas, error) {
	if w < 1 || h < 1 || w > MaxSide || h > MaxSide {
		return nil, fmt.Errorf("canvas: %d×%d is not a canvas size: use 1 to %d pixels a side", w, h, MaxSide)
	}
	return &Canvas{W: w, H: h, Pix: make([]uint8, 4*w*h), Painted: make([]bool, h)}, nil
}

// NewGrid returns a transparent w×h canvas with a token view of grid×grid
// cells (all -1): a canvas a token model may paint on.
func NewGrid(w, h, grid int) (*Canvas, error) {
	c, err := New(w, h)
	if err != nil {
		return nil, err
	}
	if grid < 1 || grid > MaxGrid || w%grid != 0 || h%grid != 0 {
		return nil, fmt.Errorf("canvas: a %d×%d canvas cannot hold a grid of %d cells a side: its sides must be multiples of it", w, h, grid)
	}
	c.Grid, c.Tokens = grid, make([]int, grid*grid)
	for i := range c.Tokens {
		c.Tokens[i] = -1
	}
	return c, nil
}

// Clone returns a copy.
func (c *Canvas) Clone() *Canvas {
	return &Canvas{W: c.W, H: c.H, Pix: bytes.Clone(c.Pix), Painted: slices.Clone(c.Painted),
		Grid: c.Grid, Tokens: slices.Clone(c.Tokens)}
}

// Unit is the pixel rows of one token row (H/Grid), or 1 without a grid.
func (c *Canvas) Unit() int {
	if c.Grid == 0 {
		return 1
	}
	return c.H / c.Grid
}

// TokenRows are the token rows that pixel rows r touch: [first, end).
func (c *Canvas) TokenRows(r protocol.Rows) (first, end int) {
	u := c.Unit()
	return r.Start / u, (r.End + u - 1) / u
}

// TokensOf returns the tokens of pixel rows r (whole token rows) when a
// token model painted every one of them; ok is false otherwise.
func (c *Canvas) TokensOf(r protocol.Rows) (tokens []int, ok bool) {
	if c.Grid == 0 || c.check(r) != nil || r.Start%c.Unit() != 0 || r.End%c.Unit() != 0 {
		return nil, false
	}
	first, end := c.TokenRows(r)
	t := c.Tokens[first*c.Grid : end*c.Grid]
	for _, v := range t {
		if v < 0 {
			return nil, false
		}
	}
	return slices.Clone(t), true
}

// AllTokens reports whether every painted row came from a token model
// (and something is painted): the token view is then the whole canvas.
func (c *Canvas) AllTokens() bool {
	if c.Grid == 0 {
		return false
	}
	u, any := c.Unit(), false
	for r := 0; r < c.Grid; r++ {
		painted := c.Painted[r*u]
		any = any || painted
		if painted && c.Tokens[r*c.Grid] < 0 {
			return false
		}
	}
	return any
}

// AnyTokens reports whether some token row holds a token model's tokens.
func (c *Canvas) AnyTokens() bool {
	for r := 0; r < c.Grid; r++ {
		if c.Tokens[r*c.Grid] >= 0 {
			return true
		}
	}
	return false
}

// AnyPainted reports whether some row is painted.
func (c *Canvas) AnyPainted() bool {
	for _, p := range c.Painted {
		if p {
			return true
		}
	}
	return false
}

// forgetTokens marks the token rows that pixel rows r touch as not a
// token model's.
func (c *Canvas) forgetTokens(r protocol.Rows) {
	if c.Grid == 0 {
		return
	}
	first, end := c.TokenRows(r)
	for i := first * c.Grid; i < end*c.Grid; i++ {
		c.Tokens[i] = -1
	}
}

func (c *Canvas) paint(r protocol.Rows, v bool) {
	for y := r.Start; y < r.End; y++ {
		c.Painted[y] = v
	}
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

// ClearRows makes rows r transparent and unpainted again (a band about to
// be redrawn), and forgets the tokens of the token rows they touch.
func (c *Canvas) ClearRows(r protocol.Rows) error {
	if err := c.check(r); err != nil {
		return err
	}
	clear(c.rows(r))
	c.paint(r, false)
	c.forgetTokens(r)
	return nil
}

// Strip is some pixel rows of a canvas: Pix holds rows Rows of a canvas W
// pixels wide, stride 4W. Tokens, when set, are the token rows a token
// model rendered them from (Rows are then whole token rows of the canvas's
// grid, Grid tokens a token row, raster order).
type Strip struct {
	Rows   protocol.Rows
	W      int
	Pix    []uint8
	Tokens []int
	// png is the PNG the strip was decoded from (DecodeStrip), which
	// Base64 and EncodePNG return as it is: a strip passed on (a sandboxed
	// engine's, a relayed call's) is not encoded again. Nothing changes a
	// strip's pixels after it is decoded.
	png []byte
}

// Strip copies rows r out of the canvas, with their tokens when a token
// model painted them all.
func (c *Canvas) Strip(r protocol.Rows) (Strip, error) {
	if err := c.check(r); err != nil {
		return Strip{}, err
	}
	t, _ := c.TokensOf(r)
	return Strip{Rows: r, W: c.W, Pix: bytes.Clone(c.rows(r)), Tokens: t}, nil
}

// CheckStrip reports whether s fits the canvas: rows inside it, as wide,
// all its bytes, and tokens (if any) whole token rows of its grid.
func (c *Canvas) CheckStrip(s Strip) error {
	if err := c.check(s.Rows); err != nil {
		return err
	}
	if s.W != c.W || len(s.Pix) != 4*s.W*(s.Rows.End-s.Rows.Start) {
		return fmt.Errorf("canvas: a strip %d pixels wide with %d bytes for rows [%d,%d) does not fit a %d-pixel-wide canvas",
			s.W, len(s.Pix), s.Rows.Start, s.Rows.End, c.W)
	}
	if s.Tokens == nil {
		return nil
	}
	u := c.Unit()
	switch {
	case c.Grid == 0:
		return fmt.Errorf("canvas: a strip with tokens on a canvas with no token grid")
	case s.Rows.Start%u != 0 || s.Rows.End%u != 0:
		return fmt.Errorf("canvas: a strip with tokens must be whole token rows (%d pixel rows each), not rows [%d,%d)", u, s.Rows.Start, s.Rows.End)
	case len(s.Tokens) != c.Grid*(s.Rows.End-s.Rows.Start)/u:
		return fmt.Errorf("canvas: a strip of rows [%d,%d) carries %d tokens, want %d", s.Rows.Start, s.Rows.End, len(s.Tokens), c.Grid*(s.Rows.End-s.Rows.Start)/u)
	}
	for i, t := range s.Tokens {
		if t < 0 {
			return fmt.Errorf("canvas: a strip's token %d is %d: a painted cell's token is not negative", i, t)
		}
	}
	return nil
}

// Put writes strip s into its rows (it must fit: CheckStrip) and marks them
// painted. Its tokens replace the token view of its rows; a strip without
// tokens leaves the token rows it touches unknown (-1).
func (c *Canvas) Put(s Strip) error {
	if err := c.CheckStrip(s); err != nil {
		return err
	}
	copy(c.rows(s.Rows), s.Pix)
	c.paint(s.Rows, true)
	if s.Tokens != nil {
		first, _ := c.TokenRows(s.Rows)
		copy(c.Tokens[first*c.Grid:], s.Tokens)
	} else {
		c.forgetTokens(s.Rows)
	}
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
	c.paint(r, true)
	c.forgetTokens(r)
	return nil
}

// EncodePNG is the whole canvas as a PNG (RGBA, transparent where undrawn).
func (c *Canvas) EncodePNG() ([]byte, error) {
	return c.Whole().EncodePNG()
}

// Whole is the whole canvas as one strip sharing its pixels (no tokens):
// what run_done's PNG is encoded from, the same bytes as EncodePNG's.
func (c *Canvas) Whole() Strip {
	return Strip{Rows: protocol.Rows{Start: 0, End: c.H}, W: c.W, Pix: c.Pix}
}

// DataURL is the whole canvas as a data URL of its PNG (a call's canvas_png).
func (c *Canvas) DataURL() (string, error) {
	b, err := c.EncodePNG()
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}

// Decode reads a w×h canvas from its PNG (a call's canvas_png or a
// run_done's png): a row is painted when one of its pixels is not fully
// transparent. The size is checked from the header before decoding.
func Decode(data []byte, w, h int) (*Canvas, error) {
	c, err := New(w, h)
	if err != nil {
		return nil, err
	}
	s, err := DecodeStrip(data, protocol.Rows{Start: 0, End: h}, w)
	if err != nil {
		return nil, err
	}
	copy(c.Pix, s.Pix)
	c.paintVisible()
	return c, nil
}

// FromImage returns img as a w×h canvas (scaled with Catmull-Rom when it
// is another size): a client's picture. As in Decode, a row is painted
// when one of its pixels is not fully transparent.
func FromImage(img image.Image, w, h int) (*Canvas, error) {
	c, err := New(w, h)
	if err != nil {
		return nil, err
	}
	dst := c.Image()
	if b := img.Bounds(); b.Dx() == w && b.Dy() == h {
		xdraw.Copy(dst, image.Point{}, img, b, xdraw.Src, nil)
	} else {
		xdraw.CatmullRom.Scale(dst, dst.Rect, img, b, xdraw.Src, nil)
	}
	c.paintVisible()
	return c, nil
}

// paintVisible marks painted the rows with a pixel that is not fully
// transparent: a picture read whole has no record of what was painted.
func (c *Canvas) paintVisible() {
	for y := range c.H {
		for x := 3; x < 4*c.W; x += 4 {
			if c.Pix[4*c.W*y+x] != 0 {
				c.Painted[y] = true
				break
			}
		}
	}
}

// DecodeDataURL reads a w×h canvas from a data URL of its PNG.
func DecodeDataURL(url string, w, h int) (*Canvas, error) {
	const prefix = "data:image/png;base64,"
	if len(url) < len(prefix) || url[:len(prefix)] != prefix {
		return nil, errors.New("canvas: the canvas is not a data URL of a PNG (data:image/png;base64,…)")
	}
	b, err := base64.StdEncoding.DecodeString(url[len(prefix):])
	if err != nil {
		return nil, errors.New("canvas: the canvas's data URL is not base64")
	}
	return Decode(b, w, h)
}

// Base64 is the strip's PNG in base64: its form in band_progress and call_strip.
func (s Strip) Base64() (string, error) {
	b, err := s.EncodePNG()
	if err != nil {
		return "", err
	}
	return base64.StdEncoding.EncodeToString(b), nil
}

// DecodeBase64 reads a strip from its base64 PNG (band_progress, call_strip):
// rows r of a canvas w pixels wide, with tokens attached as they came.
func DecodeBase64(b64 string, r protocol.Rows, w int, tokens []int) (Strip, error) {
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		return Strip{}, errors.New("canvas: the strip's png is not base64")
	}
	s, err := DecodeStrip(b, r, w)
	s.Tokens = tokens
	return s, err
}

// WithPNG is s with png as its encoded form (EncodePNG and Base64 return
// it): for a strip whose pixels were decoded from png elsewhere (the
// sandbox host decodes a strip once for its guest).
func (s Strip) WithPNG(png []byte) Strip {
	s.png = png
	return s
}

// EncodePNG is the strip as a PNG (RGBA, W × its rows): its form on the wire.
func (s Strip) EncodePNG() ([]byte, error) {
	if s.png != nil {
		return s.png, nil
	}
	h := s.Rows.End - s.Rows.Start
	if s.W < 1 || h < 1 || len(s.Pix) != 4*s.W*h {
		return nil, fmt.Errorf("canvas: a strip %d×%d with %d bytes cannot be encoded", s.W, h, len(s.Pix))
	}
	var b bytes.Buffer
	img := &image.NRGBA{Pix: s.Pix, Stride: 4 * s.W, Rect: image.Rect(0, 0, s.W, h)}
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed, BufferPool: encoders}).Encode(&b, img); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// encoders keeps PNG encoders' buffers (a deflater is about a megabyte)
// between strips: a run encodes one a strip.
var encoders = &encoderPool{}

type encoderPool struct{ p sync.Pool }

func (e *encoderPool) Get() *png.EncoderBuffer {
	b, _ := e.p.Get().(*png.EncoderBuffer)
	return b
}

func (e *encoderPool) Put(b *png.EncoderBuffer) { e.p.Put(b) }

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
	var pix []uint8
	switch m := img.(type) {
	case *image.NRGBA:
		if m.Stride == 4*w {
			pix = m.Pix
		}
	case *image.RGBA:
		// An opaque PNG (EncodePNG writes an opaque strip as RGB) decodes
		// to RGBA with alpha 255, whose bytes are the NRGBA ones: no
		// conversion, which through draw's generic path was two interface
		// calls a pixel.
		if m.Stride == 4*w && m.Opaque() {
			pix = m.Pix
		}
	}
	if pix == nil {
		n := image.NewNRGBA(image.Rect(0, 0, w, h))
		draw.Draw(n, n.Rect, img, img.Bounds().Min, draw.Src)
		pix = n.Pix
	}
	return Strip{Rows: r, W: w, Pix: pix, png: data}, nil
}

// Schedule cuts h pixel rows into k nearly equal bands whose edges are
// multiples of unit (the larger bands first): engine.Schedule on a
// painter's canvas. k is clamped to [1, h/unit].
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
