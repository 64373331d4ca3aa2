package httpapi

import (
	"bufio"
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// recorder backend: thoughts are "rows A B : new red circle", rows are all
// token 7, critiques score 40; it keeps the last request of each role.
type recording struct {
	mu       sync.Mutex
	think    *engine.ThinkRequest
	paint    *engine.PaintRequest
	critique *engine.CritiqueRequest
	thinks   int
}

// tokenBackend is a token model's backend for the tests: it reads pictures
// and thoughts with the world's code, as package model's Model does.
type tokenBackend struct{ engine.FuncBackend }

func (tokenBackend) TokensOf(img image.Image) []int { return tokens.FromPicture(img) }

func (tokenBackend) ThoughtRows(text string) (int, int, bool) {
	_, r0, r1, _ := thought.ParseThought(text)
	return r0, r1, r0 >= 0 && r1 > r0
}

func (r *recording) backend() engine.Backend {
	return tokenBackend{engine.FuncBackend{Bands: 3, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				r.mu.Lock()
				r.think = &req
				r.thinks++
				r.mu.Unlock()
				end := req.Rows.End / 16 // the embedded model's token rows
				words := []string{"rows", fmt.Sprint(req.Rows.Start / 16), fmt.Sprint(end - 1), ":", "new", "red", "circle"}
				for _, w := range words {
					emit(w + " ")
				}
				return strings.Join(words, " "), nil
			}),
			Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
				r.mu.Lock()
				r.paint = &req
				r.mu.Unlock()
				for row := req.Rows.Start / 16; row < req.Rows.End/16; row++ {
					onStrip(rolecalltest.TokenStrip(row, slices.Repeat([]int{7}, tokens.Grid)))
				}
				return nil
			}),
			Critic: engine.CriticFunc(func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				r.mu.Lock()
				r.critique = &req
				r.mu.Unlock()
				return engine.Critique{Score: 40, Parsed: true, Revision: "rows 6 10 : new blue square", Raw: "rows 6 10 : empty"}, nil
			}),
		}, nil
	}}}
}

func newAPI(t *testing.T, b engine.Backend, origins ...string) *httptest.Server {
	t.Helper()
	g := gateway.New(gateway.Config{Backend: b})
	hs := httptest.NewServer(Handler(Config{Gateway: g, Origins: origins}))
	t.Cleanup(hs.Close)
	return hs
}

func post(t *testing.T, url, body string) (int, map[string]any) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatalf("%s: %v", b, err)
	}
	return resp.StatusCode, out
}

// pngURL renders a canvas as a PNG data URL.
func pngURL(t *testing.T, tk tokens.Tokens) string {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, tokens.Picture(tk)); err != nil {
		t.Fatal(err)
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(buf.Bytes())
}

// drawn is a canvas with rows [0, rows) drawn.
func drawn(rows int) tokens.Tokens {
	tk := tokens.NewTokens()
	for i := 0; i < rows*tokens.Grid; i++ {
		tk[i] = 0
	}
	tk[tokens.Grid+3] = tokens.EncodeCell(tokens.Cell{Color: 2, Mask: 15})
	return tk
}

