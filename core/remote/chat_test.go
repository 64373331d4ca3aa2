package remote

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"image/png"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/world/tokens"
)

// sentChat decodes a recorded chat request.
func sentChat(t *testing.T, s seen) (chatRequest, []map[string]any) {
	t.Helper()
	var cr chatRequest
	if err := json.Unmarshal(s.body, &cr); err != nil {
		t.Fatalf("request body: %v", err)
	}
	var raw struct {
		Messages []map[string]any `json:"messages"`
	}
	json.Unmarshal(s.body, &raw)
	return cr, raw.Messages
}

func TestThinkerStreamsRecordedAnswer(t *testing.T) {
	u := newUpstream(t, answer{file: "chat_stream_thought.sse"})
	th, err := NewThinker(u.endpoint("gpt-4o"), fastOptions(nil), nil)
	if err != nil {
		t.Fatal(err)
	}
	var deltas []string
	got, err := th.Think(context.Background(), engine.ThinkRequest{State: state(1)}, func(d string) { deltas = append(deltas, d) })
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"A", " small", " solid", " blue square", " begins at the centre."}; !slices.Equal(deltas, want) {
		t.Errorf("deltas %q, want %q", deltas, want)
	}
	if got != "A small solid blue square begins at the centre." {
		t.Errorf("thought %q", got)
	}
	reqs := u.requests()
	if len(reqs) != 1 || reqs[0].path != "/v1/chat/completions" {
		t.Fatalf("requests %+v", reqs)
	}
	if h := reqs[0].header.Get("Authorization"); h != "Bearer "+testKey.Reveal() {
		t.Errorf("Authorization %q", h)
	}
	if h := reqs[0].header.Get("Accept"); h != "text/event-stream" {
		t.Errorf("Accept %q", h)
	}
	cr, msgs := sentChat(t, reqs[0])
	if cr.Model != "gpt-4o" || !cr.Stream || cr.Seed == nil || *cr.Seed != 7 || cr.Twig != nil {
		t.Errorf("request model=%q stream=%v seed=%v twig=%v", cr.Model, cr.Stream, cr.Seed, cr.Twig)
	}
	// system, the prompt alone, the earlier thought, then text + the partial picture
	roles := []string{}
	for _, m := range msgs {
		roles = append(roles, m["role"].(string))
	}
	if !slices.Equal(roles, []string{"system", "user", "assistant", "user"}) {
		t.Fatalf("roles %v", roles)
	}
	if msgs[1]["content"] != "a red circle above a blue square" || msgs[2]["content"] != "a small red circle on the left" {
		t.Errorf("prompt/thought messages %v / %v", msgs[1]["content"], msgs[2]["content"])
	}
	parts := msgs[3]["content"].([]any)
	text := parts[0].(map[string]any)["text"].(string)
	for _, want := range []string{"PARTIAL", "the top 37% is drawn", "not drawn yet", "band 2 of 3", "from 37% to 68% of the picture's height", "follow the picture", "band 1: a small red circle on the left"} {
		if !strings.Contains(text, want) {
			t.Errorf("instruction lacks %q:\n%s", want, text)
		}
	}
	url := parts[1].(map[string]any)["image_url"].(map[string]any)["url"].(string)
	b64, ok := strings.CutPrefix(url, "data:image/png;base64,")
	if !ok {
		t.Fatalf("image url %.40q", url)
	}
	pngBytes, _ := base64.StdEncoding.DecodeString(b64)
	img, err := png.Decode(strings.NewReader(string(pngBytes)))
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 512 || b.Dy() != 512 {
		t.Errorf("picture %v, want 512×512", b)
	}
	if back := tokens.FromPicture(img); !slices.Equal(back, tokens.Tokens(state(1).Canvas.Tokens)) {
		t.Error("the picture sent does not read back as the canvas (undrawn rows must show as undrawn)")
	}
}

func TestThinkerFirstBandHasNoPicture(t *testing.T) {
	u := newUpstream(t, answer{file: "chat_stream_thought.sse"})
	th, _ := NewThinker(u.endpoint("twig"), fastOptions(nil), nil)
	if _, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil); err != nil {
		t.Fatal(err)
	}
	cr, msgs := sentChat(t, u.requests()[0])
	last := msgs[len(msgs)-1]["content"].([]any)
	if len(msgs) != 3 || len(last) != 1 {
		t.Fatalf("want system, prompt, instruction without a picture; got %d messages, %d parts", len(msgs), len(last))
	}
	if text := last[0].(map[string]any)["text"].(string); !strings.Contains(text, "Nothing is drawn yet") || strings.Contains(text, "follow the picture") {
		t.Errorf("first-band instruction:\n%s", text)
	}
	// a twig model gets the exact state in the twig extension
	if cr.Twig == nil || cr.Twig.Role != "think" || cr.Twig.Rows != state(0).Rows || cr.Twig.Settings.Bands != 3 {
		t.Errorf("twig extension %+v", cr.Twig)
	}
}

