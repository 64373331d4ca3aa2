package remote_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"image"
	"image/draw"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote"
	"github.com/twig-project/twig/core/remote/remotetest"
)

// outside hashes a picture's pixel rows outside rows.
func outside(c *canvas.Canvas, rows protocol.Rows) [32]byte {
	h := sha256.New()
	h.Write(c.Pix[:4*c.W*rows.Start])
	h.Write(c.Pix[4*c.W*rows.End:])
	var out [32]byte
	copy(out[:], h.Sum(nil))
	return out
}

func inside(c *canvas.Canvas, rows protocol.Rows) []byte {
	return bytes.Clone(c.Pix[4*c.W*rows.Start : 4*c.W*rows.End])
}

// TestPhotosComposited runs TwiG on a provider whose image model answers
// real photographs at 1024×1024, ignoring the mask: the picture is the
// provider's size and colours, each band's edit leaves every pixel outside
// its rows unchanged, a redraw replaces only its band, and the events
// rebuild the picture exactly.
func TestPhotosComposited(t *testing.T) {
	const side = 1024
	prov := remotetest.New(t, side)
	ep := remote.Endpoint{BaseURL: prov.URL, Model: "gpt-image-1", APIKey: "sk-test"}
	chat := remote.Endpoint{BaseURL: prov.URL, Model: "gpt-4.1-mini", APIKey: "sk-test"}
	b, err := remote.NewBackend(remote.Config{
		Thinker: remote.Source{Kind: remote.KindOpenAI, Endpoint: chat},
		Critic:  remote.Source{Kind: remote.KindOpenAI, Endpoint: chat},
		Painter: remote.Source{Kind: remote.KindOpenAI, Endpoint: ep},
	})
	if err != nil {
		t.Fatal(err)
	}
	s := engine.DefaultSettings()
	s.Bands, s.Reflect, s.MaxRevisions = 3, true, 1
	// A free-text prompt: no world vocabulary on a remote path.
	spec := engine.RunSpec{Prompt: "a dune at dusk, photographed with a long lens", Seed: 7, Settings: s}

	f := fold.New()
	var (
		before  [32]byte // the rows outside the band when its drawing began
		prevIn  []byte   // the band's rows of its previous drawing
		rowsNow protocol.Rows
		redraws int
		events  []protocol.Event
	)
	sink := func(ev protocol.Event) error {
		events = append(events, ev)
		if err := f.Apply(ev); err != nil {
			t.Fatalf("fold: %v", err)
		}
		switch e := ev.Payload.(type) {
		case *protocol.RunStarted:
			if e.Width != side || e.Height != side {
				t.Fatalf("run_started: a %d×%d picture, want the provider's %d×%d", e.Width, e.Height, side, side)
			}
		case *protocol.BandStarted:
			rowsNow = f.Plan[e.Band]
			before = outside(f.Canvas, rowsNow)
		case *protocol.BandRedrawn:
			redraws++
			rowsNow = e.Rows
			if outside(f.Canvas, rowsNow) != before {
				t.Fatalf("band %d: the redraw cleared pixels outside its rows", e.Band)
			}
		case *protocol.BandProgress:
			if png, _ := e.EncodedPNG(); png == "" || e.Rows != rowsNow || e.Tokens != nil {
				t.Fatalf("band_progress rows %v: want the band's rows %v as one PNG strip, no tokens", e.Rows, rowsNow)
			}
		case *protocol.BandDone:
			if got := outside(f.Canvas, rowsNow); got != before {
				t.Fatalf("band %d round %d: pixels outside rows [%d,%d) changed", e.Band, e.Round, rowsNow.Start, rowsNow.End)
			}
			in := inside(f.Canvas, rowsNow)
			if e.Round > 0 && bytes.Equal(in, prevIn) {
				t.Fatalf("band %d: the redraw did not replace its rows", e.Band)
			}
			prevIn = in
		}
		return nil
	}
	res, err := engine.Draw(context.Background(), b, spec, sink)
	if err != nil {
		t.Fatal(err)
	}
	if res.Canvas == nil || res.Canvas.W != side || res.Canvas.H != side || res.Tokens != nil {
		t.Fatalf("the result's canvas is %v, want %d×%d without tokens", res.Canvas, side, side)
	}
	if !bytes.Equal(res.Canvas.Pix, f.Canvas.Pix) {
		t.Fatal("the events do not rebuild the run's picture")
	}
	if r := res.Bands; r[0].Start != 0 || r[0].End%8 != 0 || r[1].End%8 != 0 || r[2].End != side {
		t.Fatalf("bands %v: want pixel rows in units of 8 down to %d", r, side)
	}
	if n := remotetest.Colours(res.Canvas.Image()); n < 10000 {
		t.Fatalf("the picture has %d colours, want a photograph's (over 10 000)", n)
	}
	if redraws != 3 {
		t.Fatalf("%d redraws, want 3 (the provider's critic fails each band once)", redraws)
	}

	// Each edit sent the whole picture at its size with the band's rows
	// masked, and each band's rows hold exactly the photo answered last.
	edits := prov.Edits()
	if len(edits) != 6 {
		t.Fatalf("%d image edits, want 6 (3 bands, each redrawn once)", len(edits))
	}
	for i, e := range edits {
		if e.ImageW != side || e.ImageH != side {
			t.Errorf("edit %d sent a %d×%d picture, want %d×%d", i, e.ImageW, e.ImageH, side, side)
		}
	}
	for band, r := range res.Bands {
		rows := r
		for _, i := range []int{2 * band, 2*band + 1} {
			if m := edits[i].MaskRows; len(m) != 1 || m[0] != [2]int{rows.Start, rows.End} {
				t.Errorf("edit %d (band %d): the mask's transparent rows are %v, want [[%d %d]]", i, band, m, rows.Start, rows.End)
			}
		}
		ans := prov.Answer(edits[2*band+1].Photo)
		want := image.NewNRGBA(ans.Bounds())
		draw.Draw(want, want.Rect, ans, image.Point{}, draw.Src)
		if !bytes.Equal(inside(res.Canvas, rows), want.Pix[4*side*rows.Start:4*side*rows.End]) {
			t.Errorf("band %d's rows are not the photo the provider answered", band)
		}
	}

	// The thinker and critic saw the real partial picture.
	var seen int
	for _, c := range prov.Chats() {
		if c.ImageW == 0 {
			continue
		}
		seen++
		if c.ImageW != 512 || c.ImageH != 512 || c.Colours < 1000 {
			t.Errorf("a chat call saw a %d×%d picture of %d colours, want the real picture at 512×512", c.ImageW, c.ImageH, c.Colours)
		}
	}
	if seen < 6 { // 2 thoughts after the first band, 6 critiques
		t.Errorf("%d chat calls carried the picture, want at least 6", seen)
	}
}

