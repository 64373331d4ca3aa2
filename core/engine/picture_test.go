package engine_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// pixelPainter paints each row's pixels one grey level per band and round;
// cheat, when set, alters what it hands on for row 2.
type pixelPainter struct {
	w, h   int
	seen   []*canvas.Canvas // the picture of each request
	cheat  func(s *canvas.Strip)
	tokens []int
}

func (p *pixelPainter) PictureSize() (int, int) { return p.w, p.h }
func (p *pixelPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onRow func(int, []int)) error {
	return p.PaintPixels(ctx, req, func(r int, t []int, _ canvas.Strip) { onRow(r, t) })
}
func (p *pixelPainter) PaintPixels(ctx context.Context, req engine.PaintRequest, onRow func(int, []int, canvas.Strip)) error {
	p.seen = append(p.seen, req.Picture)
	for row := req.Rows.Start; row < req.Rows.End; row++ {
		r := canvas.CellRows(row, tokens.Grid, p.h)
		v := uint8(40 + 60*req.Band + 7*req.Round)
		s := canvas.Strip{Rows: r, W: p.w, Pix: bytes.Repeat([]byte{v, v, v, 255}, p.w*(r.End-r.Start))}
		if row == 2 && p.cheat != nil {
			p.cheat(&s)
		}
		onRow(row, make([]int, tokens.Grid), s)
	}
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

// TestPixelPainter: a PixelPainter's run is a picture of its size, every
// request carries the picture so far, the events carry each row's pixels
// and rebuild the result's picture; a strip not of its row's pixel rows is
// a painter_failed error.
func TestPixelPainter(t *testing.T) {
	p := &pixelPainter{w: 24, h: 48}
	var critics []*canvas.Canvas
	crit := engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
		critics = append(critics, req.Picture)
		return engine.Critique{Score: 100, Parsed: true}, nil
	})
	s := settings(func(s *engine.Settings) { s.Think = false })
	b := pixelBackend{engine.Roles{Painter: p, Critic: crit}}
	r := mustDraw(t, b, s)
	st := of[*protocol.RunStarted](r)[0]
	if st.Width != 24 || st.Height != 48 || r.res.Picture == nil {
		t.Fatalf("run_started %d×%d, result picture %v", st.Width, st.Height, r.res.Picture)
	}
	f := fold.New()
	for _, ev := range r.events {
		if err := f.Apply(ev); err != nil {
			t.Fatal(err)
		}
	}
	if !bytes.Equal(f.Pixels.Pix, r.res.Picture.Pix) {
		t.Fatal("the events do not rebuild the picture")
	}
	if p.seen[0].Pix[3] != 0 || len(critics) != 3 || critics[2].Pix[4*24*47+3] != 255 {
		t.Fatal("the requests do not carry the picture so far")
	}
	if p.seen[1].Pix[4*24*17+3] != 255 { // band 0 is pixel rows [0,18): band 1 sees them
		t.Fatal("band 1's request lacks band 0's pixels")
	}

	for name, cheat := range map[string]func(*canvas.Strip){
		"rows of another row": func(s *canvas.Strip) { s.Rows = canvas.CellRows(0, tokens.Grid, 48) },
		"narrower":            func(s *canvas.Strip) { s.W, s.Pix = 12, s.Pix[:4*12*3] },
	} {
		p := &pixelPainter{w: 24, h: 48, cheat: cheat}
		r := draw(t, context.Background(), pixelBackend{engine.Roles{Painter: p}}, settings(func(s *engine.Settings) { s.Think, s.Reflect = false, false }))
		if engine.Code(r.err) != protocol.CodePainter || !strings.Contains(r.err.Error(), "pixel rows") {
			t.Errorf("%s: %v, want a painter_failed error", name, r.err)
		}
	}
}
