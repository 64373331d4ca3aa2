package engine_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
)

// pixelPainter paints real pictures of its own size, one strip a band, one
// grey level per band and round; cheat, when set, alters band 1's strip.
type pixelPainter struct {
	w, h  int
	seen  []*canvas.Canvas // the canvas of each request
	cheat func(s *canvas.Strip)
}

func (p *pixelPainter) Geometry() engine.Geometry {
	return engine.Geometry{Width: p.w, Height: p.h, Unit: 1}
}

func (p *pixelPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	p.seen = append(p.seen, req.Canvas)
	v := uint8(40 + 60*req.Band + 7*req.Round)
	r := req.Rows
	s := canvas.Strip{Rows: r, W: p.w, Pix: bytes.Repeat([]byte{v, v, v, 255}, p.w*r.Len())}
	if req.Band == 1 && p.cheat != nil {
		p.cheat(&s)
	}
	onStrip(s)
	return nil
}

type pixelRun struct{ roles engine.Roles }

func (r pixelRun) Roles() engine.Roles { return r.roles }
func (r pixelRun) Close() error        { return nil }

type pixelBackend struct{ roles engine.Roles }

func (b pixelBackend) DefaultBands() int { return 3 }
func (b pixelBackend) NewRun(context.Context, engine.RunSpec) (engine.Run, error) {
	return pixelRun(b), nil
}

// TestPixelPainter: a painter of its own size gives a canvas of that size
// cut in pixel rows (unit 1), every request carries the canvas so far, the
// events carry each strip and rebuild the result's canvas, the result has
// no token view; a strip outside its band or of the wrong width is a
// painter_failed error.
func TestPixelPainter(t *testing.T) {
	p := &pixelPainter{w: 24, h: 47}
	var critics []*canvas.Canvas
	crit := engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
		critics = append(critics, req.Canvas)
		return engine.Critique{Score: 100, Parsed: true}, nil
	})
	s := settings(func(s *engine.Settings) { s.Think = false })
	b := pixelBackend{engine.Roles{Painter: p, Critic: crit}}
	r := mustDraw(t, b, s)
	st := of[*protocol.RunStarted](r)[0]
	if st.Width != 24 || st.Height != 47 || st.Grid != 0 || r.res.Canvas == nil || r.res.Tokens != nil {
		t.Fatalf("run_started %d×%d grid %d, result canvas %v tokens %v", st.Width, st.Height, st.Grid, r.res.Canvas != nil, r.res.Tokens)
	}
	if want := []engine.Rows{{Start: 0, End: 16}, {Start: 16, End: 32}, {Start: 32, End: 47}}; !slicesEqual(st.Plan, want) {
		t.Fatalf("plan %v, want %v", st.Plan, want)
	}
	if n := len(of[*protocol.BandProgress](r)); n != 3 {
		t.Errorf("%d band_progress events, want one strip a band", n)
	}
	f := fold.New()
	for _, ev := range r.events {
		if err := f.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(f.Canvas.Pix, r.res.Canvas.Pix) {
		t.Fatal("the events do not rebuild the canvas")
	}
	// The PNGs are encoded only when the events are written: nothing set
	// them on the way, and what is written is each strip's eager encode,
	// whose events fold to the same canvas.
	var wire bytes.Buffer
	w := protocol.NewWriter(&wire)
	for _, ev := range r.events {
		switch p := ev.Payload.(type) {
		case *protocol.BandProgress:
			want, err := canvas.Strip{Rows: p.Rows, W: 24, Pix: r.res.Canvas.Pix[4*24*p.Rows.Start : 4*24*p.Rows.End]}.Base64()
			if p.PNG != "" || err != nil || mustPNG(t, p) != want {
				t.Fatalf("band_progress rows %v: png set %v, or not the strip's encode", p.Rows, p.PNG != "")
			}
		case *protocol.RunDone:
			want, err := r.res.Canvas.EncodePNG()
			if p.PNG != "" || err != nil || mustPNG(t, p) != base64.StdEncoding.EncodeToString(want) {
				t.Fatalf("run_done: png set %v, or not the canvas's encode", p.PNG != "")
			}
		}
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	read, err := protocol.ReadAll(&wire)
	if err != nil {
		t.Fatal(err)
	}
	g := fold.New()
	for _, ev := range read {
		if err := g.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(g.Canvas.Pix, r.res.Canvas.Pix) {
		t.Fatal("the written events do not rebuild the canvas")
	}
	if d := of[*protocol.RunDone](r)[0]; mustPNG(t, d) == "" || d.Tokens != nil {
		t.Errorf("run_done png %d bytes, tokens %v", len(mustPNG(t, d)), d.Tokens)
	}
	if p.seen[0].Pix[3] != 0 || len(critics) != 3 || critics[2].Pix[4*24*46+3] != 255 {
		t.Fatal("the requests do not carry the canvas so far")
	}
	if p.seen[1].Pix[4*24*15+3] != 255 || p.seen[1].Pix[4*24*16+3] != 0 {
		t.Fatal("band 1's request lacks band 0's pixels, or has its own")
	}

	for name, cheat := range map[string]func(*canvas.Strip){
		"rows of another band": func(s *canvas.Strip) { s.Rows = engine.Rows{Start: 0, End: 16} },
		"narrower":             func(s *canvas.Strip) { s.W, s.Pix = 12, s.Pix[:4*12*16] },
		"past the band":        func(s *canvas.Strip) { s.Rows.End++; s.Pix = append(s.Pix, make([]byte, 4*24)...) },
	} {
		p := &pixelPainter{w: 24, h: 47, cheat: cheat}
		r := draw(t, context.Background(), pixelBackend{engine.Roles{Painter: p}}, settings(func(s *engine.Settings) { s.Think, s.Reflect = false, false }))
		if engine.Code(r.err) != protocol.CodePainter || !strings.Contains(r.err.Error(), "painter sent") {
			t.Errorf("%s: %v, want a painter_failed error", name, r.err)
		}
	}
}

func slicesEqual(a, b []engine.Rows) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestGeometryChecked: a painter whose canvas cannot be cut is the backend's fault.
func TestGeometryChecked(t *testing.T) {
	for _, g := range []engine.Geometry{
		{Width: 0, Height: 10, Unit: 1}, {Width: 10, Height: 10, Unit: 3}, {Width: 10, Height: 5000, Unit: 1},
		{Width: 256, Height: 256, Grid: 16, Unit: 8},
	} {
		p := geomPainter{g}
		r := draw(t, context.Background(), pixelBackend{engine.Roles{Painter: p}}, settings(func(s *engine.Settings) { s.Think, s.Reflect = false, false }))
		if engine.Code(r.err) != protocol.CodeBackend {
			t.Errorf("geometry %+v: %v, want backend_failed", g, r.err)
		}
	}
}

type geomPainter struct{ g engine.Geometry }

func (p geomPainter) Geometry() engine.Geometry { return p.g }
func (p geomPainter) PaintBand(context.Context, engine.PaintRequest, func(canvas.Strip)) error {
	return nil
}

// mustPNG is a native event's PNG, encoded from its source.
func mustPNG(t *testing.T, p interface{ EncodedPNG() (string, error) }) string {
	t.Helper()
	png, err := p.EncodedPNG()
	if err != nil {
		t.Fatal(err)
	}
	return png
}
