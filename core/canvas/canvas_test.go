package canvas_test

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
)

// noisy fills c with random opaque pixels.
func noisy(t *testing.T, w, h int, seed uint64) *canvas.Canvas {
	t.Helper()
	c, err := canvas.New(w, h)
	if err != nil {
		t.Fatal(err)
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for i := range c.Pix {
		c.Pix[i] = uint8(r.IntN(256))
		if i%4 == 3 {
			c.Pix[i] = 255
		}
	}
	return c
}

// photo is a picture at an image model's own size, with smooth gradients
// and texture like a photograph's.
func photo(w, h int) image.Image {
	img := image.NewNRGBA(image.Rect(0, 0, w, h))
	r := rand.New(rand.NewPCG(7, 7))
	for y := range h {
		for x := range w {
			img.SetNRGBA(x, y, color.NRGBA{uint8(x * 255 / w), uint8(y * 255 / h), uint8(128 + r.IntN(64)), 255})
		}
	}
	return img
}

func rowsHash(c *canvas.Canvas, r protocol.Rows) [32]byte {
	return sha256.Sum256(c.Pix[4*c.W*r.Start : 4*c.W*r.End])
}

// TestCompositeOnlyTheBand: a picture composited into a band changes the
// band's rows and leaves every other pixel bit for bit, whatever its size.
func TestCompositeOnlyTheBand(t *testing.T) {
	for _, tc := range []struct {
		w, h   int
		pw, ph int
		band   protocol.Rows
	}{
		{256, 256, 1024, 1024, protocol.Rows{Start: 96, End: 176}},
		{256, 256, 1024, 768, protocol.Rows{Start: 0, End: 1}},
		{1024, 1024, 512, 512, protocol.Rows{Start: 1000, End: 1024}},
		{300, 200, 7, 3, protocol.Rows{Start: 50, End: 150}},
	} {
		c := noisy(t, tc.w, tc.h, 1)
		before := c.Clone()
		above, below := protocol.Rows{Start: 0, End: tc.band.Start}, protocol.Rows{Start: tc.band.End, End: tc.h}
		if err := c.Composite(photo(tc.pw, tc.ph), tc.band); err != nil {
			t.Fatal(err)
		}
		for _, r := range []protocol.Rows{above, below} {
			if r.End > r.Start && rowsHash(c, r) != rowsHash(before, r) {
				t.Fatalf("%+v: rows [%d,%d) outside the band changed", tc, r.Start, r.End)
			}
		}
		if rowsHash(c, tc.band) == rowsHash(before, tc.band) {
			t.Fatalf("%+v: the band did not change", tc)
		}
	}
}

// TestStripPNGRoundTrip: a strip survives its PNG bit for bit, and a PNG
// of the wrong size or no PNG at all is refused in one line.
func TestStripPNGRoundTrip(t *testing.T) {
	c := noisy(t, 200, 64, 3)
	c.Pix[3] = 0 // a transparent pixel keeps its colour bytes out of it: straight alpha
	s, err := c.Strip(protocol.Rows{Start: 8, End: 24})
	if err != nil {
		t.Fatal(err)
	}
	data, err := s.EncodePNG()
	if err != nil {
		t.Fatal(err)
	}
	got, err := canvas.DecodeStrip(data, s.Rows, 200)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Pix, s.Pix) {
		t.Fatal("the strip changed through its PNG")
	}
	d, _ := canvas.New(200, 64)
	if err := d.Put(got); err != nil {
		t.Fatal(err)
	}
	if rowsHash(d, s.Rows) != rowsHash(c, s.Rows) {
		t.Fatal("Put did not write the strip's rows")
	}
	for _, tc := range []struct {
		data []byte
		rows protocol.Rows
		w    int
		msg  string
	}{
		{data, protocol.Rows{Start: 8, End: 25}, 200, "want 200×17"},
		{data, s.Rows, 201, "want 201×16"},
		{[]byte("not a png"), s.Rows, 200, "not a PNG"},
		{data, protocol.Rows{Start: 8, End: 8}, 200, "not a strip"},
	} {
		_, err := canvas.DecodeStrip(tc.data, tc.rows, tc.w)
		if err == nil || !strings.Contains(err.Error(), tc.msg) || strings.Contains(err.Error(), "\n") {
			t.Errorf("%s: err %v", tc.msg, err)
		}
	}
}

