package canvas_test

import (
	"bytes"
	"crypto/sha256"
	"image"
	"image/color"
	"math/rand/v2"
	"os/exec"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
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

// TestScheduleIsTheEnginesInPixels: with a token model's unit (h/16) the
// pixel schedule is the engine's token schedule, scaled.
func TestScheduleIsTheEnginesInPixels(t *testing.T) {
	for k := 0; k <= 17; k++ {
		got, err := canvas.Schedule(k, 256, 16)
		if err != nil {
			t.Fatal(err)
		}
		want := engine.Schedule(k)
		for i := range want {
			want[i].Start *= 16
			want[i].End *= 16
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
		again, err := s.EncodePNG()
		if err != nil {
			t.Fatal(err)
		}
		s2, err := canvas.DecodeStrip(again, rows, int(w))
		if err != nil || !bytes.Equal(s2.Pix, s.Pix) {
			t.Fatalf("the strip does not survive its own PNG: %v", err)
		}
	})
}

// TestImportsNoWorld: the canvas is the engine's, not the synthetic
// world's (docs/CANVAS.md): nothing it builds on is world code.
func TestImportsNoWorld(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "/core/world") || strings.Contains(p, "/internal/world") {
			t.Fatalf("package canvas depends on %s", p)
		}
	}
}
