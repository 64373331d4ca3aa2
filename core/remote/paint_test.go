package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"mime"
	"mime/multipart"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// editForm reads a recorded images/edits request.
func editForm(t *testing.T, s seen) (map[string]string, map[string]image.Image) {
	t.Helper()
	_, params, err := mime.ParseMediaType(s.header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	form, err := multipart.NewReader(bytes.NewReader(s.body), params["boundary"]).ReadForm(1 << 20)
	if err != nil {
		t.Fatal(err)
	}
	vals := map[string]string{}
	for k, v := range form.Value {
		vals[k] = v[0]
	}
	pics := map[string]image.Image{}
	for k, fs := range form.File {
		f, _ := fs[0].Open()
		img, _, err := image.Decode(f)
		if err != nil {
			t.Fatalf("%s: %v", k, err)
		}
		pics[k] = img
	}
	return vals, pics
}

// imagesAnswer is an images API answer holding the picture of t at side px.
func imagesAnswer(t *testing.T, tok tokens.Tokens, side int) string {
	b, err := encodePNG(picture(tok, side))
	if err != nil {
		t.Fatal(err)
	}
	j, _ := json.Marshal(map[string]any{"created": 1713833628, "data": []any{map[string]any{"b64_json": base64.StdEncoding.EncodeToString(b), "revised_prompt": nil}},
		"usage": map[string]any{"total_tokens": 100, "input_tokens": 50, "output_tokens": 50}})
	return string(j)
}

func TestEditPainter(t *testing.T) {
	full := scene.Render(testScene)
	u := newUpstream(t, answer{body: imagesAnswer(t, full, 1024)})
	o := fastOptions(nil)
	o.EditSize = "512x512"
	p, err := NewEditPainter(u.endpoint("dall-e-2"), o, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := state(1)
	st.Thoughts = []string{"a small red circle on the left"}
	var strips []canvas.Strip
	got := st.Canvas.Clone()
	err = p.PaintBand(context.Background(), engine.PaintRequest{State: st, Thought: "a large striped blue square begins in the centre"}, func(s canvas.Strip) {
		strips = append(strips, s)
		if err := got.Put(s); err != nil {
			t.Fatal(err)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(strips) != 1 || strips[0].Rows != st.Rows || strips[0].Tokens != nil {
		t.Fatalf("strips %+v, want the band's rows as one strip without tokens", len(strips))
	}
	back := tokens.FromPicture(got.Image())
	for i := 6 * tokens.Grid; i < 11*tokens.Grid; i++ {
		if back[i] != full[i] {
			t.Fatalf("cell %d: %d, want %d (a 1024-px answer must read back exactly)", i, back[i], full[i])
		}
	}
	if !bytes.Equal(got.Pix[:4*256*96], st.Canvas.Pix[:4*256*96]) || !bytes.Equal(got.Pix[4*256*176:], st.Canvas.Pix[4*256*176:]) {
		t.Fatal("pixels outside the band changed")
	}
	vals, pics := editForm(t, u.requests()[0])
	if vals["model"] != "dall-e-2" || vals["size"] != "512x512" || vals["response_format"] != "b64_json" || vals["n"] != "1" || vals["twig"] != "" {
		t.Errorf("fields %v", vals)
	}
	for _, w := range []string{"Prompt: a red circle above a blue square", "Thoughts: a small red circle on the left", "Thought: a large striped blue square", "from 37% to 68% of the picture's height"} {
		if !strings.Contains(vals["prompt"], w) {
			t.Errorf("prompt lacks %q:\n%s", w, vals["prompt"])
		}
	}
	img, mask := pics["image"], pics["mask"]
	if img.Bounds().Dx() != 512 || mask.Bounds() != img.Bounds() {
		t.Fatalf("image %v mask %v", img.Bounds(), mask.Bounds())
	}
	if back := tokens.FromPicture(img); !slices.Equal(back, tokens.Tokens(st.Canvas.Tokens)) {
		t.Error("the image sent is not the canvas so far")
	}
	for y := 0; y < 512; y += 8 {
		_, _, _, a := mask.At(100, y).RGBA()
		if in := y >= 6*32 && y < 11*32; in != (a == 0) {
			t.Fatalf("mask row %d alpha %d: transparent must be exactly the band's rows", y, a)
		}
	}
}

func TestEditPainterAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no data", `{"created":1,"data":[]}`, "has no data"},
		{"not a picture", `{"created":1,"data":[{"b64_json":"aGVsbG8="}]}`, "not a PNG, JPEG, GIF or WebP"},
		{"data url", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			body := tc.body
			if body == "" {
				b, _ := encodePNG(picture(scene.Render(testScene), 256))
				body = fmt.Sprintf(`{"created":1,"data":[{"url":"data:image/png;base64,%s"}]}`, base64.StdEncoding.EncodeToString(b))
			}
			u := newUpstream(t, answer{body: body})
			p, _ := NewEditPainter(u.endpoint("gpt-image-1"), fastOptions(nil), nil)
			n := 0
			err := p.PaintBand(context.Background(), engine.PaintRequest{State: state(0)}, func(canvas.Strip) { n++ })
			if tc.want == "" {
				if err != nil || n != 1 {
					t.Fatalf("%v, %d strips", err, n)
				}
				if vals, _ := editForm(t, u.requests()[0]); vals["response_format"] != "" {
					t.Error("gpt-image models take no response_format")
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "painter at") {
				t.Fatalf("error %v, want %q", err, tc.want)
			}
		})
	}
}

// callStream is a /v1/calls answer: the events of one call as SSE.
func callStream(id string, payloads ...protocol.Payload) string {
	var b strings.Builder
	for i, p := range payloads {
		ev := protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: id, Seq: int64(i), Payload: p}
		j, _ := json.Marshal(ev)
		fmt.Fprintf(&b, "data: %s\n\n", j)
	}
	return b.String()
}

func TestTwigCaller(t *testing.T) {
	full := scene.Render(testScene)
	var payloads []protocol.Payload
	whole := tokenCanvas(full)
	for r := 0; r < 6; r++ {
		s, _ := whole.Strip(protocol.Rows{Start: 16 * r, End: 16 * (r + 1)})
		png, _ := s.Base64()
		payloads = append(payloads, &protocol.CallStrip{Rows: s.Rows, PNG: png, Tokens: s.Tokens})
	}
	rows := protocol.Rows{Start: 0, End: 96}
	payloads = append(payloads, &protocol.CallDone{Role: "paint", Rows: &rows})
	sse := map[string]string{"Content-Type": "text/event-stream"}
	u := newUpstream(t,
		answer{status: 429, header: map[string]string{"Retry-After": "1"}, body: `{"error":{"message":"your address has 16 requests in flight, the limit: wait for one to end","type":"rate_limit_error","param":null,"code":"too_many_requests"}}`},
		answer{header: sse, body: callStream("x", payloads...)},
		answer{header: sse, body: callStream("x", &protocol.CallDelta{Text: "rows 0 5 :"}, &protocol.CallDelta{Text: " empty"},
			&protocol.CallDone{Role: "think", Thought: &protocol.ThoughtResult{Text: "rows 0 5 : empty", Tokens: 2}})},
		answer{header: sse, body: callStream("x", &protocol.Error{Code: "critic_failed", Message: "engine: band 0: critiquing: boom"})},
	)
	var waits []time.Duration
	tc, err := NewTwigCaller("painter", u.endpoint(""), fastOptions(&waits))
	if err != nil {
		t.Fatal(err)
	}
	var got []int
	if err := tc.PaintBand(context.Background(), engine.PaintRequest{State: state(0), Thought: "t"}, func(s canvas.Strip) { got = append(got, s.Tokens...) }); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, []int(full[:6*tokens.Grid])) || len(waits) != 1 || waits[0] != time.Second {
		t.Errorf("rows %d tokens, waits %v", len(got), waits)
	}
	var m map[string]any
	json.Unmarshal(u.requests()[1].body, &m)
	if m["v"] != "twig/2" || m["type"] != "call" || m["role"] != "paint" || u.requests()[1].path != "/v1/calls" {
		t.Errorf("call message %v", m)
	}
	if _, err := protocol.DecodeMessage(u.requests()[1].body); err != nil {
		t.Errorf("the call message does not decode strictly: %v", err)
	}
	var deltas []string
	th, err := tc.Think(context.Background(), engine.ThinkRequest{State: state(0)}, func(d string) { deltas = append(deltas, d) })
	if err != nil || th != "rows 0 5 : empty" || len(deltas) != 2 {
		t.Errorf("think %q %v %q", th, err, deltas)
	}
	_, err = tc.Critique(context.Background(), engine.CritiqueRequest{State: drawn(state(0)), Thought: "t"})
	if err == nil || !strings.Contains(err.Error(), "critic_failed") || !strings.Contains(err.Error(), "boom") {
		t.Errorf("critique error %v", err)
	}
}
