package render_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"image/gif"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/render"
	"github.com/twig-project/twig/internal/world/tokens"
)

// tokenPainter paints each token row r of a band with row(req, r), as the
// embedded model hands rows on (model.TokenStrip).
func tokenPainter(row func(req engine.PaintRequest, r int) []int) engine.PainterFunc {
	return func(_ context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
		u := req.Canvas.H / tokens.Grid
		for r := req.Rows.Start / u; r < req.Rows.End/u; r++ {
			onStrip(model.TokenStrip(row(req, r), r, req.Canvas.W, req.Canvas.H))
		}
		return nil
	}
}

// events of a small run: 2 bands, band 1 redrawn once.
func events(t *testing.T) ([]protocol.Event, engine.Result) {
	t.Helper()
	b := engine.FuncBackend{Bands: 2, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				emit("a thought about band ")
				emit(strings.Repeat("x", req.Band+1))
				return "", nil
			}),
			Painter: tokenPainter(func(req engine.PaintRequest, r int) []int {
				return slices.Repeat([]int{1 + req.Round*20 + r}, tokens.Grid)
			}),
			Critic: engine.CriticFunc(func(_ context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				if req.Band == 1 && req.Round == 0 {
					return engine.Critique{Score: 10, Parsed: true, Revision: "better"}, nil
				}
				return engine.Critique{Score: 99, Parsed: true}, nil
			}),
		}, nil
	}}
	var evs []protocol.Event
	res, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "p", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error { evs = append(evs, ev); return nil })
	if err != nil {
		t.Fatal(err)
	}
	return evs, res
}

func TestRebuild(t *testing.T) {
	evs, res := events(t)
	film, err := render.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(film.Canvas.Tokens, res.Tokens) || !bytes.Equal(film.Canvas.Pix, res.Canvas.Pix) || film.Done == nil || film.Prompt != "p" {
		t.Fatal("rebuilt canvas differs")
	}
	// Frames: start, per band thought + rows + critiques, the redraw, end.
	want := 1 + 2 + tokens.Grid + 3 + 1 + 8 + 1
	if len(film.Frames) != want {
		t.Errorf("%d frames, want %d", len(film.Frames), want)
	}
	// The frame at band_redrawn shows band 1 undrawn, band 0 intact.
	for _, fr := range film.Frames {
		if strings.Contains(fr.Title, "redraw 1") {
			if fr.Canvas[8*tokens.Grid] != -1 || fr.Canvas[7*tokens.Grid] == -1 || fr.Text != "better" {
				t.Errorf("redraw frame %+v", fr.Title)
			}
		}
	}
	// A failed run rebuilds too, its last frame says so.
	evs2 := append(slices.Clone(evs[:10]), protocol.Event{V: protocol.Version, RunID: evs[0].RunID, Seq: 10,
		Payload: &protocol.Error{Code: "canceled", Message: "stop"}})
	film, err = render.Rebuild(evs2)
	if err != nil || film.Failure == nil || !strings.Contains(film.Frames[len(film.Frames)-1].Title, "failed") {
		t.Errorf("failed run: %v", err)
	}
}

func TestRebuildRejects(t *testing.T) {
	evs, _ := events(t)
	damaged := slices.Clone(evs)
	last := *damaged[len(damaged)-1].Payload.(*protocol.RunDone)
	last.Tokens = slices.Clone(last.Tokens)
	last.Tokens[0] = 99
	damaged[len(damaged)-1].Payload = &last
	damagedPNG := slices.Clone(evs)
	lastPNG := *damagedPNG[len(damagedPNG)-1].Payload.(*protocol.RunDone)
	whole := *evs[len(evs)-1].Payload.(*protocol.RunDone)
	wholePNG, _ := whole.EncodedPNG() // a native run's, from its source
	b, _ := base64.StdEncoding.DecodeString(wholePNG)
	c, _ := canvas.Decode(b, 256, 256)
	c.Pix[0] ^= 1 // one pixel off
	png, _ := c.EncodePNG()
	lastPNG.PNG = base64.StdEncoding.EncodeToString(png)
	damagedPNG[len(damagedPNG)-1].Payload = &lastPNG
	other := slices.Clone(evs)
	other[3].RunID = "someone else"
	for name, tc := range map[string]struct {
		evs []protocol.Event
		msg string
	}{
		"empty":       {nil, "no run_started"},
		"no start":    {evs[1:], "begin with band_started"},
		"gap":         {slices.Delete(slices.Clone(evs), 4, 5), "jump from seq 3 to 5"},
		"two runs":    {other, "one trace, one run"},
		"damaged":     {damaged, "do not rebuild"},
		"damaged png": {damagedPNG, "do not rebuild"},
		"after done":  {append(slices.Clone(evs), protocol.Event{V: protocol.Version, RunID: evs[0].RunID, Seq: int64(len(evs)), Payload: &protocol.BandDone{}}), "after the run ended"},
		"bad version": {[]protocol.Event{{V: "twig/0"}}, "speaks"},
	} {
		if _, err := render.Rebuild(tc.evs); err == nil || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: err %v, want %q", name, err, tc.msg)
		}
	}
}