func TestChatConvention(t *testing.T) {
	rec := &recording{}
	hs := newAPI(t, rec.backend())
	img := pngURL(t, drawn(11))
	user := func(text string) string {
		return fmt.Sprintf(`{"role":"user","content":[{"type":"text","text":%q},{"type":"image_url","image_url":{"url":%q}}]}`, text, img)
	}
	for _, tc := range []struct {
		name, body string
		role       string
		band       int
		rows       protocol.Rows
		thoughts   []string
		drawnRows  int
		thought    string
	}{
		{"first thought", `{"model":"twig","messages":[{"role":"system","content":"you think"},{"role":"user","content":"a red circle"}]}`,
			"think", 0, protocol.Rows{Start: 0, End: 6}, []string{}, 0, ""},
		{"second thought sees the picture", `{"model":"twig-thinker","messages":[{"role":"user","content":"a red circle"},{"role":"assistant","content":"rows 0 5 : new red circle"},` + user("go on") + `]}`,
			"think", 1, protocol.Rows{Start: 6, End: 11}, []string{"rows 0 5 : new red circle"}, 6, ""},
		{"critique of the last thought's band", `{"model":"twig-critic","messages":[{"role":"user","content":"a red circle"},{"role":"assistant","content":"rows 0 5 : new red circle"},{"role":"assistant","content":"rows 6 10 : new blue square"},` + user("score it") + `]}`,
			"critique", 1, protocol.Rows{Start: 6, End: 11}, []string{"rows 0 5 : new red circle"}, 11, "rows 6 10 : new blue square"},
		{"the extension decides", `{"model":"twig","messages":[{"role":"user","content":"ignored"}],"twig":{"role":"think","prompt":"two squares","band":2,"rows":{"start":176,"end":256},"thoughts":["a","b"],"settings":{"bands":3}}}`,
			"think", 2, protocol.Rows{Start: 11, End: 16}, []string{"a", "b"}, 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, out := post(t, hs.URL+"/v1/chat/completions", tc.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, out)
			}
			var st engine.State
			rec.mu.Lock()
			if tc.role == "think" {
				st = rec.think.State
			} else {
				st = rec.critique.State
				if rec.critique.Thought != tc.thought {
					t.Errorf("thought %q, want %q", rec.critique.Thought, tc.thought)
				}
			}
			rec.mu.Unlock()
			if px := (protocol.Rows{Start: 16 * tc.rows.Start, End: 16 * tc.rows.End}); st.Band != tc.band || st.Rows != px || !slices.Equal(st.Thoughts, tc.thoughts) {
				t.Errorf("band %d rows %+v thoughts %q, want %d %+v %q", st.Band, st.Rows, st.Thoughts, tc.band, tc.rows, tc.thoughts)
			}
			for i, tok := range st.Canvas.Tokens {
				if (i < tc.drawnRows*tokens.Grid) != (tok >= 0) {
					t.Fatalf("canvas cell %d = %d, want rows [0,%d) drawn and the rest not", i, tok, tc.drawnRows)
				}
			}
			if tc.drawnRows > 1 && st.Canvas.Tokens[tokens.Grid+3] != tokens.EncodeCell(tokens.Cell{Color: 2, Mask: 15}) {
				t.Error("the picture was not read back into tokens")
			}
			content := out["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
			if tc.role == "critique" {
				var c struct {
					Score    *int   `json:"score"`
					Revision string `json:"revision"`
				}
				if err := json.Unmarshal([]byte(content), &c); err != nil || c.Score == nil || *c.Score != 40 || c.Revision == "" {
					t.Errorf("critique content %q", content)
				}
			} else if !strings.HasPrefix(content, "rows ") || strings.HasSuffix(content, " ") {
				t.Errorf("thought content %q", content)
			}
		})
	}
}

func TestChatStreamMatchesWhole(t *testing.T) {
	hs := newAPI(t, (&recording{}).backend())
	body := `{"model":"twig","messages":[{"role":"user","content":"a red circle"}],"stream":true,"stream_options":{"include_usage":true}}`
	resp, err := http.Post(hs.URL+"/v1/chat/completions", "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	var content strings.Builder
	var finish string
	usage, done, chunks := false, false, 0
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line, ok := strings.CutPrefix(sc.Text(), "data: ")
		if !ok {
			continue
		}
		if line == "[DONE]" {
			done = true
			break
		}
		var ch struct {
			Object  string
			Choices []struct {
				Delta        struct{ Content string }
				FinishReason *string `json:"finish_reason"`
			}
			Usage *struct {
				CompletionTokens int `json:"completion_tokens"`
			}
		}
		if err := json.Unmarshal([]byte(line), &ch); err != nil {
			t.Fatalf("%s: %v", line, err)
		}
		chunks++
		if ch.Object != "chat.completion.chunk" {
			t.Fatalf("object %q", ch.Object)
		}
		for _, c := range ch.Choices {
			content.WriteString(c.Delta.Content)
			if c.FinishReason != nil {
				finish = *c.FinishReason
			}
		}
		if ch.Usage != nil {
			usage = ch.Usage.CompletionTokens == 7
		}
	}
	_, whole := post(t, hs.URL+"/v1/chat/completions", `{"model":"twig","messages":[{"role":"user","content":"a red circle"}]}`)
	want := whole["choices"].([]any)[0].(map[string]any)["message"].(map[string]any)["content"].(string)
	if content.String() != want || finish != "stop" || !usage || !done || chunks < 8 {
		t.Fatalf("stream %q finish %q usage %v done %v chunks %d; whole %q", content.String(), finish, usage, done, chunks, want)
	}
	_, capped := post(t, hs.URL+"/v1/chat/completions", `{"model":"twig","messages":[{"role":"user","content":"a red circle"}],"max_tokens":2}`)
	ch := capped["choices"].([]any)[0].(map[string]any)
	if ch["finish_reason"] != "length" || ch["message"].(map[string]any)["content"] != "rows 0" {
		t.Fatalf("max_tokens 2: %v", ch)
	}
}

