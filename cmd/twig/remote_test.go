package main

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/remote"
)

func TestRemoteFlags(t *testing.T) {
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk-from-file\n"), 0o600)
	t.Setenv("OPENAI_API_KEY", "sk-from-env")
	t.Setenv("TWIG_API_KEY", "")
	type ep struct{ kind, url, model, key string }
	for _, tc := range []struct {
		args  []string
		want  [3]ep // thinker, critic, painter
		nilOK bool
		err   string
	}{
		{args: nil, nilOK: true},
		{args: []string{"--backend", "embedded", "--model", "x"}, nilOK: true},
		{args: []string{"--backend", "openai"}, want: [3]ep{
			{"openai", "https://api.openai.com/v1", "gpt-4.1-mini", "sk-from-env"},
			{"openai", "https://api.openai.com/v1", "gpt-4.1-mini", "sk-from-env"},
			{"openai", "https://api.openai.com/v1", "gpt-image-1", "sk-from-env"}}},
		{args: []string{"--backend", "openai", "--base-url", "http://127.0.0.1:9/v1", "--model", "twig", "--api-key-file", keyFile, "--painter-backend", "embedded"}, want: [3]ep{
			{"openai", "http://127.0.0.1:9/v1", "twig", "sk-from-file"},
			{"openai", "http://127.0.0.1:9/v1", "twig", "sk-from-file"},
			{kind: "embedded"}}},
		{args: []string{"--thinker-backend", "twig", "--thinker-url", "http://h:1/v1", "--critic-backend", "openai", "--critic-model", "llava", "--critic-url", "http://v:2/v1"}, want: [3]ep{
			{"twig", "http://h:1/v1", "twig", ""},
			{"openai", "http://v:2/v1", "llava", "sk-from-env"},
			{kind: "embedded"}}},
		{args: []string{"--backend", "gemini"}, err: `unknown backend "gemini" for the thinker`},
		{args: []string{"--backend", "openai", "--api-key-file", filepath.Join(dir, "none")}, err: "cannot read the API key file"},
		{args: []string{"--backend", "twig", "--templates", filepath.Join(dir, "none.tmpl")}, err: "templates"},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			fs := newFlags(&env{stdout: io.Discard}, "draw", "", "")
			f := addRemoteFlags(fs)
			if _, err := fs.parse(tc.args); err != nil {
				t.Fatal(err)
			}
			c, err := f.config()
			switch {
			case tc.err != "":
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			case err != nil:
				t.Fatal(err)
			case tc.nilOK:
				if c != nil {
					t.Fatalf("config %+v, want nil (all embedded)", c)
				}
				return
			}
			for i, s := range []remote.Source{c.Thinker, c.Critic, c.Painter} {
				got := ep{s.Kind, s.Endpoint.BaseURL, s.Endpoint.Model, s.Endpoint.APIKey.Reveal()}
				if got != tc.want[i] {
					t.Errorf("%s: %+v, want %+v", remoteRoles[i], got, tc.want[i])
				}
			}
		})
	}
	// api.openai.com without a key is refused before any call
	t.Setenv("OPENAI_API_KEY", "")
	o := twig(t, defaultBackend, "draw", "--backend", "openai", "a red circle")
	if o.code != exitUsage || !strings.Contains(o.stderr, "export OPENAI_API_KEY") {
		t.Errorf("no key: %+v", o)
	}
}

