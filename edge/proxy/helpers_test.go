//go:build !js

package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// testWorker is the native twin on an httptest server, with a fake clock
// for the rate limit and its logs kept.
type testWorker struct {
	url   string
	clock *fakeClock
	logs  *syncBuffer
}

type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

// env is a worker's configuration as wrangler would give it.
type env map[string]string

func (e env) lookup(k string) (string, bool) { v, ok := e[k]; return v, ok }

// upstreams makes UPSTREAMS' JSON.
func upstreams(u map[string]map[string]any) string {
	b, _ := json.Marshal(u)
	return string(b)
}

func newWorker(t testing.TB, e env) *testWorker {
	t.Helper()
	if _, ok := e["RATE_LIMIT_PER_MINUTE"]; !ok {
		e["RATE_LIMIT_PER_MINUTE"] = "0"
	}
	c, err := LoadConfig(e.lookup)
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	logs := &syncBuffer{}
	rt := NativeRuntime(slog.New(slog.NewJSONHandler(logs, nil)))
	clock := &fakeClock{t: time.Unix(1_800_000_000, 0)}
	ml := NewMemLimiter()
	ml.now = clock.now
	rt.Limiter = ml
	hs := httptest.NewServer(NewHandler(c, nil, rt))
	t.Cleanup(hs.Close)
	return &testWorker{url: hs.URL, clock: clock, logs: logs}
}

// apiError is the JSON error body.
type apiError struct {
	Error struct {
		Message string `json:"message"`
		Type    string `json:"type"`
		Code    string `json:"code"`
	} `json:"error"`
}

// do sends a request and returns the status, headers and body.
func do(t testing.TB, method, url string, body io.Reader, h http.Header) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// wantError checks an error answer's status and code.
func wantError(t testing.TB, status int, body string, wantStatus int, wantCode string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal([]byte(body), &e); err != nil {
		t.Fatalf("status %d, body %q: not a JSON error", status, body)
	}
	if status != wantStatus || e.Error.Code != wantCode {
		t.Fatalf("got %d %s (%s), want %d %s", status, e.Error.Code, e.Error.Message, wantStatus, wantCode)
	}
	if e.Error.Message == "" || e.Error.Type == "" {
		t.Fatalf("error without message or type: %s", body)
	}
	return e
}

// deadAddr is a loopback address nobody listens on.
func deadAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// silentAddr accepts connections and never answers.
func silentAddr(t testing.TB) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	return ln.Addr().String()
}

func within(t testing.TB, d time.Duration, what string, f func()) {
	t.Helper()
	done := make(chan struct{})
	go func() { defer close(done); f() }()
	select {
	case <-done:
	case <-time.After(d):
		t.Fatalf("%s: not done within %v", what, d)
	}
}

func ctxTimeout(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func has(s, sub string) bool { return strings.Contains(s, sub) }

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }

func mustRequest(method, path string) *http.Request { return httptest.NewRequest(method, path, nil) }

func sprint(v any) string { return fmt.Sprintf("%v %s %+v", v, v, v)[0:len(redacted)] }
