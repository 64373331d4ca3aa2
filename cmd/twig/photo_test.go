package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"image"
	"image/png"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote/remotetest"
	"github.com/twig-project/twig/core/world"
	"github.com/twig-project/twig/edge"
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
	const key = "sk-serve-photos-0123456789"
	prov := remotetest.New(t, 1024)
	t.Setenv("OPENAI_API_KEY", key)
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, backend: defaultBackend}
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"serve", "--addr", "127.0.0.1:0", "--grace", "1s", "--backend", "openai", "--base-url", prov.URL})
	}()
	defer func() {
		stop()
		if c := <-code; c != exitOK {
			t.Errorf("serve exit %d, stderr %q", c, errb.String())
		}
	}()
	re := regexp.MustCompile(`listening on http://([0-9.:]+)`)
	var host string
	for deadline := time.Now().Add(time.Minute); host == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			host = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", out.String(), errb.String())
		}
	}
	conn, _, err := wsconn.Dial(context.Background(), "ws://"+host+"/v1/ws", wsconn.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := edge.NewClient(conn)
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
			rows = pixelRowsOf(f.Plan[p.Band], f.Pixels.H)
			before = outsideHash(f.Pixels, rows)
		case *protocol.BandRedrawn:
			rows = pixelRowsOf(p.Rows, f.Pixels.H)
		case *protocol.BandProgress:
			if p.PNG != "" {
				strips++
			}
		case *protocol.BandDone:
			if outsideHash(f.Pixels, rows) != before {
				t.Errorf("band %d round %d changed pixels outside its rows", p.Band, p.Round)
			}
		}
		return nil
	})
	took := time.Since(t0)
	if err != nil {
		t.Fatal(err)
	}
	if f.Pixels == nil || f.Pixels.W != 1024 || f.Pixels.H != 1024 {
		t.Fatalf("the run's picture is %v, want 1024×1024", f.Pixels)
	}
	if n := remotetest.Colours(f.Pixels.Image()); n < 10000 {
		t.Fatalf("the picture has %d colours, want a photograph's", n)
	}
	if want := world.Grid + 5 + 6 + 5; strips != want { // 16 rows, then each band redrawn once
		t.Errorf("%d band_progress strips, want %d", strips, want)
	}
	if strings.Contains(raw.String(), key) {
		t.Error("the key shows in the events")
	}
	edits, chats := len(prov.Edits()), len(prov.Chats())
	t.Logf("one picture over twig serve: %d calls (%d chat, %d image edits) in %v", edits+chats, chats, edits, took.Round(time.Millisecond))
}

func pixelRowsOf(r protocol.Rows, h int) protocol.Rows {
	return protocol.Rows{Start: canvas.CellRows(r.Start, world.Grid, h).Start, End: canvas.CellRows(r.End-1, world.Grid, h).End}
}

func outsideHash(c *canvas.Canvas, r protocol.Rows) [32]byte {
	return sha256.Sum256(append(bytes.Clone(c.Pix[:4*c.W*r.Start]), c.Pix[4*c.W*r.End:]...))
}