// fakeOpenAI answers chat completions (a streamed thought, a JSON critique)
// and image edits (the canvas with the band filled by a red square's
// colour), checking the key.
func fakeOpenAI(t *testing.T, key string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+key {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(401)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`,
				strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
			return
		}
		switch r.URL.Path {
		case "/v1/chat/completions":
			var req struct {
				Stream bool `json:"stream"`
			}
			json.NewDecoder(r.Body).Decode(&req)
			if !req.Stream {
				w.Header().Set("Content-Type", "application/json")
				fmt.Fprint(w, `{"id":"chatcmpl-1","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"{\"score\": 95, \"revision\": \"keep it\"}","refusal":null},"logprobs":null,"finish_reason":"stop"}]}`)
				return
			}
			w.Header().Set("Content-Type", "text/event-stream")
			for _, d := range []string{"a small", " red", " circle"} {
				fmt.Fprintf(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{\"content\":%q},\"finish_reason\":null}]}\n\n", d)
			}
			fmt.Fprint(w, "data: {\"id\":\"c\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\",\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n")
		case "/v1/images/edits":
			f, _, err := r.FormFile("image")
			if err != nil {
				t.Error(err)
				return
			}
			b, _ := io.ReadAll(f)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"created":1,"data":[{"b64_json":%q}]}`, base64.StdEncoding.EncodeToString(b))
		default:
			http.NotFound(w, r)
		}
	}))
	t.Cleanup(srv.Close)
	return srv
}

func TestDrawRemoteKeepsTheKeySecret(t *testing.T) {
	const key = "sk-proj-Zq8r2Xv7Lw3Nc5Bt1Hy6Jk4Mp9Rs0Ud"
	srv := fakeOpenAI(t, key)
	dir := t.TempDir()
	t.Setenv("OPENAI_API_KEY", key)
	out := filepath.Join(dir, "ok")
	o := twig(t, defaultBackend, "draw", "--backend", "openai", "--base-url", srv.URL+"/v1", "--model", "m", "--json", "--out", out, "a red circle")
	if o.code != 0 {
		t.Fatalf("draw: %+v", o)
	}
	for _, w := range []string{`"type":"thought_delta"`, `"text":" red"`, `"type":"critique"`, `"score":95`, `"type":"run_done"`, `"backend":"thinker: openai m at 127.0.0.1`} {
		if !strings.Contains(o.stdout, w) {
			t.Errorf("events lack %s", w)
		}
	}
	// a wrong key: the upstream echoes it back in its error
	keyFile := filepath.Join(dir, "key")
	os.WriteFile(keyFile, []byte("sk-wrong-0123456789abcdef\n"), 0o600)
	bad := filepath.Join(dir, "bad")
	o2 := twig(t, defaultBackend, "draw", "--backend", "openai", "--base-url", srv.URL+"/v1", "--api-key-file", keyFile, "--out", bad, "a red circle")
	if o2.code != exitFail || !strings.Contains(o2.stderr, "thinker at 127.0.0.1") || !strings.Contains(o2.stderr, "HTTP 401") {
		t.Fatalf("wrong key: %+v", o2)
	}
	for name, s := range map[string]string{"stdout": o.stdout + o2.stdout, "stderr": o.stderr + o2.stderr,
		"trace": string(read(t, tracePath(out))) + string(read(t, tracePath(bad)))} {
		for _, k := range []string{key, "sk-wrong-0123456789abcdef"} {
			if strings.Contains(s, k) {
				t.Errorf("the key shows in %s", name)
			}
		}
	}
	if !strings.Contains(o2.stderr, "[redacted]") {
		t.Errorf("stderr %q: want the echoed key redacted", o2.stderr)
	}
}

func TestEvalTakesRemoteFlags(t *testing.T) {
	const key = "sk-eval-key-0000000000"
	srv := fakeOpenAI(t, key)
	t.Setenv("OPENAI_API_KEY", key)
	o := twig(t, defaultBackend, "eval", "--backend", "openai", "--base-url", srv.URL+"/v1", "--model", "m", "--mode", "think+reflect",
		"--categories", "single", "--limit", "2", "--json", "--call-timeout", time.Minute.String())
	if o.code != 0 || !strings.Contains(o.stdout, `"mode":"think+reflect"`) || strings.Contains(o.stdout+o.stderr, key) {
		t.Fatalf("eval: %+v", o)
	}
}
