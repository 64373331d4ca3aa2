package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// pixelBackend is a backend whose painter is an image model of its own
// size (an engine.Sizer, not a TokenModel): it paints each band in one
// strip of a colour made from the band's start row, thinks "a sky of
// clouds" and scores 70. It keeps the last request of each role.
type pixelBackend struct {
	engine.FuncBackend
	g engine.Geometry

	mu       sync.Mutex
	paint    *engine.PaintRequest
	critique *engine.CritiqueRequest
}

func (b *pixelBackend) Geometry() engine.Geometry { return b.g }

func newPixelBackend(w, h int) *pixelBackend {
	b := &pixelBackend{g: engine.Geometry{Width: w, Height: h, Unit: 8}}
	b.FuncBackend = engine.FuncBackend{Bands: 3, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				emit("a sky ")
				emit("of clouds")
				return "a sky of clouds", nil
			}),
			Painter: painterOf(b),
			Critic: engine.CriticFunc(func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				b.mu.Lock()
				b.critique = &req
				b.mu.Unlock()
				return engine.Critique{Score: 70, Parsed: true, Revision: "more clouds"}, nil
			}),
		}, nil
	}}
	return b
}

// bandPainter paints a band in one strip (an engine.Sizer: its canvas is b.g).
type bandPainter struct{ b *pixelBackend }

func painterOf(b *pixelBackend) bandPainter { return bandPainter{b} }

func (p bandPainter) Geometry() engine.Geometry { return p.b.g }

func (p bandPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	p.b.mu.Lock()
	p.b.paint = &req
	p.b.mu.Unlock()
	end := req.Rows.End
	if end < 0 {
		end = req.Canvas.H
	}
	s := canvas.Strip{Rows: protocol.Rows{Start: req.Rows.Start, End: end}, W: req.Canvas.W}
	s.Pix = make([]uint8, 4*s.W*(end-req.Rows.Start))
	for i := 0; i < len(s.Pix); i += 4 {
		px := i / 4 % s.W
		s.Pix[i], s.Pix[i+1], s.Pix[i+2], s.Pix[i+3] = uint8(req.Rows.Start), uint8(px), 200, 255
	}
	onStrip(s)
	return nil
}

