package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"image"
	"image/gif"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote/remotetest"
	"github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/wsconn"
)

// TestDrawPhotos draws with twig draw --backend openai on a provider whose
// image model answers real photographs at 1024×1024: image.png is the
// provider's size and colours (not the token grid's 12), and twig replay of
// the trace writes the same picture.
func TestDrawPhotos(t *testing.T) {
	prov := remotetest.New(t, 1024)
	t.Setenv("OPENAI_API_KEY", "sk-test")
	dir := t.TempDir()
	out, again := filepath.Join(dir, "out"), filepath.Join(dir, "replay")
	t0 := time.Now()
	o := twig(t, defaultBackend, "draw", "--backend", "openai", "--base-url", prov.URL, "--bands", "3",
		"--out", out, "a dune at dusk, photographed with a long lens")
	took := time.Since(t0)
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	pic := read(t, filepath.Join(out, imageFile))
	img, err := png.Decode(bytes.NewReader(pic))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, 1024, 1024) {
		t.Fatalf("image.png is %v, want the provider's 1024×1024", b)
	}
	if n := remotetest.Colours(img); n < 10000 {
		t.Fatalf("image.png has %d colours, want a photograph's (over 10 000)", n)
	}
	// thinking.gif shows the photographs, dithered, band by band.
	anim, err := gif.DecodeAll(bytes.NewReader(read(t, filepath.Join(out, gifFile))))
	if err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("TWIG_PHOTO_OUT"); dir != "" { // to look at them
		os.CopyFS(dir, os.DirFS(out))
	}
	if d := blockDiff(anim.Image[len(anim.Image)-1], img); len(anim.Image) < 20 || d > 12 {
		t.Errorf("thinking.gif: %d frames, the last one %.1f levels from image.png on average (8×8 blocks): want the photographs", len(anim.Image), d)
	}
	edits, chats := len(prov.Edits()), len(prov.Chats())
	t.Logf("one picture: %d calls (%d chat, %d image edits) in %v", edits+chats, chats, edits, took.Round(time.Millisecond))
	if o := twig(t, nil, "replay", filepath.Join(out, traceFile), "--out", again); o.code != 0 {
		t.Fatalf("replay: %+v", o)
	}
	if !bytes.Equal(read(t, filepath.Join(again, imageFile)), pic) {
		t.Error("twig replay of the trace writes another image.png")
	}
}