// BenchmarkPhotoPicture draws one 1024×1024 picture of 3 bands, each
// redrawn once, with every role on the photo provider (in-process HTTP):
// the cost of a remote picture on twig's side (encoding the picture and
// mask, compositing, the strips' PNGs), and its calls.
func BenchmarkPhotoPicture(b *testing.B) {
	prov := remotetest.New(b, 1024)
	chat := remote.Endpoint{BaseURL: prov.URL, Model: "gpt-4.1-mini", APIKey: "sk-test"}
	be, err := remote.NewBackend(remote.Config{
		Thinker: remote.Source{Kind: remote.KindOpenAI, Endpoint: chat},
		Critic:  remote.Source{Kind: remote.KindOpenAI, Endpoint: chat},
		Painter: remote.Source{Kind: remote.KindOpenAI, Endpoint: remote.Endpoint{BaseURL: prov.URL, Model: "gpt-image-1", APIKey: "sk-test"}},
	})
	if err != nil {
		b.Fatal(err)
	}
	s := engine.DefaultSettings()
	s.Bands, s.Reflect, s.MaxRevisions = 3, true, 1
	calls := 0
	for b.Loop() {
		prov.Reset()
		if _, err := engine.Draw(context.Background(), be, engine.RunSpec{Prompt: "a dune at dusk", Seed: 7, Settings: s}, nil); err != nil {
			b.Fatal(err)
		}
		calls += len(prov.Edits()) + len(prov.Chats())
	}
	b.ReportMetric(float64(calls)/float64(b.N), "calls/picture")
	b.ReportMetric(float64(b.Elapsed().Milliseconds())/float64(b.N), "ms/picture")
}
