package main

import (
	"bytes"
	"image"
	"image/png"
	"path/filepath"
	"testing"
	"time"

	"github.com/twig-project/twig/core/remote/remotetest"
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