// TestServePhotos: twig serve --backend openai plays a websocket client's
// run on the photo provider, the key staying on the server: the events
// carry the picture band by band, each band's edit leaves the rows outside
// it as they were, and the picture is the provider's size and colours.
func TestServePhotos(t *testing.T) {
	prov := remotetest.New(t, 1024)
	host := photoServe(t, prov)
	conn, _, err := wsconn.Dial(context.Background(), "ws://"+host+"/v1/ws", wsconn.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := client.New(conn)
	defer cl.Close()
	s := protocol.DefaultSettings()
	s.Bands = 3
	f := fold.New()
	var (
		before [32]byte
		rows   protocol.Rows
		strips int
		raw    strings.Builder
	)
	t0 := time.Now()
	err = cl.Draw(context.Background(), "a dune at dusk, photographed with a long lens", s, func(ev protocol.Event) error {
		b, _ := ev.MarshalJSON()
		raw.Write(b)
		if err := f.Apply(ev); err != nil {
			return err
		}
		switch p := ev.Payload.(type) {
		case *protocol.BandStarted:
			rows = f.Plan[p.Band]
			before = outsideHash(f.Canvas, rows)
		case *protocol.BandRedrawn:
			rows = p.Rows
		case *protocol.BandProgress:
			if p.PNG != "" {
				strips++
			}
		case *protocol.BandDone:
			if outsideHash(f.Canvas, rows) != before {
				t.Errorf("band %d round %d changed pixels outside its rows", p.Band, p.Round)
			}
		}
		return nil
	})
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Canvas == nil || f.Canvas.W != 1024 || f.Canvas.H != 1024 {
		t.Fatalf("the run's picture is %v, want 1024×1024", f.Canvas)
	}
	if n := remotetest.Colours(f.Canvas.Image()); n < 10000 {
		t.Fatalf("the picture has %d colours, want a photograph's", n)
	}
	if want := 3 + 3; strips != want { // a strip a band, then each band redrawn once
		t.Errorf("%d band_progress strips, want %d", strips, want)
	}
	if strings.Contains(raw.String(), photoKey) {
		t.Error("the key shows in the events")
	}
	edits, chats := len(prov.Edits()), len(prov.Chats())
	t.Logf("one picture over twig serve: %d calls (%d chat, %d image edits) in %v", edits+chats, chats, edits, took.Round(time.Millisecond))
}

func outsideHash(c *canvas.Canvas, r protocol.Rows) [32]byte {
	return sha256.Sum256(append(bytes.Clone(c.Pix[:4*c.W*r.Start]), c.Pix[4*c.W*r.End:]...))
}

// TestDrawPhotosMixed: an embedded thinker and critic with a remote
// painter. The embedded roles read their token view of the real picture
// (the critic scores the photo's rows as tokens), the picture stays the
// photographs; the other way round, a remote critic sees the embedded
// model's picture.
func TestDrawPhotosMixed(t *testing.T) {
	prov := remotetest.New(t, 1024)
	t.Setenv("OPENAI_API_KEY", "sk-test")
	dir := t.TempDir()
	o := twig(t, defaultBackend, "draw", "--backend", "openai", "--base-url", prov.URL, "--thinker-backend", "embedded",
		"--critic-backend", "embedded", "--weights", tinyWeights, "--json", "--out", dir, "a red circle above a blue square")
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	f := fold.New()
	for _, line := range strings.Split(strings.TrimSpace(o.stdout), "\n") {
		var ev protocol.Event
		if err := ev.UnmarshalJSON([]byte(line)); err != nil {
			t.Fatal(err)
		}
		if err := f.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	critiques := 0
	for _, b := range f.Bands {
		critiques += len(b.Critiques)
		if b.Thought == "" {
			t.Errorf("band rows %v has no thought from the embedded thinker", b.Rows)
		}
	}
	if f.Canvas == nil || critiques == 0 || remotetest.Colours(f.Canvas.Image()) < 10000 {
		t.Fatalf("picture %v, %d critiques: want the photographs, scored by the embedded critic", f.Canvas, critiques)
	}
	if len(prov.Chats()) != 0 || len(prov.Edits()) < 3 {
		t.Fatalf("%d chat calls and %d edits: want no chat (embedded thinker and critic) and an edit a band", len(prov.Chats()), len(prov.Edits()))
	}

	// A remote critic and thinker over the embedded painter see its picture.
	prov2 := remotetest.New(t, 1024)
	o = twig(t, defaultBackend, "draw", "--backend", "openai", "--base-url", prov2.URL, "--painter-backend", "embedded",
		"--weights", tinyWeights, "--out", t.TempDir(), "a red circle above a blue square")
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	seen := 0
	for _, c := range prov2.Chats() {
		if c.ImageW > 0 {
			seen++
			if c.ImageW != 512 || c.Colours > 64 {
				t.Errorf("a chat call saw a %d-px picture of %d colours, want the embedded model's flat picture at 512", c.ImageW, c.Colours)
			}
		}
	}
	if seen == 0 || len(prov2.Edits()) != 0 {
		t.Fatalf("%d chat calls with the picture, %d edits", seen, len(prov2.Edits()))
	}
}

// blockDiff compares a GIF frame's 512×512 picture with a picture twice its
// size in 16×16 blocks of the picture (8×8 of the frame), where dithering
// averages out: the mean absolute difference of the blocks' mean colours.
func blockDiff(frame *image.Paletted, pic image.Image) float64 {
	var sum float64
	n := 0
	for by := 0; by < 512; by += 8 {
		for bx := 0; bx < 512; bx += 8 {
			var a, b [3]float64
			for y := by; y < by+8; y++ {
				for x := bx; x < bx+8; x++ {
					r, g, bl, _ := frame.At(x, y).RGBA()
					a[0], a[1], a[2] = a[0]+float64(r>>8), a[1]+float64(g>>8), a[2]+float64(bl>>8)
				}
			}
			for y := 2 * by; y < 2*by+16; y++ {
				for x := 2 * bx; x < 2*bx+16; x++ {
					r, g, bl, _ := pic.At(x, y).RGBA()
					b[0], b[1], b[2] = b[0]+float64(r>>8)/4, b[1]+float64(g>>8)/4, b[2]+float64(bl>>8)/4
				}
			}
			for i := range a {
				sum += math.Abs(a[i]-b[i]) / 64
				n++
			}
		}
	}
	return sum / float64(n)
}
