//go:build !js

package proxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

const testKey = "sk-upstream-SECRET-4242"

// echo is an upstream that tells what it received, key included: the
// worker must scrub it from whatever comes back.
func echo(t testing.TB) (*httptest.Server, chan *http.Request) {
	seen := make(chan *http.Request, 16)
	s := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen <- r.Clone(r.Context())
		body, _ := io.ReadAll(r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Ratelimit-Remaining-Requests", "99")
		w.Header().Set("Set-Cookie", "session=1")
		w.Header().Set("X-Echo-Auth", r.Header.Get("Authorization"))
		if strings.Contains(string(body), "fail") {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprintf(w, `{"error":{"message":"Incorrect API key provided: %s","code":"invalid_api_key"}}`, r.Header.Get("Authorization"))
			return
		}
		fmt.Fprintf(w, `{"auth":%q,"path":%q,"query":%q,"body_len":%d}`, r.Header.Get("Authorization"), r.URL.Path, r.URL.RawQuery, len(body))
	}))
	t.Cleanup(s.Close)
	return s, seen
}

func openaiWorker(t testing.TB, url string, more env) *testWorker {
	e := env{"UPSTREAMS": upstreams(map[string]map[string]any{"openai": {"kind": "openai", "url": url + "/v1", "key": "OPENAI_API_KEY"}}),
		"OPENAI_API_KEY": testKey}
	for k, v := range more {
		e[k] = v
	}
	return newWorker(t, e)
}

func TestProxyInjectsKeyAndScrubsIt(t *testing.T) {
	up, seen := echo(t)
	w := openaiWorker(t, up.URL, nil)
	h := http.Header{"Authorization": {"Bearer the-clients-own"}, "Content-Type": {"application/json"}, "Cookie": {"c=1"}}
	for _, body := range []string{`{"model":"m","messages":[]}`, `{"model":"m","fail":1}`} {
		status, hdr, got := do(t, "POST", w.url+"/v1/chat/completions?access_token=x", strings.NewReader(body), h)
		r := <-seen
		if a := r.Header.Get("Authorization"); a != "Bearer "+testKey {
			t.Errorf("upstream got Authorization %q, want the upstream key", a)
		}
		if r.Header.Get("Cookie") != "" || r.URL.RawQuery != "" {
			t.Errorf("client cookie %q or query %q reached the upstream", r.Header.Get("Cookie"), r.URL.RawQuery)
		}
		if has(got, testKey) || has(fmt.Sprint(hdr), testKey) {
			t.Fatalf("the key came back: %d %v %s", status, hdr, got)
		}
		if !has(got, "[redacted]") {
			t.Errorf("the echoed key was not replaced: %s", got)
		}
		if hdr.Get("Set-Cookie") != "" || hdr.Get("X-Echo-Auth") != "" {
			t.Errorf("upstream headers outside the allowlist came back: %v", hdr)
		}
		if hdr.Get("X-Ratelimit-Remaining-Requests") != "99" || hdr.Get("X-Request-Id") == "" {
			t.Errorf("allowed headers missing: %v", hdr)
		}
		if body == `{"model":"m","fail":1}` && status != http.StatusUnauthorized {
			t.Errorf("upstream status %d not passed through", status)
		}
	}
	if has(w.logs.String(), testKey) || has(w.logs.String(), "the-clients-own") {
		t.Fatalf("a secret reached the logs:\n%s", w.logs)
	}
}

// The upstream sends one event, then waits until the client has it before
// sending the next: the worker must pass each on as it comes.
func TestProxyStreamsSSEAsItArrives(t *testing.T) {
	got1 := make(chan struct{})
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		select {
		case <-got1:
		case <-r.Context().Done(): // the client gave up
			return
		}
		fmt.Fprint(w, "data: {\"n\":2}\n\ndata: [DONE]\n\n")
	}))
	defer up.Close()
	w := openaiWorker(t, up.URL, nil)
	resp, err := http.Post(w.url+"/v1/chat/completions", "application/json", strings.NewReader(`{"model":"m","stream":true}`))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	sc := bufio.NewScanner(resp.Body)
	var lines []string
	within(t, 10*time.Second, "the stream", func() {
		for sc.Scan() {
			if l := sc.Text(); l != "" {
				lines = append(lines, l)
				if l == `data: {"n":1}` {
					close(got1)
				}
			}
		}
	})
	if strings.Join(lines, "|") != `data: {"n":1}|data: {"n":2}|data: [DONE]` {
		t.Fatalf("stream %q", lines)
	}
}

