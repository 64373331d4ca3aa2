//go:build !js

package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	edgeclient "github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/server"
	"github.com/twig-project/twig/edge/wsconn"
)

const (
	tinyWeights = "../../core/model/testdata/tiny.safetensors"
	serveToken  = "twig-serve-token-31337"
)

var tiny = sync.OnceValues(func() (*model.Model, error) { return model.Load(context.Background(), tinyWeights) })

// twigServe is `twig serve` with the tiny model and a token, in process.
func twigServe(t testing.TB) string {
	t.Helper()
	m, err := tiny()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := server.New(server.Options{Backend: m, Token: serveToken})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return hs.URL
}

func twigWorker(t testing.TB, upURL string, more env) *testWorker {
	e := env{"UPSTREAMS": upstreams(map[string]map[string]any{"twig": {"kind": "twig", "url": upURL + "/v1", "key": "TWIG_KEY", "bands": 2}}),
		"TWIG_KEY": serveToken}
	for k, v := range more {
		e[k] = v
	}
	return newWorker(t, e)
}

// recording keeps every message a client transport reads.
type recording struct {
	gateway.Transport
	mu  sync.Mutex
	all []string
}

func (r *recording) ReadMessage() ([]byte, error) {
	b, err := r.Transport.ReadMessage()
	r.mu.Lock()
	r.all = append(r.all, string(b))
	r.mu.Unlock()
	return b, err
}

func (r *recording) text() string { r.mu.Lock(); defer r.mu.Unlock(); return strings.Join(r.all, "\n") }