// With a backend whose painter paints pictures, the endpoints answer
// pictures at the painter's size and decide nothing from thoughts: a
// generation is the canvas (640×480), an edit keeps every row outside the
// mask's bit for bit, and a critique's rows are the schedule's even when
// its thought starts like the embedded model's header.
func TestPixelEndpoints(t *testing.T) {
	b := newPixelBackend(640, 480)
	hs := newAPI(t, b)
	status, out := post(t, hs.URL+"/v1/images/generations", `{"prompt":"clouds over a field of wheat","twig":{"seed":1}}`)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	img := itemPicture(t, out)
	if img.Bounds() != image.Rect(0, 0, 640, 480) {
		t.Fatalf("generation: %v, want the painter's 640×480", img.Bounds())
	}
	// plan [0,160) [160,320) [320,480): each band its own colour
	for _, y := range []int{0, 159, 160, 479} {
		want := uint8([]int{0, 0, 160, 64}[map[int]int{0: 0, 159: 1, 160: 2, 479: 3}[y]]) // 320 & 255 = 64
		if r, _, _, _ := img.At(5, y).RGBA(); uint8(r>>8) != want {
			t.Errorf("row %d has red %d, want %d", y, r>>8, want)
		}
	}

	// an edit at another size (320×240) with a mask over rows [60, 120)
	pic := image.NewNRGBA(image.Rect(0, 0, 320, 240))
	for i := range pic.Pix {
		pic.Pix[i] = uint8(i * 7)
	}
	for i := 3; i < len(pic.Pix); i += 4 {
		pic.Pix[i] = 255
	}
	mask := image.NewNRGBA(pic.Rect)
	for y := 0; y < 240; y++ {
		for x := 0; x < 320; x++ {
			if y < 60 || y >= 120 {
				mask.SetNRGBA(x, y, color.NRGBA{A: 255})
			}
		}
	}
	out = editPixels(t, hs.URL, pic, mask, "Prompt: clouds\nThought: rows 0 15 : new red circle")
	got := itemPicture(t, out)
	if got.Bounds() != pic.Rect {
		t.Fatalf("edit: %v, want the picture's %v", got.Bounds(), pic.Rect)
	}
	for y := 0; y < 240; y++ {
		same := true
		for x := 0; x < 320 && same; x++ {
			same = color.NRGBAModel.Convert(got.At(x, y)) == pic.At(x, y)
		}
		if inBand := y >= 60 && y < 120; same == inBand {
			t.Fatalf("row %d: unchanged %v, in the band %v", y, same, inBand)
		}
	}
	b.mu.Lock()
	paint := *b.paint
	b.mu.Unlock()
	if paint.Rows != (protocol.Rows{Start: 120, End: 240}) || paint.Canvas.W != 640 || !paint.Canvas.Painted[119] || paint.Canvas.Painted[120] {
		t.Errorf("painted rows %+v of a %d-wide canvas (row 119 painted %v, 120 %v): want the band on the painter's 640×480, the rows above it only",
			paint.Rows, paint.Canvas.W, paint.Canvas.Painted[119], paint.Canvas.Painted[120])
	}

	// a critique: the thought's header is not read; band 1 of the schedule
	url := "data:image/png;base64," + base64.StdEncoding.EncodeToString(encodeNRGBA(t, itemPicture(t, out)))
	status, out = post(t, hs.URL+"/v1/chat/completions", `{"model":"twig-critic","messages":[{"role":"user","content":[{"type":"text","text":"clouds"},{"type":"image_url","image_url":{"url":"`+url+`"}}]},{"role":"assistant","content":"sky"},{"role":"assistant","content":"rows 0 15 : new red circle"}]}`)
	if status != 200 {
		t.Fatalf("critique: %d %v", status, out)
	}
	b.mu.Lock()
	cr := *b.critique
	b.mu.Unlock()
	if cr.Rows != (protocol.Rows{Start: 160, End: 320}) || cr.Canvas.W != 640 || !cr.Canvas.Painted[319] || cr.Canvas.Painted[320] {
		t.Errorf("critiqued rows %+v on a %d-wide canvas: want band 1 of the painter's schedule [160,320), the rows below cleared", cr.Rows, cr.Canvas.W)
	}
}

// A picture over a call's canvas bound (2048²) is refused by the pixel
// edit in one line, before any canvas is made of it.
func TestPixelEditTooBig(t *testing.T) {
	hs := newAPI(t, newPixelBackend(640, 480))
	big := image.NewNRGBA(image.Rect(0, 0, 2049, 2048))
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("image", "canvas.png")
	fw.Write(encodeNRGBA(t, big))
	mw.WriteField("prompt", "clouds")
	mw.Close()
	resp, err := http.Post(hs.URL+"/v1/images/edits", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var e struct {
		Error struct{ Code, Message string }
	}
	json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 400 || e.Error.Code != "invalid_image" || !strings.Contains(e.Error.Message, "2049×2048") {
		t.Fatalf("%d %+v, want 400 invalid_image naming the size", resp.StatusCode, e.Error)
	}
}

func itemPicture(t *testing.T, out map[string]any) image.Image {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(out["data"].([]any)[0].(map[string]any)["b64_json"].(string))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return img
}

func encodeNRGBA(t *testing.T, img image.Image) []byte {
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func editPixels(t *testing.T, base string, pic, mask image.Image, prompt string) map[string]any {
	t.Helper()
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("image", "canvas.png")
	fw.Write(encodeNRGBA(t, pic))
	fw, _ = mw.CreateFormFile("mask", "mask.png")
	fw.Write(encodeNRGBA(t, mask))
	mw.WriteField("prompt", prompt)
	mw.Close()
	resp, err := http.Post(base+"/v1/images/edits", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("edit: %d %s", resp.StatusCode, b)
	}
	return out
}
