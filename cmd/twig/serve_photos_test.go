package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	idraw "image/draw"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/remote/remotetest"
)

// photoKey is the provider key photoServe gives the server.
const photoKey = "sk-photo-serve-0123456789"

// photoServe starts `twig serve --backend openai --base-url` the photo
// provider (whose image model answers 1024×1024 photographs) and returns
// its address; it drains when the test ends. Role calls carry the canvas
// as a PNG: with a painter of pictures the server's default message limit
// has room for one (no --max-message-bytes here).
func photoServe(t testing.TB, prov *remotetest.Provider) string {
	t.Helper()
	t.Setenv("OPENAI_API_KEY", photoKey)
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, backend: defaultBackend}
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() {
		code <- run(ctx, e, []string{"serve", "--addr", "127.0.0.1:0", "--grace", "1s", "--backend", "openai", "--base-url", prov.URL})
	}()
	t.Cleanup(func() {
		stop()
		if c := <-code; c != exitOK {
			t.Errorf("serve exit %d, stderr %q", c, errb.String())
		}
	})
	re := regexp.MustCompile(`listening on http://([0-9.:]+)`)
	for deadline := time.Now().Add(time.Minute); ; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			return m[1]
		}
		if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", out.String(), errb.String())
		}
	}
}

// sseEvents posts a twig message to an SSE endpoint and reads its events.
func sseEvents(t testing.TB, url string, msg any) []protocol.Event {
	t.Helper()
	body, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		b, _ := io.ReadAll(resp.Body)
		t.Fatalf("%s: %d %s", url, resp.StatusCode, b)
	}
	var evs []protocol.Event
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(nil, 64<<20)
	for sc.Scan() {
		if line, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			ev, err := protocol.Decode([]byte(line))
			if err != nil {
				t.Fatal(err)
			}
			evs = append(evs, ev)
		}
	}
	return evs
}