// TestRowsOutsideTheCanvas: rows past the canvas are refused, not clipped.
func TestRowsOutsideTheCanvas(t *testing.T) {
	c, _ := canvas.New(16, 16)
	for _, r := range []protocol.Rows{{Start: -1, End: 4}, {Start: 4, End: 4}, {Start: 10, End: 17}, {Start: 0, End: -1}} {
		if err := c.ClearRows(r); err == nil {
			t.Errorf("rows %+v accepted", r)
		}
		if err := c.Composite(photo(4, 4), r); err == nil {
			t.Errorf("composite into rows %+v accepted", r)
		}
	}
	if _, err := canvas.New(0, 5); err == nil {
		t.Error("a 0×5 canvas was made")
	}
	if _, err := canvas.New(canvas.MaxSide+1, 5); err == nil {
		t.Error("a canvas over MaxSide was made")
	}
}

// TestSchedule: with a token model's unit (h/16) the pixel schedule is the
// token grid's, scaled (k=3: token rows [0,6) [6,11) [11,16)); the engine's
// Schedule is this one.
func TestSchedule(t *testing.T) {
	for k, sizes := range map[int][]int{0: {16}, 1: {16}, 3: {6, 5, 5}, 5: {4, 3, 3, 3, 3}, 16: slices.Repeat([]int{1}, 16), 17: slices.Repeat([]int{1}, 16)} {
		got, err := canvas.Schedule(k, 256, 16)
		if err != nil {
			t.Fatal(err)
		}
		var want []protocol.Rows
		at := 0
		for _, n := range sizes {
			want = append(want, protocol.Rows{Start: 16 * at, End: 16 * (at + n)})
			at += n
		}
		if !slices.Equal(got, want) {
			t.Fatalf("k=%d: %v, want %v", k, got, want)
		}
	}
	if b, _ := canvas.Schedule(3, 1024, 1); b[0] != (protocol.Rows{Start: 0, End: 342}) || b[2].End != 1024 {
		t.Fatalf("1024 rows in 3 bands: %v", b)
	}
	if _, err := canvas.Schedule(3, 100, 16); err == nil {
		t.Fatal("100 rows cut in units of 16")
	}
}

// FuzzDecodeStrip: any bytes as a strip of rows [0,h) of a w-wide canvas.
// Nothing panics; what decodes has exactly the strip's size and encodes
// back to the same pixels.
func FuzzDecodeStrip(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte, w, h uint8) {
		rows := protocol.Rows{Start: 0, End: int(h)}
		s, err := canvas.DecodeStrip(data, rows, int(w))
		if err != nil {
			return
		}
		if len(s.Pix) != 4*int(w)*int(h) {
			t.Fatalf("a %d×%d strip has %d bytes", w, h, len(s.Pix))
		}
		// Encoded afresh (a decoded strip's EncodePNG returns its own PNG).
		again, err := canvas.Strip{Rows: s.Rows, W: s.W, Pix: s.Pix}.EncodePNG()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := canvas.DecodeStrip(again, rows, int(w))
		if err != nil || !bytes.Equal(s2.Pix, s.Pix) {
			t.Fatalf("the strip does not survive its own PNG: %v", err)
		}
	})
}