func TestWriteGIFAndPNG(t *testing.T) {
	evs, res := events(t)
	film, err := render.Rebuild(evs)
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := render.WriteGIF(&buf, film); err != nil {
		t.Fatal(err)
	}
	g, err := gif.DecodeAll(bytes.NewReader(buf.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != len(film.Frames) || g.Config.Width != render.Side || g.Config.Height != render.Side+render.CaptionH {
		t.Errorf("gif: %d frames %dx%d", len(g.Image), g.Config.Width, g.Config.Height)
	}
	for i, fr := range film.Frames { // the streamed GIF keeps every frame's delay
		if i < len(g.Delay) && g.Delay[i] != fr.Delay {
			t.Errorf("frame %d: delay %d, want %d", i, g.Delay[i], fr.Delay)
		}
	}
	// The last frame's picture is the final canvas's smooth picture: every
	// pixel whose colour the palette holds, exactly; the rest (anti-aliased
	// mixes the ramps do not hold: this canvas is rows of touching colours)
	// at most 10 % of the picture.
	pic := render.Smooth(res.Tokens, render.Side)
	lastFrame := g.Image[len(g.Image)-1]
	inPalette := map[[3]uint32]bool{}
	for _, c := range lastFrame.Palette {
		r, g, b, _ := c.RGBA()
		inPalette[[3]uint32{r, g, b}] = true
	}
	off := 0
	for y := 0; y < render.Side; y++ {
		for x := 0; x < render.Side; x++ {
			r1, g1, b1, _ := pic.At(x, y).RGBA()
			r2, g2, b2, _ := lastFrame.At(x, y).RGBA()
			if r1 == r2 && g1 == g2 && b1 == b2 {
				continue
			}
			off++
			if inPalette[[3]uint32{r1, g1, b1}] {
				t.Fatalf("pixel (%d,%d) is a palette colour yet differs in the last frame", x, y)
			}
		}
	}
	if off*10 > render.Side*render.Side {
		t.Errorf("%d pixels of the last frame differ from the picture", off)
	}
	buf.Reset()
	if err := render.WritePNG(&buf, res.Tokens); err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(&buf)
	if err != nil || img.Bounds().Dx() != render.Side {
		t.Errorf("png: %v %v", err, img.Bounds())
	}
}

// TestCaptionsInEnglish: the GIF's captions give thoughts in plain English
// (rows from 1, what the prompt left open); prose thoughts stay as written.
func TestCaptionsInEnglish(t *testing.T) {
	for _, c := range []struct{ thought, want string }{
		{"rows 0 7 : new small solid red circle at 0 2", "Rows 1–8: a small solid red circle starting at row 1, column 3 (size and stripes chosen by the model)"},
		{"a red circle at the top", "a red circle at the top"},
	} {
		b := engine.FuncBackend{Bands: 2, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
			return engine.Roles{
				Thinker: engine.ThinkerFunc(func(_ context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
					emit(c.thought)
					return c.thought, nil
				}),
				Painter: tokenPainter(func(engine.PaintRequest, int) []int { return slices.Repeat([]int{0}, tokens.Grid) }),
			}, nil
		}}
		var evs []protocol.Event
		s := engine.DefaultSettings()
		s.Reflect = false
		if _, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red circle", Settings: s},
			func(ev protocol.Event) error { evs = append(evs, ev); return nil }); err != nil {
			t.Fatal(err)
		}
		film, err := render.Rebuild(evs)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, fr := range film.Frames {
			if strings.HasSuffix(fr.Title, "thinking") {
				found = true
				if fr.Text != c.want {
					t.Errorf("%q: caption %q, want %q", c.thought, fr.Text, c.want)
				}
			}
		}
		if !found {
			t.Errorf("%q: no thinking frame", c.thought)
		}
	}
}
