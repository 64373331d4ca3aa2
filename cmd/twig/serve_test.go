package main

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for a writer and a reader goroutine.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// twig serve listens, answers, and exits 0 when its context ends (as on SIGTERM).
func TestServe(t *testing.T) {
	var out, errb syncBuffer
	e := &env{stdout: &out, stderr: &errb, backend: testBackend}
	ctx, stop := context.WithCancel(context.Background())
	code := make(chan int, 1)
	go func() { code <- run(ctx, e, []string{"serve", "--addr", "127.0.0.1:0", "--grace", "1s"}) }()
	re := regexp.MustCompile(`listening on (http://[0-9.:]+)`)
	var base string
	for deadline := time.Now().Add(time.Minute); base == ""; time.Sleep(10 * time.Millisecond) {
		if m := re.FindStringSubmatch(out.String()); m != nil {
			base = m[1]
		} else if time.Now().After(deadline) {
			t.Fatalf("no listening line; stdout %q stderr %q", out.String(), errb.String())
		}
	}
	resp, err := http.Get(base + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(b), "twig-critic") {
		t.Fatalf("/v1/models: %d %s", resp.StatusCode, b)
	}
	stop()
	select {
	case c := <-code:
		if c != exitOK {
			t.Fatalf("exit %d, stderr %q", c, errb.String())
		}
	case <-time.After(time.Minute):
		t.Fatal("serve did not return after its context ended")
	}
	if !strings.Contains(errb.String(), `"msg":"drained"`) {
		t.Errorf("no drained log line in %q", errb.String())
	}
}

func TestServeUsage(t *testing.T) {
	for _, args := range [][]string{
		{"serve", "extra"},
		{"serve", "--max-runs", "0"},
		{"serve", "--web", "/does/not/exist"},
		{"serve", "--addr", "nonsense"},
	} {
		o := twig(t, testBackend, args...)
		if o.code == exitOK || o.stderr == "" {
			t.Errorf("%q: %+v", args, o)
		}
	}
}