func dialClient(t testing.TB, url string) (*edgeclient.Client, *recording) {
	t.Helper()
	conn, _, err := wsconn.Dial(ctxTimeout(t, 10*time.Second), "ws"+strings.TrimPrefix(url, "http")+"/v1/ws",
		wsconn.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	rec := &recording{Transport: conn}
	c := edgeclient.New(rec)
	t.Cleanup(func() { c.Close() })
	return c, rec
}

func thinkCall(seed int64) protocol.Call {
	return protocol.Call{Role: protocol.RoleThink, Request: protocol.CallRequest{Prompt: "a red circle above a blue square",
		Settings: protocol.Settings{Seed: seed}, Band: 0, Rows: protocol.Rows{Start: 0, End: 8}, Thoughts: []string{}}}
}

// Through the worker's websocket, a model call streams its thought token by
// token and a whole run completes, with the same results as the upstream
// gives directly; the upstream's token never reaches the client or a log.
func TestWebsocketThroughTheWorker(t *testing.T) {
	up := twigServe(t)
	w := twigWorker(t, up, nil)
	c, rec := dialClient(t, w.url)
	ctx := ctxTimeout(t, 60*time.Second)
	hello, err := c.Hello(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if hello.Server != "twig edge" || hello.Backend != "twig edge → twig" {
		t.Fatalf("hello %+v", hello)
	}
	direct := dialDirect(t, up)

	var deltas []string
	got, err := c.Call(ctx, thinkCall(7), func(ev protocol.Event) {
		if d, ok := ev.Payload.(*protocol.CallDelta); ok {
			deltas = append(deltas, d.Text)
		}
	})
	if err != nil {
		t.Fatal(err)
	}
	want, err := direct.Call(ctx, thinkCall(7), nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(deltas) < 2 || strings.TrimSpace(strings.Join(deltas, "")) != got.Thought.Text || *got.Thought != *want.Thought {
		t.Fatalf("think: %d deltas %q, done %+v, direct %+v", len(deltas), deltas, got.Thought, want.Thought)
	}

	s := protocol.Settings{Seed: 3, Bands: 2}
	var events []protocol.Event
	if err := c.Draw(ctx, "a red circle above a blue square", s, func(ev protocol.Event) error {
		events = append(events, ev)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	done := events[len(events)-1].Payload.(*protocol.RunDone)
	ref, err := engine.Draw(ctx, direct.Backend(2), engine.RunSpec{Prompt: "a red circle above a blue square", Settings: s}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(done.Tokens, []int(ref.Tokens)) || !slices.Equal(done.Thoughts, ref.Thoughts) {
		t.Fatalf("the run through the worker differs from the same loop against the upstream:\n%v\n%v", done.Thoughts, ref.Thoughts)
	}
	if has(rec.text(), serveToken) || has(w.logs.String(), serveToken) {
		t.Fatal("the upstream's token reached the client or the logs")
	}
}

func dialDirect(t testing.TB, up string) *edgeclient.Client {
	conn, _, err := wsconn.Dial(ctxTimeout(t, 10*time.Second), "ws"+strings.TrimPrefix(up, "http")+"/v1/ws", wsconn.DialOptions{Token: serveToken})
	if err != nil {
		t.Fatal(err)
	}
	c := edgeclient.New(conn)
	t.Cleanup(func() { c.Close() })
	return c
}

func TestWebsocketLimits(t *testing.T) {
	up := twigServe(t)
	w := twigWorker(t, up, env{"RATE_LIMIT_PER_MINUTE": "60", "RATE_LIMIT_BURST": "3", "MAX_MESSAGE_BYTES": "4096"})
	c, _ := dialClient(t, w.url) // the connection takes one token
	ctx := ctxTimeout(t, 60*time.Second)
	var connErrs []string
	var mu sync.Mutex
	tooLarge, tooLargeOnce := make(chan struct{}), sync.Once{}
	c.OnConnError = func(e *protocol.Error) {
		mu.Lock()
		connErrs = append(connErrs, e.Code)
		mu.Unlock()
		if e.Code == protocol.CodeTooLarge {
			tooLargeOnce.Do(func() { close(tooLarge) })
		}
	}
	for i := range 2 {
		if _, err := c.Call(ctx, thinkCall(int64(i+1)), nil); err != nil {
			t.Fatalf("call %d: %v", i, err)
		}
	}
	_, err := c.Call(ctx, thinkCall(9), nil)
	if ce, ok := errors.AsType[*gateway.CallError](err); !ok || ce.Code != "rate_limited" {
		t.Fatalf("past the burst: %v", err)
	}
	w.clock.add(time.Second)
	if _, err := c.Call(ctx, thinkCall(9), nil); err != nil {
		t.Fatalf("a second later: %v", err)
	}

	// A message over MAX_MESSAGE_BYTES is refused; the connection goes on.
	big := thinkCall(1)
	big.Request.Prompt = strings.Repeat("red ", 2000)
	// Refused on the connection's stream, so the call itself never ends:
	// it is given up once the refusal has come.
	giveUp, cancel := context.WithCancel(ctxTimeout(t, time.Minute))
	defer cancel()
	go func() {
		select {
		case <-tooLarge:
		case <-giveUp.Done():
		}
		cancel()
	}()
	_, err = c.Call(giveUp, big, nil)
	mu.Lock()
	refused := slices.Contains(connErrs, protocol.CodeTooLarge)
	mu.Unlock()
	if !refused {
		t.Fatalf("an oversized message: %v, connection errors %v", err, connErrs)
	}
	select {
	case <-c.Done():
		t.Fatal("the connection closed")
	default:
	}
}

func TestWebsocketDeadUpstream(t *testing.T) {
	for _, tc := range []struct{ name, addr, says string }{
		{"dead", deadAddr(t), "could not be reached"},
		{"silent", silentAddr(t), "sent no answer within"},
	} {
		w := twigWorker(t, "http://"+tc.addr, env{"UPSTREAM_TIMEOUT_MS": "300"})
		c, _ := dialClient(t, w.url)
		within(t, 10*time.Second, tc.name+" upstream", func() {
			_, err := c.Call(ctxTimeout(t, 30*time.Second), thinkCall(1), nil)
			ce, ok := errors.AsType[*gateway.CallError](err)
			if !ok || ce.Code != protocol.CodeBackend || !has(err.Error(), tc.says) || has(err.Error(), "127.0.0.1") {
				t.Fatalf("%s upstream: %v", tc.name, err)
			}
		})
	}
}

// The HTTP model calls (what `twig draw --backend twig` sends) pass
// through, server-sent events and all.
func TestCallsOverHTTP(t *testing.T) {
	up := twigServe(t)
	w := twigWorker(t, up, nil)
	msg, _ := json.Marshal(protocol.Message{ID: "c1", Body: ptr(thinkCall(7))})
	status, hdr, body := do(t, "POST", w.url+"/v1/calls", strings.NewReader(string(msg)), nil)
	if status != 200 || hdr.Get("Content-Type") != "text/event-stream" || !has(body, `"type":"call_delta"`) || !has(body, `"type":"call_done"`) {
		t.Fatalf("%d %v %s", status, hdr, body)
	}
}

func ptr[T any](v T) *T { return &v }