// TestTokenView: a token model's strips keep their tokens in the canvas's
// token view; a pixel strip, a composite or a cleared band forgets the
// token rows they touch; a clone is deep.
func TestTokenView(t *testing.T) {
	c, err := canvas.NewGrid(64, 64, 16) // 4 pixel rows a token row
	if err != nil {
		t.Fatal(err)
	}
	if c.Unit() != 4 || c.AllTokens() || c.AnyTokens() || c.AnyPainted() {
		t.Fatalf("a new canvas: unit %d, all %v any %v painted %v", c.Unit(), c.AllTokens(), c.AnyTokens(), c.AnyPainted())
	}
	src := noisy(t, 64, 64, 3)
	tok := func(r, v int) []int { return slices.Repeat([]int{v}, 16*r) }
	s, _ := src.Strip(protocol.Rows{Start: 0, End: 8})
	s.Tokens = tok(2, 7)
	if err := c.Put(s); err != nil {
		t.Fatal(err)
	}
	if got, ok := c.TokensOf(protocol.Rows{Start: 0, End: 8}); !ok || !slices.Equal(got, tok(2, 7)) {
		t.Errorf("TokensOf the token strip: %v %v", got, ok)
	}
	if !c.AllTokens() || !c.Painted[7] || c.Painted[8] {
		t.Errorf("after one token strip: all %v, painted %v", c.AllTokens(), c.Painted[:9])
	}
	// A pixel strip that overlaps token row 1 by half: row 1's tokens are gone.
	p, _ := src.Strip(protocol.Rows{Start: 6, End: 12})
	if err := c.Put(p); err != nil {
		t.Fatal(err)
	}
	if _, ok := c.TokensOf(protocol.Rows{Start: 4, End: 8}); ok || c.AllTokens() || !c.AnyTokens() {
		t.Errorf("a pixel strip over token row 1 left its tokens (all %v)", c.AllTokens())
	}
	if _, ok := c.TokensOf(protocol.Rows{Start: 0, End: 4}); !ok {
		t.Error("a pixel strip below token row 0 forgot its tokens")
	}
	cl := c.Clone()
	if err := c.ClearRows(protocol.Rows{Start: 0, End: 12}); err != nil {
		t.Fatal(err)
	}
	if c.AnyPainted() || c.AnyTokens() || !cl.AnyPainted() || !cl.AnyTokens() {
		t.Error("ClearRows left paint or tokens, or changed the clone")
	}
	// Strips with tokens must be whole token rows of the right count.
	for _, bad := range []canvas.Strip{
		{Rows: protocol.Rows{Start: 2, End: 6}, W: 64, Pix: make([]uint8, 4*64*4), Tokens: tok(1, 1)},
		{Rows: protocol.Rows{Start: 0, End: 4}, W: 64, Pix: make([]uint8, 4*64*4), Tokens: tok(2, 1)},
		{Rows: protocol.Rows{Start: 0, End: 4}, W: 64, Pix: make([]uint8, 4*64*4), Tokens: tok(1, -1)},
	} {
		if err := c.Put(bad); err == nil {
			t.Errorf("Put accepted tokens %d for rows %v", len(bad.Tokens), bad.Rows)
		}
	}
	plain, _ := canvas.New(64, 64)
	if err := plain.Put(s); err == nil {
		t.Error("a canvas with no grid took a strip with tokens")
	}
	if _, err := canvas.NewGrid(60, 64, 16); err == nil {
		t.Error("NewGrid took a width that is not a multiple of the grid")
	}
}

// TestCanvasPNG: a canvas survives its data URL and a strip its base64
// PNG; undrawn rows come back unpainted.
func TestCanvasPNG(t *testing.T) {
	src := noisy(t, 40, 30, 5)
	c, _ := canvas.New(40, 30)
	s, _ := src.Strip(protocol.Rows{Start: 10, End: 20})
	if err := c.Put(s); err != nil {
		t.Fatal(err)
	}
	url, err := c.DataURL()
	if err != nil {
		t.Fatal(err)
	}
	back, err := canvas.DecodeDataURL(url, 40, 30)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(back.Pix, c.Pix) || !slices.Equal(back.Painted, c.Painted) {
		t.Error("the canvas changed through its data URL")
	}
	if _, err := canvas.DecodeDataURL(url, 40, 31); err == nil {
		t.Error("a 40×30 PNG decoded as 40×31")
	}
	if _, err := canvas.DecodeDataURL("data:image/jpeg;base64,AAAA", 40, 30); err == nil {
		t.Error("a JPEG data URL decoded")
	}
	b64, err := s.Base64()
	if err != nil {
		t.Fatal(err)
	}
	got, err := canvas.DecodeBase64(b64, s.Rows, 40, []int{1})
	if err != nil || !bytes.Equal(got.Pix, s.Pix) || !slices.Equal(got.Tokens, []int{1}) {
		t.Errorf("the strip changed through base64: %v", err)
	}
	if _, err := canvas.DecodeBase64("not base64!", s.Rows, 40, nil); err == nil {
		t.Error("bad base64 decoded")
	}
}

// FuzzDecodeDataURL: a canvas's data URL never panics the decoder, and what
// decodes has the size asked for.
func FuzzDecodeDataURL(f *testing.F) {
	c, _ := canvas.New(8, 8)
	url, _ := c.DataURL()
	f.Add(url, 8, 8)
	f.Add("data:image/png;base64,iVBORw0KGgo=", 1, 1)
	f.Fuzz(func(t *testing.T, url string, w, h int) {
		if w > 64 || h > 64 {
			return
		}
		c, err := canvas.DecodeDataURL(url, w, h)
		if err == nil && (c.W != w || c.H != h || len(c.Pix) != 4*w*h) {
			t.Fatalf("decoded %d×%d for %d×%d", c.W, c.H, w, h)
		}
	})
}