func TestAPIErrors(t *testing.T) {
	hs := newAPI(t, (&recording{}).backend())
	msgs := `"messages":[{"role":"user","content":"a red circle"}]`
	for _, tc := range []struct {
		path, body string
		status     int
		code       string
		param      string
	}{
		{"/v1/chat/completions", `{"model":"twig",` + msgs + `,"temperature":0.5}`, 400, "unsupported_parameter", "temperature"},
		{"/v1/chat/completions", `{"model":"twig",` + msgs + `,"tools":[]}`, 400, "unsupported_parameter", "tools"},
		{"/v1/chat/completions", `{"model":"twig",` + msgs + `,"n":2}`, 400, "unsupported_value", "n"},
		{"/v1/chat/completions", `{"model":"gpt-4o",` + msgs + `}`, 404, "model_not_found", "model"},
		{"/v1/chat/completions", `{"model":"twig-painter",` + msgs + `}`, 400, "model_not_supported", "model"},
		{"/v1/chat/completions", `{"model":"twig","messages":[]}`, 400, "missing_parameter", "messages"},
		{"/v1/chat/completions", `{"model":"twig","messages":[{"role":"user","content":[{"type":"text","text":"a red circle"},{"type":"image_url","image_url":{"url":"https://x.example/a.png"}}]}]}`, 400, "invalid_image_url", "messages[0].content"},
		{"/v1/chat/completions", `{"model":"twig","messages":[{"role":"user","content":[{"type":"input_audio"}]}]}`, 400, "unsupported_value", "messages[0].content[0].type"},
		{"/v1/chat/completions", `{"model":"twig","messages":[{"role":"tool","content":"x"}]}`, 400, "invalid_value", "messages[0].role"},
		{"/v1/chat/completions", `{"model":"twig",` + msgs + `,"twig":{"colour":1}}`, 400, "invalid_twig", "twig"},
		{"/v1/chat/completions", `{"model":"twig-critic",` + msgs + `}`, 400, "missing_thought", "messages"},
		{"/v1/chat/completions", `not json`, 400, "invalid_json", ""},
		{"/v1/images/generations", `{"prompt":"a red circle","quality":"hd"}`, 400, "unsupported_parameter", "quality"},
		{"/v1/images/generations", `{"prompt":"a red circle","size":"100x100"}`, 400, "invalid_size", "size"},
		{"/v1/images/generations", `{"prompt":"a red circle","n":9}`, 400, "invalid_value", "n"},
		{"/v1/nothing", `{}`, 404, "not_found", ""},
	} {
		status, out := post(t, hs.URL+tc.path, tc.body)
		e, _ := out["error"].(map[string]any)
		param, _ := e["param"].(string)
		if status != tc.status || e["code"] != tc.code || param != tc.param || e["message"] == "" {
			t.Errorf("%s %s: %d %v, want %d %s param %q", tc.path, tc.body, status, out, tc.status, tc.code, tc.param)
		}
	}
}