func TestUpstreamAllowlist(t *testing.T) {
	up, seen := echo(t)
	w := newWorker(t, env{"UPSTREAMS": upstreams(map[string]map[string]any{
		"twig":   {"kind": "twig", "url": up.URL + "/v1"},
		"openai": {"kind": "openai", "url": up.URL + "/v1"}})})
	for _, tc := range []struct {
		method, path string
		h            http.Header
		status       int
		code         string
	}{
		{"GET", "/u/evil.example/v1/models", nil, 403, "upstream_not_allowed"},
		{"GET", "/u/127.0.0.1:1/v1/models", nil, 403, "upstream_not_allowed"},
		{"POST", "/v1/files", nil, 404, "endpoint_not_allowed"},
		{"GET", "/v1/chat/completions", nil, 404, "endpoint_not_allowed"},
		{"POST", "/u/openai/v1/calls", nil, 404, "endpoint_not_allowed"},
		{"GET", "/u/openai/v1/ws", nil, 404, "endpoint_not_allowed"},
		{"GET", "/admin", nil, 404, "not_found"},
		{"GET", "/v1/models", http.Header{"X-Forwarded-Host": {"evil.example"}, "X-Upstream": {"http://evil.example"}}, 200, ""},
		{"POST", "/u/twig/v1/calls", nil, 200, ""},
		{"GET", "/u/openai/v1/models?url=http://evil.example", nil, 200, ""},
	} {
		status, _, body := do(t, tc.method, w.url+tc.path, strings.NewReader("{}"), tc.h)
		if tc.code != "" {
			wantError(t, status, body, tc.status, tc.code)
			continue
		}
		if status != tc.status {
			t.Fatalf("%s %s: %d %s", tc.method, tc.path, status, body)
		}
		if r := <-seen; r.Host != strings.TrimPrefix(up.URL, "http://") {
			t.Fatalf("%s %s reached host %q", tc.method, tc.path, r.Host)
		}
	}
	select {
	case r := <-seen:
		t.Fatalf("a refused request reached the upstream: %s %s", r.Method, r.URL)
	default:
	}
}

func TestSizeCaps(t *testing.T) {
	big := strings.Repeat("x", 3000)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/v1/models": // a known length over the cap
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(big))
		default: // a stream that grows over the cap
			w.Header().Set("Content-Type", "text/event-stream")
			for range 10 {
				fmt.Fprintf(w, "data: %s\n\n", big[:500])
				w.(http.Flusher).Flush()
			}
		}
	}))
	defer up.Close()
	w := openaiWorker(t, up.URL, env{"MAX_REQUEST_BYTES": "1000", "MAX_RESPONSE_BYTES": "2000"})
	status, _, body := do(t, "POST", w.url+"/v1/chat/completions", strings.NewReader(big), nil)
	wantError(t, status, body, 413, "request_too_large")
	// Without a Content-Length (chunked), the cap still holds.
	status, _, body = do(t, "POST", w.url+"/v1/chat/completions", io.MultiReader(strings.NewReader(big)), nil)
	wantError(t, status, body, 413, "request_too_large")
	status, _, body = do(t, "GET", w.url+"/v1/models", nil, nil)
	wantError(t, status, body, 502, "response_too_large")
	status, _, body = do(t, "POST", w.url+"/v1/chat/completions", strings.NewReader(`{}`), nil)
	if status != 200 || len(body) > 2200 || !has(body, `"code":"response_too_large"`) {
		t.Fatalf("a stream over the cap: %d, %d bytes, ends %q", status, len(body), body[max(0, len(body)-200):])
	}
}