func TestThinkerFailures(t *testing.T) {
	for _, tc := range []struct {
		name    string
		answers []answer
		want    []string
		tries   int
	}{
		{"truncated stream", []answer{{file: "chat_stream_truncated.sse"}}, []string{"thinker at 127.0.0.1", "ended before it was complete"}, 1},
		{"refusal", []answer{{file: "chat_stream_refusal.sse"}}, []string{"refusal", "the model refused: I'm sorry, I can't help with that."}, 1},
		{"error in the stream", []answer{{file: "chat_stream_error.sse"}}, []string{"server_error", "The server had an error"}, 1},
		{"401", []answer{{status: 401, file: "error_401.json"}}, []string{"HTTP 401", "invalid_api_key", "Incorrect API key provided"}, 1},
		{"500 four times", []answer{{status: 500, file: "error_500.json"}}, []string{"HTTP 500", "server_error", "gave up after 4 tries"}, 4},
		{"not JSON", []answer{{body: "<html>bad gateway</html>", status: 200}}, []string{"not a chat completion object"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			u := newUpstream(t, tc.answers...)
			th, _ := NewThinker(u.endpoint("gpt-4o"), fastOptions(nil), nil)
			_, err := th.Think(context.Background(), engine.ThinkRequest{State: state(1)}, nil)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if e, ok := errors.AsType[*Error](err); !ok || e.Role != "thinker" || e.Tries != tc.tries {
				t.Errorf("error %#v: want role thinker, %d tries", err, tc.tries)
			}
			if n := len(u.requests()); n != tc.tries {
				t.Errorf("%d requests, want %d", n, tc.tries)
			}
		})
	}
}

func TestCriticRecordedAnswers(t *testing.T) {
	for _, tc := range []struct {
		file     string
		score    int
		parsed   bool
		revision string
	}{
		{"chat_critique_prose.json", 62, true, "a large striped blue square begins in the centre of the band; nothing else."},
		{"chat_critique_fenced.json", 94, true, "a small solid red circle begins on the left"},
		{"chat_critique_json_prose.json", 70, true, "two small green triangles, left and right"},
		{"chat_critique_noscore.json", 0, false, ""},
		{"chat_critique_refusal.json", 0, false, ""},
		{"chat_critique_twig.json", 0, false, "rows 0 5 : new small solid red circle at 1 6"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			u := newUpstream(t, answer{file: tc.file})
			c, _ := NewCritic(u.endpoint("gpt-4o"), fastOptions(nil), nil)
			st := drawn(state(1))
			got, err := c.Critique(context.Background(), engine.CritiqueRequest{State: st, Thought: "a large striped blue square in the centre"})
			if err != nil {
				t.Fatal(err)
			}
			if got.Score != tc.score || got.Parsed != tc.parsed || got.Revision != tc.revision {
				t.Errorf("got %+v, want score %d parsed %v revision %q", got, tc.score, tc.parsed, tc.revision)
			}
			if got.Raw == "" {
				t.Error("no raw answer kept")
			}
			cr, msgs := sentChat(t, u.requests()[0])
			if cr.Stream {
				t.Error("the critic need not stream")
			}
			if n := len(msgs); n != 5 || msgs[3]["role"] != "assistant" || msgs[3]["content"] != "a large striped blue square in the centre" {
				t.Errorf("messages: want system, prompt, earlier thought, the band's thought, question; got %v", msgs)
			}
			text := msgs[4]["content"].([]any)[0].(map[string]any)["text"].(string)
			for _, w := range []string{"PARTIAL", "the top 68% is drawn", "band 2 of 3", `"a large striped blue square in the centre"`, "JSON"} {
				if !strings.Contains(text, w) {
					t.Errorf("critique question lacks %q:\n%s", w, text)
				}
			}
		})
	}
}

func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	path := dir + "/t.tmpl"
	writeFile(t, path, `{{define "think.system"}}Be terse. Grid {{.Grid}}.{{end}}`)
	tpl, err := LoadTemplates(path)
	if err != nil {
		t.Fatal(err)
	}
	u := newUpstream(t, answer{file: "chat_stream_thought.sse"})
	th, _ := NewThinker(u.endpoint("gpt-4o"), fastOptions(nil), tpl)
	if _, err := th.Think(context.Background(), engine.ThinkRequest{State: state(1)}, nil); err != nil {
		t.Fatal(err)
	}
	_, msgs := sentChat(t, u.requests()[0])
	if msgs[0]["content"] != "Be terse. Grid 256." { // the canvas's height in pixel rows
		t.Errorf("system %q", msgs[0]["content"])
	}
	if !strings.Contains(msgs[3]["content"].([]any)[0].(map[string]any)["text"].(string), "follow the picture") {
		t.Error("the blocks not overridden must stay the defaults")
	}
	for _, bad := range []string{`{{define "think.user"}}{{.NoSuchField}}{{end}}`, `{{define "think.user"}}{{if}}{{end}}`} {
		writeFile(t, path, bad)
		if _, err := LoadTemplates(path); err == nil || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: error %v, want one naming the file", bad, err)
		}
	}
}