// TestServePhotoCalls: POST /v1/calls on twig serve --backend openai. The
// model list announces the painter's canvas (the provider's 1024×1024); a
// paint call that gives no size is on it, and its stream is one twig/2
// strip of the photo's width and the band's rows; a paint call carrying
// the canvas so far (canvas_png) paints the next band only; a think call
// sees the picture and streams prose.
func TestServePhotoCalls(t *testing.T) {
	prov := remotetest.New(t, 1024)
	base := "http://" + photoServe(t, prov) + "/v1"

	resp, err := http.Get(base + "/models")
	if err != nil {
		t.Fatal(err)
	}
	var models struct {
		Data []struct {
			ID   string
			Twig *struct{ Canvas map[string]int }
		}
	}
	json.NewDecoder(resp.Body).Decode(&models)
	resp.Body.Close()
	var painter map[string]int
	for _, m := range models.Data {
		if m.ID == "twig-painter" && m.Twig != nil {
			painter = m.Twig.Canvas
		}
	}
	if painter["width"] != 1024 || painter["height"] != 1024 || painter["unit"] != 8 || painter["grid"] != 0 {
		t.Fatalf("GET /v1/models: the painter's canvas %v, want 1024×1024 in units of 8", painter)
	}

	paint := func(id string, rows protocol.Rows, canvasPNG string) (canvas.Strip, *protocol.CallDone) {
		t.Helper()
		req := protocol.CallRequest{Prompt: "a dune at dusk, photographed with a long lens", Rows: rows, Thought: "the sky over the dune",
			Settings: protocol.DefaultSettings()}
		if canvasPNG != "" {
			req.Width, req.Height, req.CanvasPNG = 1024, 1024, canvasPNG
			req.Band, req.Thoughts = 1, []string{"the sky"}
		}
		evs := sseEvents(t, base+"/calls", protocol.Message{ID: id, Body: &protocol.Call{Role: protocol.RolePaint, Request: req}})
		if len(evs) != 2 {
			t.Fatalf("paint call %s: %d events %+v, want one call_strip and call_done", id, len(evs), evs)
		}
		cs, ok := evs[0].Payload.(*protocol.CallStrip)
		done, ok2 := evs[1].Payload.(*protocol.CallDone)
		if !ok || !ok2 {
			t.Fatalf("paint call %s: %s then %s", id, evs[0].Type, evs[1].Type)
		}
		if cs.Rows != rows || cs.Tokens != nil || done.Rows == nil || *done.Rows != rows {
			t.Fatalf("paint call %s: strip rows %+v tokens %v, done %+v; want rows %+v and no tokens", id, cs.Rows, cs.Tokens, done, rows)
		}
		s, err := canvas.DecodeBase64(cs.PNG, cs.Rows, 1024, nil)
		if err != nil {
			t.Fatalf("paint call %s: the strip is not a 1024-wide PNG of its rows: %v", id, err)
		}
		return s, done
	}
	top, _ := paint("c1", protocol.Rows{Start: 0, End: 344}, "")
	pic, _ := canvas.New(1024, 1024)
	if err := pic.Put(top); err != nil {
		t.Fatal(err)
	}
	if n := remotetest.Colours(pic.Image().SubImage(image.Rect(0, 0, 1024, 344))); n < 10000 {
		t.Fatalf("the strip has %d colours, want a photograph's", n)
	}
	url, err := pic.DataURL()
	if err != nil {
		t.Fatal(err)
	}
	mid, _ := paint("c2", protocol.Rows{Start: 344, End: 688}, url)
	if err := pic.Put(mid); err != nil {
		t.Fatal(err)
	}
	edits := prov.Edits()
	if len(edits) != 2 || edits[1].ImageW != 1024 || len(edits[1].MaskRows) != 1 || edits[1].MaskRows[0] != [2]int{344, 688} {
		t.Fatalf("the provider's edits: %+v, want two, the second masking rows 344–687 of a 1024 picture", edits)
	}

	// a think call over the picture so far: prose, streamed
	url, _ = pic.DataURL()
	evs := sseEvents(t, base+"/calls", protocol.Message{ID: "c3", Body: &protocol.Call{Role: protocol.RoleThink, Request: protocol.CallRequest{
		Prompt: "a dune at dusk", Band: 2, Thoughts: []string{"the sky", "the dune"}, Rows: protocol.Rows{Start: 688, End: 1024},
		Width: 1024, Height: 1024, CanvasPNG: url, Settings: protocol.DefaultSettings()}}})
	done, ok := evs[len(evs)-1].Payload.(*protocol.CallDone)
	if !ok || done.Thought == nil || len(strings.Fields(done.Thought.Text)) < 3 || len(evs) < 3 {
		t.Fatalf("think call: %d events, last %+v", len(evs), evs[len(evs)-1])
	}
	chats := prov.Chats()
	if c := chats[len(chats)-1]; c.ImageW == 0 || c.Colours < 1000 {
		t.Errorf("the thinker saw a %d-px picture of %d colours: want the photo so far", c.ImageW, c.Colours)
	}

	// a run over POST /v1/runs: a PNG strip a band, at the provider's width
	s := protocol.DefaultSettings()
	s.Bands, s.Think, s.Reflect = 2, false, false
	evs = sseEvents(t, base+"/runs", protocol.Message{ID: "r1", Body: &protocol.Start{Prompt: "a dune at dusk", Settings: s}})
	strips := 0
	for _, ev := range evs {
		switch p := ev.Payload.(type) {
		case *protocol.RunStarted:
			if p.Width != 1024 || p.Height != 1024 {
				t.Errorf("run_started: %d×%d, want 1024×1024", p.Width, p.Height)
			}
		case *protocol.BandProgress:
			if _, err := canvas.DecodeBase64(p.PNG, p.Rows, 1024, nil); err != nil || p.Tokens != nil {
				t.Errorf("band_progress rows %+v: %v (tokens %v)", p.Rows, err, p.Tokens)
			}
			strips++
		}
	}
	if last := evs[len(evs)-1]; last.Type != protocol.TypeRunDone || strips != 2 {
		t.Errorf("/v1/runs: %d strips, last event %s; want 2 strips and run_done", strips, last.Type)
	}
}

