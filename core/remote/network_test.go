package remote

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

func TestRetryHonoursRetryAfter(t *testing.T) {
	u := newUpstream(t,
		answer{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "2"}},
		answer{status: 429, file: "error_429.json", header: map[string]string{"Retry-After-Ms": "120"}},
		answer{status: 503, file: "error_500.json"},
		answer{file: "chat_stream_thought.sse"})
	var waits []time.Duration
	o := fastOptions(&waits)
	o.Backoff = 100 * time.Millisecond
	th, _ := NewThinker(u.endpoint("gpt-4o"), o, nil)
	got, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil)
	if err != nil || got == "" {
		t.Fatalf("Think: %q, %v", got, err)
	}
	if len(waits) != 3 || waits[0] != 2*time.Second || waits[1] != 120*time.Millisecond {
		t.Fatalf("waits %v: want 2s (Retry-After), 120ms (retry-after-ms), then backoff", waits)
	}
	if waits[2] < 300*time.Millisecond || waits[2] > 500*time.Millisecond { // the third try's backoff: 100ms·2² ±25 %
		t.Errorf("third wait %v, want 400ms ±25 %%", waits[2])
	}
	if n := len(u.requests()); n != 4 {
		t.Errorf("%d requests, want 4", n)
	}
	// the same body each try
	r := u.requests()
	if string(r[0].body) != string(r[3].body) {
		t.Error("a retry sent a different body")
	}
}

func TestRetryAfterTooLongGivesUp(t *testing.T) {
	u := newUpstream(t, answer{status: 429, file: "error_429.json", header: map[string]string{"Retry-After": "120"}})
	var waits []time.Duration
	th, _ := NewThinker(u.endpoint("gpt-4o"), fastOptions(&waits), nil)
	_, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil)
	if err == nil || !strings.Contains(err.Error(), "HTTP 429 (requests, rate_limit_exceeded)") || !strings.Contains(err.Error(), "retry after 2m0s") {
		t.Fatalf("error %v", err)
	}
	if len(waits) != 0 || len(u.requests()) != 1 {
		t.Errorf("waited %v over %d requests: a Retry-After past MaxBackoff must end the call", waits, len(u.requests()))
	}
}

func TestNoRetryOnClientErrors(t *testing.T) {
	u := newUpstream(t, answer{status: 400, file: "error_400.json"})
	p, _ := NewEditPainter(u.endpoint("dall-e-2"), fastOptions(nil), nil)
	err := p.PaintBand(context.Background(), engine.PaintRequest{State: state(0)}, func(canvas.Strip) {})
	want := "remote: painter at " + u.Listener.Addr().String() + ": image edit: HTTP 400 (invalid_request_error): Invalid image: the mask and the image must have the same dimensions."
	if err == nil || err.Error() != want {
		t.Fatalf("error\n %v\nwant\n %s", err, want)
	}
	if len(u.requests()) != 1 {
		t.Error("a 400 was retried")
	}
}

func TestNetworkErrorsAreRetriedAndNamed(t *testing.T) {
	u := newUpstream(t, answer{})
	ep := u.endpoint("gpt-4o")
	u.Close() // nothing listens there now
	th, _ := NewThinker(ep, fastOptions(nil), nil)
	_, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil)
	e, ok := errors.AsType[*Error](err)
	if !ok || e.Tries != 4 || e.Role != "thinker" || !strings.Contains(err.Error(), "connection refused") || !strings.Contains(err.Error(), ep.Host()) {
		t.Fatalf("error %v", err)
	}
}

func TestCancellationReachesTheUpstream(t *testing.T) {
	u := newUpstream(t, answer{hold: true})
	th, _ := NewThinker(u.endpoint("gpt-4o"), fastOptions(nil), nil)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() {
		_, err := th.Think(ctx, engine.ThinkRequest{State: state(0)}, nil)
		errc <- err
	}()
	for len(u.requests()) == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	select {
	case <-u.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the upstream never saw the request go away")
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Fatalf("error %v, want one wrapping context.Canceled", err)
	}
	if n := len(u.requests()); n != 1 {
		t.Errorf("%d requests: a cancelled call must not be retried", n)
	}
}

