//go:build !js

package proxy

import (
	"bytes"
	"crypto/sha256"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote"
	"github.com/twig-project/twig/core/remote/remotetest"
	"github.com/twig-project/twig/edge/server"
)

// photoServe is `twig serve` whose roles are all remote, against the test
// provider whose image model answers photographs (core/remote/remotetest);
// its hello announces the painter's canvas.
func photoServe(t *testing.T, prov *remotetest.Provider) string {
	t.Helper()
	chat := remote.Source{Kind: remote.KindOpenAI, Endpoint: remote.Endpoint{BaseURL: prov.URL, Model: "gpt-4.1-mini", APIKey: "sk-photos"}}
	edit := remote.Source{Kind: remote.KindOpenAI, Endpoint: remote.Endpoint{BaseURL: prov.URL, Model: "gpt-image-1", APIKey: "sk-photos"}}
	o := remote.DefaultOptions()
	o.EditSize = "512x512" // the provider's size; the picture is then 512×512
	b, err := remote.NewBackend(remote.Config{Thinker: chat, Critic: chat, Painter: edit, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	l := server.DefaultLimits()
	l.MaxMessageBytes = 8 << 20 // role calls carry the canvas so far as a PNG
	srv, err := server.New(server.Options{Backend: b, Token: serveToken, Limits: l})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func outsideRows(c *canvas.Canvas, r protocol.Rows) [32]byte {
	return sha256.Sum256(append(bytes.Clone(c.Pix[:4*c.W*r.Start]), c.Pix[4*c.W*r.End:]...))
}

// A run through the worker whose upstream paints real pictures plays on the
// upstream painter's canvas (announced in its hello): the picture is the
// provider's size and colours, each band's edit and redraw leaves the rows
// outside it as they were, and it equals the same run on the upstream.
func TestPhotosThroughTheWorker(t *testing.T) {
	prov := remotetest.New(t, 512)
	w := twigWorker(t, photoServe(t, prov), nil)
	c, _ := dialClient(t, w.url)
	ctx := ctxTimeout(t, 3*time.Minute)
	hello, err := c.Hello(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hello.Canvas != nil {
		t.Fatalf("the worker announces a canvas of its own: %+v", hello.Canvas)
	}
	s := protocol.DefaultSettings()
	s.Bands, s.Seed = 2, 1
	const prompt = "a dune at dusk, photographed with a long lens"
	f := fold.New()
	var before [32]byte
	var band protocol.Rows
	redrawn := 0
	err = c.Draw(ctx, prompt, s, func(ev protocol.Event) error {
		if err := f.Apply(ev); err != nil {
			return err
		}
		switch p := ev.Payload.(type) {
		case *protocol.BandStarted:
			band, before = p.Rows, outsideRows(f.Canvas, p.Rows)
		case *protocol.BandRedrawn:
			band, before = p.Rows, outsideRows(f.Canvas, p.Rows)
			redrawn++
		case *protocol.BandProgress:
			if p.Rows.Start < band.Start || p.Rows.End > band.End || p.PNG == "" {
				t.Errorf("a strip of rows %v (png %d bytes) in band %v", p.Rows, len(p.PNG), band)
			}
		case *protocol.BandDone:
			if outsideRows(f.Canvas, p.Rows) != before {
				t.Errorf("band %d round %d: pixels outside its rows changed", p.Band, p.Round)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if f.Canvas == nil || f.Canvas.W != 512 || f.Canvas.H != 512 {
		w, h := 0, 0
		if f.Canvas != nil {
			w, h = f.Canvas.W, f.Canvas.H
		}
		t.Fatalf("a canvas of %d×%d: want the image model's 512×512 (announced in the upstream's hello)", w, h)
	}
	if n := remotetest.Colours(f.Canvas.Image()); n < 10000 || redrawn == 0 {
		t.Fatalf("%d colours, %d redraws: want the photographs, and the provider's critic asks for a redraw", n, redrawn)
	}

	// The same run played straight on the upstream, with a fresh provider.
	prov2 := remotetest.New(t, 512)
	direct := dialDirect(t, photoServe(t, prov2))
	f2 := fold.New()
	if err := direct.Draw(ctx, prompt, s, func(ev protocol.Event) error { return f2.Apply(ev) }); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(f2.Canvas.Pix, f.Canvas.Pix) || len(prov2.Edits()) != len(prov.Edits()) || len(prov2.Chats()) != len(prov.Chats()) {
		t.Fatalf("the run through the worker differs from the run on the upstream (%d/%d edits, %d/%d chats)",
			len(prov.Edits()), len(prov2.Edits()), len(prov.Chats()), len(prov2.Chats()))
	}
}