// TestServePhotoImages: the OpenAI-compatible endpoints of twig serve
// --backend openai give the provider's pictures: a generation is a whole
// run whose PNG is 1024×1024 with a photograph's colours; an edit of the
// rows a mask marks gives back every other row bit for bit and new rows
// in the band; the critic reads the picture and answers a JSON score.
func TestServePhotoImages(t *testing.T) {
	prov := remotetest.New(t, 1024)
	base := "http://" + photoServe(t, prov) + "/v1"
	gen := postJSON(t, base+"/images/generations", `{"prompt":"a dune at dusk, photographed with a long lens","twig":{"seed":7,"settings":{"bands":3}}}`)
	pic := decodeItem(t, gen)
	if b := pic.Bounds(); b != image.Rect(0, 0, 1024, 1024) {
		t.Fatalf("the generated picture is %v, want the provider's 1024×1024", b)
	}
	if n := remotetest.Colours(pic); n < 10000 {
		t.Fatalf("the generated picture has %d colours, want a photograph's (over 10 000)", n)
	}
	small := decodeItem(t, postJSON(t, base+"/images/generations", `{"prompt":"a dune","size":"512x512","twig":{"settings":{"bands":2,"think":false,"reflect":false}}}`))
	if small.Bounds().Dx() != 512 {
		t.Errorf("size 512x512 gave a %v picture", small.Bounds())
	}

	// an edit of rows [344, 688): a mask transparent there
	mask := image.NewNRGBA(image.Rect(0, 0, 1024, 1024))
	idraw.Draw(mask, image.Rect(0, 0, 1024, 344), image.NewUniform(color.Black), image.Point{}, idraw.Src)
	idraw.Draw(mask, image.Rect(0, 688, 1024, 1024), image.NewUniform(color.Black), image.Point{}, idraw.Src)
	before := len(prov.Edits())
	var picPNG, maskPNG bytes.Buffer
	png.Encode(&picPNG, pic)
	png.Encode(&maskPNG, mask)
	var body bytes.Buffer
	mw := multipart.NewWriter(&body)
	fw, _ := mw.CreateFormFile("image", "canvas.png")
	fw.Write(picPNG.Bytes())
	fw, _ = mw.CreateFormFile("mask", "mask.png")
	fw.Write(maskPNG.Bytes())
	mw.WriteField("prompt", "Prompt: a dune at dusk\nThought: a storm rolls over the middle of the picture")
	mw.Close()
	resp, err := http.Post(base+"/images/edits", mw.FormDataContentType(), &body)
	if err != nil {
		t.Fatal(err)
	}
	var edit map[string]any
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || json.Unmarshal(b, &edit) != nil {
		t.Fatalf("edit: %d %s", resp.StatusCode, b)
	}
	out := decodeItem(t, edit)
	if out.Bounds() != pic.Bounds() {
		t.Fatalf("the edit gave a %v picture for a %v one", out.Bounds(), pic.Bounds())
	}
	changed := 0
	for y := 0; y < 1024; y++ {
		same := true
		for x := 0; x < 1024 && same; x++ {
			same = color.NRGBAModel.Convert(out.At(x, y)) == color.NRGBAModel.Convert(pic.At(x, y))
		}
		switch {
		case (y < 344 || y >= 688) && !same:
			t.Fatalf("the edit changed row %d, outside the mask's rows 344–687", y)
		case y >= 344 && y < 688 && !same:
			changed++
		}
	}
	if changed < 300 {
		t.Errorf("the edit changed %d of the band's 344 rows", changed)
	}
	if e := prov.Edits(); len(e) != before+1 || e[len(e)-1].ImageW != 1024 || len(e[len(e)-1].MaskRows) != 1 || e[len(e)-1].MaskRows[0] != [2]int{344, 688} {
		t.Errorf("the provider's edits: %+v, want one more, masking rows 344–687", e[before:])
	}

	// the critic reads the picture (pixel rows of the painter's canvas)
	var picURL = "data:image/png;base64," + base64.StdEncoding.EncodeToString(picPNG.Bytes())
	chat := postJSON(t, base+"/chat/completions", `{"model":"twig-critic","messages":[{"role":"user","content":[{"type":"text","text":"a dune at dusk"},{"type":"image_url","image_url":{"url":"`+picURL+`"}}]},{"role":"assistant","content":"the sky over the dune"}]}`)
	content := chat["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	var score struct{ Score *int }
	if json.Unmarshal([]byte(content), &score) != nil || score.Score == nil {
		t.Fatalf("critique content %q: want a JSON score", content)
	}
	rows := chat["twig"].(map[string]any)["rows"].(map[string]any)
	if rows["start"].(float64) != 0 || rows["end"].(float64) != 344 {
		t.Errorf("the critique judged rows %v, want band 0 of the painter's schedule [0,344)", rows)
	}
	chats := prov.Chats()
	if c := chats[len(chats)-1]; !c.Critic || c.ImageW == 0 || c.Colours < 1000 {
		t.Errorf("the critic saw a %d-px picture of %d colours: want the photo", c.ImageW, c.Colours)
	}
}

// TestDrawTwigChain: twig draw --backend twig against twig serve
// --backend openai (a remote twig chain: the local engine plays every role
// through the server's POST /v1/calls): the picture is the provider's size
// and colours, band by band, as on the server itself.
func TestDrawTwigChain(t *testing.T) {
	prov := remotetest.New(t, 1024)
	base := "http://" + photoServe(t, prov) + "/v1"
	out := filepath.Join(t.TempDir(), "out")
	o := twig(t, defaultBackend, "draw", "--backend", "twig", "--base-url", base, "--bands", "3", "--out", out, "a dune at dusk")
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	img, err := png.Decode(bytes.NewReader(read(t, filepath.Join(out, imageFile))))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b != image.Rect(0, 0, 1024, 1024) {
		t.Fatalf("image.png is %v, want the provider's 1024×1024", b)
	}
	if n := remotetest.Colours(img); n < 10000 {
		t.Fatalf("image.png has %d colours, want a photograph's", n)
	}
	if e := prov.Edits(); len(e) < 3 || e[0].ImageW != 1024 {
		t.Fatalf("the provider's edits %+v: want one a band at 1024", e)
	}
}

func postJSON(t testing.TB, url, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var out map[string]any
	if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil {
		t.Fatalf("%s: %d %.300s", url, resp.StatusCode, b)
	}
	return out
}

// decodeItem decodes the first picture of an images answer.
func decodeItem(t testing.TB, out map[string]any) image.Image {
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