func TestDeadAndSilentUpstreams(t *testing.T) {
	w := newWorker(t, env{"UPSTREAM_TIMEOUT_MS": "300", "UPSTREAMS": upstreams(map[string]map[string]any{
		"dead":   {"kind": "openai", "url": "http://" + deadAddr(t) + "/v1"},
		"silent": {"kind": "openai", "url": "http://" + silentAddr(t) + "/v1"}})})
	within(t, 5*time.Second, "a dead upstream", func() {
		status, _, body := do(t, "GET", w.url+"/u/dead/v1/models", nil, nil)
		e := wantError(t, status, body, 502, "upstream_unreachable")
		if has(e.Error.Message, "127.0.0.1") {
			t.Errorf("the message names the upstream's address: %s", e.Error.Message)
		}
	})
	within(t, 5*time.Second, "a silent upstream", func() {
		t0 := time.Now()
		status, _, body := do(t, "GET", w.url+"/u/silent/v1/models", nil, nil)
		wantError(t, status, body, 504, "upstream_timeout")
		if d := time.Since(t0); d < 300*time.Millisecond {
			t.Errorf("gave up after %v, before the 300 ms timeout", d)
		}
	})
}

func TestStalledStreamIsCut(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		fmt.Fprint(w, "data: {\"n\":1}\n\n")
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}))
	defer up.Close()
	w := openaiWorker(t, up.URL, env{"CALL_TIMEOUT_MS": "400"})
	within(t, 5*time.Second, "a stalled stream", func() {
		status, _, body := do(t, "POST", w.url+"/v1/chat/completions", strings.NewReader(`{}`), nil)
		if status != 200 || !has(body, `data: {"n":1}`) || !has(body, `"code":"upstream_timeout"`) {
			t.Fatalf("%d %q", status, body)
		}
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	other, seen := echo(t)
	up := httptest.NewServer(http.RedirectHandler(other.URL+"/steal", http.StatusTemporaryRedirect))
	defer up.Close()
	w := openaiWorker(t, up.URL, nil)
	status, _, body := do(t, "GET", w.url+"/v1/models", nil, nil)
	wantError(t, status, body, 502, "upstream_redirect")
	select {
	case r := <-seen:
		t.Fatalf("the redirect was followed to %s", r.URL)
	default:
	}
}

func TestModelAllowlist(t *testing.T) {
	up, seen := echo(t)
	w := newWorker(t, env{"UPSTREAMS": upstreams(map[string]map[string]any{
		"openai": {"kind": "openai", "url": up.URL + "/v1", "allow_models": []string{"gpt-4.1-mini", "gpt-image-1"}}})})
	form := func(model string) (io.Reader, http.Header) {
		var b bytes.Buffer
		mw := multipart.NewWriter(&b)
		mw.WriteField("model", model)
		mw.WriteField("prompt", "a red circle")
		mw.Close()
		return &b, http.Header{"Content-Type": {mw.FormDataContentType()}}
	}
	for _, tc := range []struct {
		path, model string
		multipart   bool
		ok          bool
	}{
		{"chat/completions", "gpt-4.1-mini", false, true},
		{"chat/completions", "o1-pro", false, false},
		{"chat/completions", "", false, false},
		{"images/edits", "gpt-image-1", true, true},
		{"images/edits", "dall-e-3", true, false},
	} {
		var body io.Reader = strings.NewReader(fmt.Sprintf(`{"model":%q}`, tc.model))
		h := http.Header{"Content-Type": {"application/json"}}
		if tc.multipart {
			body, h = form(tc.model)
		}
		status, _, got := do(t, "POST", w.url+"/v1/"+tc.path, body, h)
		if tc.ok {
			if status != 200 {
				t.Fatalf("%s %q: %d %s", tc.path, tc.model, status, got)
			}
			<-seen
			continue
		}
		wantError(t, status, got, 400, "model_not_allowed")
	}
}