// images/edits: the mask's transparent rows are redrawn (after a thought
// when none is given); the other rows come back as they were.
func TestImagesEdit(t *testing.T) {
	rec := &recording{}
	hs := newAPI(t, rec.backend())
	canvas := drawn(6)
	var pic bytes.Buffer
	png.Encode(&pic, tokens.Picture(canvas))
	mask := image.NewNRGBA(image.Rect(0, 0, 256, 256))
	for y := 0; y < 256; y++ {
		for x := 0; x < 256; x++ {
			if y < 6*16 || y >= 11*16 {
				mask.Set(x, y, color.NRGBA{0, 0, 0, 255})
			}
		}
	}
	var maskPNG bytes.Buffer
	png.Encode(&maskPNG, mask)
	for _, tc := range []struct {
		prompt    string
		thinks    int
		thought   string
		wantPaint string
	}{
		{"a red circle", 1, "", "rows 6 10 : new red circle"},
		{"Prompt: a red circle\nThought: rows 6 10 : new green square", 0, "", "rows 6 10 : new green square"},
	} {
		var body bytes.Buffer
		mw := multipart.NewWriter(&body)
		fw, _ := mw.CreateFormFile("image", "canvas.png")
		fw.Write(pic.Bytes())
		fw, _ = mw.CreateFormFile("mask", "mask.png")
		fw.Write(maskPNG.Bytes())
		mw.WriteField("prompt", tc.prompt)
		mw.WriteField("model", "twig-painter")
		mw.Close()
		before := rec.thinks
		resp, err := http.Post(hs.URL+"/v1/images/edits", mw.FormDataContentType(), &body)
		if err != nil {
			t.Fatal(err)
		}
		var out struct {
			Data []struct {
				B64           string `json:"b64_json"`
				RevisedPrompt string `json:"revised_prompt"`
			}
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || json.Unmarshal(b, &out) != nil || len(out.Data) != 1 {
			t.Fatalf("status %d: %s", resp.StatusCode, b)
		}
		rec.mu.Lock()
		paint := *rec.paint
		thinks := rec.thinks - before
		rec.mu.Unlock()
		if paint.Rows != (protocol.Rows{Start: 96, End: 176}) || paint.Thought != tc.wantPaint || thinks != tc.thinks || out.Data[0].RevisedPrompt != tc.wantPaint {
			t.Errorf("%q: painted %+v with %q after %d thoughts (revised %q)", tc.prompt, paint.Rows, paint.Thought, thinks, out.Data[0].RevisedPrompt)
		}
		if paint.Prompt != "a red circle" {
			t.Errorf("prompt %q", paint.Prompt)
		}
		raw, _ := base64.StdEncoding.DecodeString(out.Data[0].B64)
		img, err := png.Decode(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		got := tokens.FromPicture(img)
		for i, tok := range got {
			want := canvas[i]
			if r := i / tokens.Grid; r >= 6 && r < 11 {
				want = 7
			}
			if tok != want {
				t.Fatalf("cell %d = %d, want %d", i, tok, want)
			}
		}
	}
}

func TestImagesGenerate(t *testing.T) {
	hs := newAPI(t, (&recording{}).backend())
	status, out := post(t, hs.URL+"/v1/images/generations", `{"prompt":"a red circle","size":"512x512","response_format":"url","twig":{"seed":4}}`)
	if status != 200 {
		t.Fatalf("%d %v", status, out)
	}
	url := out["data"].([]any)[0].(map[string]any)["url"].(string)
	var side int
	aerr := decodeDataURL(context.Background(), pictureLimits{max: 64 << 20}, url, "url", func(img image.Image) { side = img.Bounds().Dx() })
	if aerr != nil || side != 512 {
		t.Fatalf("%v, side %d", aerr, side)
	}
}

// POST /v1/runs and /v1/calls answer the same events as the websocket, as SSE.
func TestSSEEndpoints(t *testing.T) {
	hs := newAPI(t, (&recording{}).backend())
	read := func(body string, path string) []protocol.Event {
		resp, err := http.Post(hs.URL+path, "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var evs []protocol.Event
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
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
	evs := read(`{"v":"twig/2","type":"start","id":"r1","prompt":"a red circle"}`, "/v1/runs")
	if len(evs) == 0 || evs[len(evs)-1].Type != protocol.TypeRunDone || evs[0].RunID != "r1" {
		t.Fatalf("runs: %d events, last %+v", len(evs), evs[len(evs)-1])
	}
	evs = read(`{"v":"twig/2","type":"call","id":"c1","role":"paint","request":{"prompt":"a red circle","rows":{"start":0,"end":96},"width":256,"height":256,"grid":16,"thought":"x"}}`, "/v1/calls")
	if len(evs) != 7 || evs[6].Type != protocol.TypeCallDone || evs[0].Type != protocol.TypeCallStrip {
		t.Fatalf("calls: %+v", evs)
	}
}

func TestCORS(t *testing.T) {
	hs := newAPI(t, (&recording{}).backend(), "https://ok.example")
	for _, tc := range []struct {
		origin string
		status int
	}{{"https://ok.example", 204}, {"https://evil.example", 403}} {
		req, _ := http.NewRequest(http.MethodOptions, hs.URL+"/v1/chat/completions", nil)
		req.Header.Set("Origin", tc.origin)
		req.Header.Set("Access-Control-Request-Method", "POST")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.status {
			t.Errorf("preflight from %s: %d, want %d", tc.origin, resp.StatusCode, tc.status)
		}
		if tc.status == 204 && resp.Header.Get("Access-Control-Allow-Origin") != tc.origin {
			t.Errorf("no Access-Control-Allow-Origin for %s", tc.origin)
		}
	}
}