// The upstream never answers: only the call timeout, then the run timeout,
// can end the calls (a hang here is the failure).
func TestCallAndRunTimeouts(t *testing.T) {
	u := newUpstream(t, answer{hold: true})
	o := fastOptions(nil)
	o.CallTimeout, o.Retries = 50*time.Millisecond, 1
	th, _ := NewThinker(u.endpoint("gpt-4o"), o, nil)
	_, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil)
	if err == nil || !strings.Contains(err.Error(), "call timeout (50ms)") || !strings.Contains(err.Error(), "gave up after 2 tries") {
		t.Fatalf("call timeout: %v", err)
	}

	o.CallTimeout, o.RunTimeout = time.Hour, 80*time.Millisecond
	b, err := NewBackend(Config{Thinker: Source{Kind: KindOpenAI, Endpoint: u.endpoint("gpt-4o")},
		Critic: Source{Kind: KindOpenAI, Endpoint: u.endpoint("gpt-4o")}, Painter: Source{Kind: KindOpenAI, Endpoint: u.endpoint("dall-e-2")}, Options: o})
	if err != nil {
		t.Fatal(err)
	}
	_, err = engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red circle", Settings: engine.DefaultSettings()}, nil)
	if err == nil || !strings.Contains(err.Error(), "time limit for remote calls ran out") || engine.Code(err) != "thinker_failed" {
		t.Fatalf("run timeout: %v (%s)", err, engine.Code(err))
	}
}

func TestResponseSizeCaps(t *testing.T) {
	big := `{"choices":[{"index":0,"message":{"role":"assistant","content":"` + strings.Repeat("x", 4096) + `"},"finish_reason":"stop"}]}`
	u := newUpstream(t, answer{body: big})
	o := fastOptions(nil)
	o.MaxResponseBytes = 1024
	c, _ := NewCritic(u.endpoint("gpt-4o"), o, nil)
	_, err := c.Critique(context.Background(), engine.CritiqueRequest{State: drawn(state(0)), Thought: "x"})
	if err == nil || !strings.Contains(err.Error(), "over the size limit of 1024 bytes") || !strings.Contains(err.Error(), "critic at") {
		t.Fatalf("error %v", err)
	}
	// a stream that never ends is cut at the cap too
	chunk := `data: {"choices":[{"index":0,"delta":{"content":"word "},"finish_reason":null}]}` + "\n\n"
	u2 := newUpstream(t, answer{file: "", body: strings.Repeat(chunk, 200), header: map[string]string{"Content-Type": "text/event-stream"}})
	th, _ := NewThinker(u2.endpoint("gpt-4o"), o, nil)
	n := 0
	_, err = th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, func(string) { n++ })
	if err == nil || !strings.Contains(err.Error(), "over the size limit") || n == 0 || n > 1024/len(chunk)+1 {
		t.Fatalf("stream: %v after %d deltas", err, n)
	}
}

func TestKeyNeverShows(t *testing.T) {
	// an upstream that echoes what it was sent, headers included
	echo := newUpstream(t)
	echo.Config.Handler = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		msg := fmt.Sprintf("bad key %s (header %q)", strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "), r.Header.Get("Authorization"))
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"message": msg, "type": "invalid_request_error", "code": testKey.Reveal()}})
	})
	ep := echo.endpoint("gpt-4o")
	th, _ := NewThinker(ep, fastOptions(nil), nil)
	_, err := th.Think(context.Background(), engine.ThinkRequest{State: state(0)}, nil)
	if err == nil || strings.Contains(err.Error(), testKey.Reveal()) || !strings.Contains(err.Error(), "[redacted]") {
		t.Fatalf("error %v", err)
	}
	cfg := Config{Thinker: Source{Kind: KindOpenAI, Endpoint: ep}, Critic: Source{Kind: KindOpenAI, Endpoint: ep},
		Painter: Source{Kind: KindTwig, Endpoint: ep}}
	b, _ := NewBackend(cfg)
	for _, s := range []string{fmt.Sprint(ep), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", ep), fmt.Sprintf("%s %q %x", ep.APIKey, ep.APIKey, ep.APIKey), b.Name()} {
		if strings.Contains(s, testKey.Reveal()) || strings.Contains(s, "4f9a1c0b") {
			t.Errorf("the key shows in %q", s)
		}
	}
	j, err := json.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(j), testKey.Reveal()) {
		t.Errorf("the key shows in JSON %s", j)
	}
	// a whole run's events
	var events []string
	engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red circle"}, func(ev protocol.Event) error {
		j, _ := json.Marshal(ev)
		events = append(events, string(j))
		return nil
	})
	if len(events) == 0 || slices.ContainsFunc(events, func(s string) bool { return strings.Contains(s, testKey.Reveal()) }) {
		t.Errorf("events %v", events)
	}
}
