package server_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/server"
	"github.com/twig-project/twig/edge/wsconn"
	"github.com/twig-project/twig/internal/render"
	"github.com/twig-project/twig/internal/world/tokens"
)

// A run over the websocket: hello, then the run's interleaved events in
// order, ending in run_done whose canvas is a valid image.
func TestRunOverWebSocket(t *testing.T) {
	ts := newServer(t, server.Options{})
	c := dial(t, ts.ws, nil)
	s := protocol.DefaultSettings()
	s.Seed = 7
	send(t, c, start("r1", "a red circle above a blue square", s))
	evs := untilEnd(t, c, "r1")
	film, err := render.Rebuild(evs)
	if err != nil {
		t.Fatalf("the stream does not rebuild: %v", err)
	}
	if film.Done == nil {
		t.Fatalf("the run failed: %+v", film.Failure)
	}
	seen := map[string]int{}
	for _, ev := range evs {
		seen[ev.Type]++
	}
	for _, typ := range []string{protocol.TypeRunStarted, protocol.TypeBandStarted, protocol.TypeThoughtDelta,
		protocol.TypeThoughtDone, protocol.TypeBandProgress, protocol.TypeBandDone, protocol.TypeCritique, protocol.TypeRunDone} {
		if seen[typ] == 0 {
			t.Errorf("no %s event in the stream", typ)
		}
	}
	// thoughts are interleaved with drawing: band 1's thought comes after band 0's rows
	firstRow1, thought1 := -1, -1
	for i, ev := range evs {
		switch p := ev.Payload.(type) {
		case *protocol.BandProgress:
			if p.Band == 0 && firstRow1 < 0 {
				firstRow1 = i
			}
		case *protocol.ThoughtDone:
			if p.Band == 1 {
				thought1 = i
			}
		}
	}
	if firstRow1 < 0 || thought1 < firstRow1 {
		t.Errorf("band 1's thought (event %d) should follow band 0's rows (event %d)", thought1, firstRow1)
	}
	toks := tokens.Tokens(film.Done.Tokens)
	for i, tok := range toks {
		if tok < 0 || tok >= tokens.NumImageTokens {
			t.Fatalf("final canvas cell %d = %d", i, tok)
		}
	}
	if img := tokens.Picture(toks); img.Bounds().Dx() != tokens.PxSize {
		t.Fatal("no picture")
	}
}

// Two runs share a connection; each stream is whole and in order.
func TestRunsShareAConnection(t *testing.T) {
	ts := newServer(t, server.Options{})
	c := dial(t, ts.ws, nil)
	s := protocol.DefaultSettings()
	send(t, c, start("a", "a red circle", s))
	send(t, c, start("b", "two blue squares", s))
	streams := map[string][]protocol.Event{}
	for len(streams) < 2 || !ended(streams["a"]) || !ended(streams["b"]) {
		ev := next(t, c)
		streams[ev.RunID] = append(streams[ev.RunID], ev)
	}
	for id, evs := range streams {
		if _, err := render.Rebuild(evs); err != nil {
			t.Errorf("run %s: %v", id, err)
		}
	}
}

func ended(evs []protocol.Event) bool {
	return len(evs) > 0 && (evs[len(evs)-1].Type == protocol.TypeRunDone || evs[len(evs)-1].Type == protocol.TypeError)
}

// A cancelled run ends with canceled and its painter stops; the connection
// goes on. The run is held after each row, so it is in flight until the
// cancel arrives however slowly the test runs.
func TestCancel(t *testing.T) {
	f := newFake(2, 0).holding()
	ts := newServer(t, server.Options{Backend: f.backend()})
	c := dial(t, ts.ws, nil)
	send(t, c, start("r", "anything", protocol.DefaultSettings()))
	for ev := next(t, c); ev.Type != protocol.TypeBandProgress; ev = next(t, c) {
	}
	send(t, c, protocol.Message{ID: "r", Body: &protocol.Cancel{}})
	evs := untilEnd(t, c, "r")
	e, ok := evs[len(evs)-1].Payload.(*protocol.Error)
	if !ok || e.Code != protocol.CodeCanceled {
		t.Fatalf("the run ended with %+v, want error canceled", evs[len(evs)-1].Payload)
	}
	waitFor(t, 20*time.Second, "the painter to stop", func() bool { return f.stops() > 0 })
	waitFor(t, 20*time.Second, "nothing in flight", func() bool { return ts.Gateway().Stats().InFlight == 0 })
	// cancelling what is not in flight does nothing; the connection goes on
	f.release()
	send(t, c, protocol.Message{ID: "r", Body: &protocol.Cancel{}})
	send(t, c, start("r2", "anything", protocol.DefaultSettings()))
	if evs := untilEnd(t, c, "r2"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("after a cancel, a new run ended with %s", evs[len(evs)-1].Type)
	}
}

// A client that vanishes (no close frame) cancels its runs: they are held
// after their first row and would never end otherwise.
func TestDisconnectCancelsRuns(t *testing.T) {
	f := newFake(2, 0).holding()
	ts := newServer(t, server.Options{Backend: f.backend()})
	c := dial(t, ts.ws, nil)
	send(t, c, start("r1", "anything", protocol.DefaultSettings()))
	send(t, c, start("r2", "anything", protocol.DefaultSettings()))
	for painting := map[string]bool{}; len(painting) < 2; { // both held after a row
		if ev := next(t, c); ev.Type == protocol.TypeBandProgress {
			painting[ev.RunID] = true
		}
	}
	if n := ts.Gateway().Stats().InFlight; n != 2 {
		t.Fatalf("%d runs in flight, want 2", n)
	}
	c.NetConn().Close()
	waitFor(t, 20*time.Second, "the runs to be cancelled", func() bool { return ts.Gateway().Stats().InFlight == 0 })
	if n := f.stops(); n != 2 {
		t.Errorf("%d role calls saw their run cancelled, want 2", n)
	}
	waitFor(t, 20*time.Second, "the connection to be gone", func() bool { return ts.Gateway().Stats().Conns == 0 })
}

// A client that stops reading: its queue fills, it is closed with 4001, its
// run stops; the server and another client are unaffected; reading again,
// the client finds what was written before, coalesced deltas among them,
// then the documented close.
//
// Whether the writer falls behind the thinker before the socket is full is
// the scheduler's choice, so the test makes it: the writer is held (OnWrite)
// while the thinker queues deltas up to a pause, so that they coalesce, then
// let go until it has written a coalesced one; only then does the thinker
// talk on, until the socket and the queue are full.
func TestSlowReader(t *testing.T) {
	f := newFake(-1, 0).pausing(200) // a thinker that never stops talking
	writerGo, wroteCoalesced := make(chan struct{}), make(chan struct{})
	var held, coalescedOnce sync.Once
	onWrite := func(ev protocol.Event) {
		if ev.RunID != "s" {
			return
		}
		held.Do(func() { <-writerGo })
		if d, ok := ev.Payload.(*protocol.ThoughtDelta); ok && d.Coalesced > 1 {
			coalescedOnce.Do(func() { close(wroteCoalesced) })
		}
	}
	srv, err := server.New(server.Options{Backend: f.backend(), OnWrite: onWrite, Limits: gateway.Limits{QueueMessages: 64},
		WebSocket: wsconn.Options{WriteTimeout: time.Hour, CloseLinger: time.Minute}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.Listener = smallBuffers{hs.Listener}
	hs.Start()
	defer hs.Close()
	url := "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/ws"

	small := &websocket.Dialer{NetDialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
		if tc, ok := c.(*net.TCPConn); ok {
			tc.SetReadBuffer(4 << 10)
		}
		return c, err
	}}
	slow, _, err := small.Dial(url, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	send(t, slow, start("s", "anything", protocol.DefaultSettings()))
	// ... and read nothing.
	<-f.paused // 200 deltas queued behind the held writer: all but the first few merged
	close(writerGo)
	<-wroteCoalesced // a few KB, which the socket takes without the client reading
	close(f.resume)
	waitFor(t, time.Minute, "the slow client to be closed", func() bool { return srv.Gateway().Stats().Closes[protocol.CloseSlowConsumer] == 1 })
	waitFor(t, time.Minute, "its run to stop", func() bool { return f.stops() > 0 })
	// flagged, it starts nothing more
	for _, id := range []string{"s2", "s3", "s4"} {
		send(t, slow, start(id, "anything", protocol.DefaultSettings()))
	}

	// another client is served meanwhile
	other := dial(t, url, nil)
	s := protocol.DefaultSettings()
	s.Think = false
	send(t, other, start("o", "anything", s))
	if evs := untilEnd(t, other, "o"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("the other client's run ended with %s", evs[len(evs)-1].Type)
	}
	other.Close()

	// the slow client, reading again, finds what was sent, then the documented close
	slow.SetReadDeadline(time.Now().Add(time.Minute))
	coalesced := 0
	for {
		_, b, err := slow.ReadMessage()
		if err != nil {
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != protocol.CloseSlowConsumer {
				t.Fatalf("the slow client's connection ended with %v, want close %d", err, protocol.CloseSlowConsumer)
			}
			t.Logf("close %d %q", ce.Code, ce.Text)
			break
		}
		if ev, err := protocol.Decode(b); err == nil {
			if d, ok := ev.Payload.(*protocol.ThoughtDelta); ok && d.Coalesced > 1 {
				coalesced++
			}
		}
	}
	if coalesced == 0 {
		t.Error("no coalesced thought deltas before the close")
	}
	// the server read s2-s4 before the client's reply to the close frame
	waitFor(t, time.Minute, "the connections to end", func() bool { return srv.Gateway().Stats().Conns == 0 })
	if st := srv.Gateway().Stats(); st.Runs != 2 || st.InFlight != 0 {
		t.Fatalf("%d runs started, %d in flight; want 2 (s and o), 0: a flagged connection started more", st.Runs, st.InFlight)
	}
}

// A slow consumer that reads nothing at all cannot be sent the close frame
// (the frame being written never gets through): it is dropped once the
// close linger has passed, not when that write times out (an hour here).
// The server's writes stall once the hello is read, so the writer is stuck
// in a write when the queue fills.
func TestSlowReaderDroppedPromptly(t *testing.T) {
	f := newFake(-1, 0)
	srv, err := server.New(server.Options{Backend: f.backend(), Limits: gateway.Limits{QueueMessages: 64},
		WebSocket: wsconn.Options{WriteTimeout: time.Hour, CloseLinger: 50 * time.Millisecond}})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	ln := newStallListener(hs.Listener)
	hs.Listener = ln
	hs.Start()
	defer hs.Close()
	slow := dial(t, "ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/ws", nil)
	(<-ln.conns).stall()
	send(t, slow, start("s", "anything", protocol.DefaultSettings()))
	waitFor(t, time.Minute, "the slow client to be flagged", func() bool { return srv.Gateway().Stats().Closes[protocol.CloseSlowConsumer] == 1 })
	waitFor(t, time.Minute, "the slow client's connection to end", func() bool { return srv.Gateway().Stats().Conns == 0 })
	waitFor(t, time.Minute, "its run to stop", func() bool { return f.stops() > 0 && srv.Gateway().Stats().InFlight == 0 })
	slow.SetReadDeadline(time.Now().Add(time.Minute))
	_, _, err = slow.ReadMessage()
	if !websocket.IsCloseError(err, websocket.CloseAbnormalClosure) {
		t.Fatalf("a client that read nothing: %v, want 1006 (no close frame could reach it)", err)
	}
}

func TestOversizeMessage(t *testing.T) {
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Limits: gateway.Limits{MaxMessageBytes: 1024},
		WebSocket: wsconn.Options{HardMessageBytes: 8192}})
	c := dial(t, ts.ws, nil)
	big := `{"v":"twig/2","type":"start","id":"big","prompt":"` + strings.Repeat("a", 2000) + `"}`
	send(t, c, big)
	ev := next(t, c)
	if e, ok := ev.Payload.(*protocol.Error); !ok || e.Code != protocol.CodeTooLarge || ev.RunID != "" {
		t.Fatalf("got %s %+v, want a connection error message_too_large", ev.Type, ev.Payload)
	}
	// the connection survives
	send(t, c, start("ok", "anything", protocol.DefaultSettings()))
	if evs := untilEnd(t, c, "ok"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("after an oversize message a run ended with %s", evs[len(evs)-1].Type)
	}
	// over the hard limit: closed with 1009
	send(t, c, strings.Repeat("x", 10000))
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != websocket.CloseMessageTooBig {
		t.Fatalf("over the hard limit: %v, want close 1009", err)
	}
}

func TestOriginAndToken(t *testing.T) {
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Token: "s3cret", Origins: []string{"https://ok.example"}})
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	for _, tc := range []struct {
		name   string
		url    string
		header http.Header
		status int
	}{
		{"no token", ts.ws, nil, http.StatusUnauthorized},
		{"wrong token", ts.ws, auth("nope"), http.StatusUnauthorized},
		{"bad origin", ts.ws, http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {"https://evil.example"}}, http.StatusForbidden},
		{"token", ts.ws, auth("s3cret"), http.StatusSwitchingProtocols},
		{"token in the query", ts.ws + "?access_token=s3cret", nil, http.StatusSwitchingProtocols},
		{"allowed origin", ts.ws, http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {"https://ok.example"}}, http.StatusSwitchingProtocols},
		{"own origin", ts.ws, http.Header{"Authorization": {"Bearer s3cret"}, "Origin": {ts.http.URL}}, http.StatusSwitchingProtocols},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, resp, err := websocket.DefaultDialer.Dial(tc.url, tc.header)
			if c != nil {
				c.Close()
			}
			if resp == nil {
				t.Fatalf("no response: %v", err)
			}
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d (%v)", resp.StatusCode, tc.status, err)
			}
		})
	}
	// the HTTP API takes the same token
	resp, err := http.Get(ts.http.URL + "/v1/models")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Fatalf("/v1/models without a token: %d", resp.StatusCode)
	}
	if resp, _ := http.Get(ts.http.URL + "/healthz"); resp.StatusCode != http.StatusOK {
		t.Fatalf("/healthz needs no token, got %d", resp.StatusCode)
	}
}

// Malformed and refused messages answer with an error (code + text), on the
// request's stream when the id is readable and free, else on the
// connection's; the connection survives.
func TestRefusedMessages(t *testing.T) {
	f := newFake(1, 0).holding() // "busy" stays in flight until released
	ts := newServer(t, server.Options{Backend: f.backend(), Limits: gateway.Limits{MaxInFlight: 1}})
	c := dial(t, ts.ws, nil)
	send(t, c, start("busy", "anything", protocol.DefaultSettings()))
	for _, tc := range []struct {
		name, msg, id, code string
	}{
		{"not json", `{"v":"twig/2",`, "", protocol.CodeBadMessage},
		{"an array", `[1,2]`, "", protocol.CodeBadMessage},
		{"no version", `{"type":"start","id":"x1","prompt":"a red circle"}`, "x1", protocol.CodeBadVersion},
		{"other version", `{"v":"twig/1","type":"start","id":"x2","prompt":"a red circle"}`, "x2", protocol.CodeBadVersion},
		{"unknown type", `{"v":"twig/2","type":"launch","id":"x3"}`, "x3", protocol.CodeUnknownType},
		{"a server event", `{"v":"twig/2","type":"run_done","id":"x4"}`, "x4", protocol.CodeUnknownType},
		{"no id", `{"v":"twig/2","type":"start","prompt":"a red circle"}`, "", protocol.CodeBadMessage},
		{"bad id", `{"v":"twig/2","type":"start","id":"a b","prompt":"a red circle"}`, "", protocol.CodeBadMessage},
		{"unknown field", `{"v":"twig/2","type":"start","id":"x5","prompt":"a red circle","colour":"red"}`, "x5", protocol.CodeBadMessage},
		{"unknown setting", `{"v":"twig/2","type":"start","id":"x6","prompt":"a red circle","settings":{"treshold":5}}`, "x6", protocol.CodeBadMessage},
		{"invalid setting", `{"v":"twig/2","type":"start","id":"x7","prompt":"a red circle","settings":{"threshold":500}}`, "x7", protocol.CodeInvalidRequest},
		{"empty prompt", `{"v":"twig/2","type":"start","id":"x8","prompt":"  "}`, "x8", protocol.CodeInvalidRequest},
		{"bad call", `{"v":"twig/2","type":"call","id":"x9","role":"dance","request":{"prompt":"p","rows":{"start":0,"end":6}}}`, "x9", protocol.CodeInvalidRequest},
		{"duplicate id", `{"v":"twig/2","type":"start","id":"busy","prompt":"a red circle"}`, "", protocol.CodeDuplicateID},
		{"over the limit", `{"v":"twig/2","type":"start","id":"x10","prompt":"a red circle"}`, "x10", protocol.CodeTooMany},
	} {
		send(t, c, tc.msg)
		var ev protocol.Event
		for ev = next(t, c); ev.RunID == "busy"; ev = next(t, c) {
		}
		e, ok := ev.Payload.(*protocol.Error)
		if !ok || ev.RunID != tc.id || e.Code != tc.code || e.Message == "" {
			t.Errorf("%s: got %s run_id %q %+v, want error %s on %q", tc.name, ev.Type, ev.RunID, ev.Payload, tc.code, tc.id)
		}
	}
	f.release()
	if evs := untilEnd(t, c, "busy"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("the run in flight ended with %s", evs[len(evs)-1].Type)
	}
}

// The model calls, from the Go client: a run played here whose thinker,
// painter and critic are the server's model.
func TestModelCallsFromClient(t *testing.T) {
	ts := newServer(t, server.Options{})
	cl := dialClient(t, ts.ws)
	hello, err := cl.Hello(context.Background())
	if err != nil || len(hello.Roles) != 4 {
		t.Fatalf("hello %+v %v", hello, err)
	}
	s := engine.DefaultSettings()
	s.Seed = 3
	var events []protocol.Event
	res, err := engine.Draw(context.Background(), cl.Backend(3), engine.RunSpec{Prompt: "a red circle above a blue square", Settings: s},
		func(ev protocol.Event) error { events = append(events, ev); return nil })
	if err != nil {
		t.Fatal(err)
	}
	if _, err := render.Rebuild(events); err != nil {
		t.Fatal(err)
	}
	deltas := 0
	for _, ev := range events {
		if ev.Type == protocol.TypeThoughtDelta {
			deltas++
		}
	}
	if deltas <= res.Stats.Bands {
		t.Errorf("%d thought deltas for %d bands: thoughts should stream token by token", deltas, res.Stats.Bands)
	}
	// calls are stateless and seeded from the request: the same request, the same answer
	req := protocol.CallRequest{Prompt: "a red circle", Settings: s, Band: 0, Rows: protocol.Rows{Start: 0, End: 6}}
	var texts []string
	for range 2 {
		done, err := cl.Call(context.Background(), protocol.Call{Role: protocol.RoleThink, Request: req}, nil)
		if err != nil {
			t.Fatal(err)
		}
		texts = append(texts, done.Thought.Text)
	}
	if texts[0] != texts[1] || texts[0] == "" {
		t.Fatalf("the same think call gave %q and %q", texts[0], texts[1])
	}
	// a call with a bad state is refused with invalid_request
	_, err = cl.Call(context.Background(), protocol.Call{Role: protocol.RolePaint, Request: protocol.CallRequest{
		Prompt: "a red circle", Settings: s, Rows: protocol.Rows{Start: 0, End: 6}, Canvas: []int{1, 2, 3}}}, nil)
	if ce, ok := errors.AsType[*rolecall.Error](err); !ok || ce.Code != protocol.CodeInvalidRequest {
		t.Fatalf("bad canvas: %v, want invalid_request", err)
	}
	// a call whose context has ended is not made
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := cl.Roles().Thinker.Think(ctx, engine.ThinkRequest{State: engine.State{Prompt: "a red circle", Settings: s, Rows: engine.Rows{Start: 0, End: 96}, Canvas: blank()}}, nil); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled call: %v", err)
	}
}

// A call cancelled while the server streams it returns context.Canceled
// and stops on the server. Its thinker talks until cancelled, so only the
// cancel can end it.
func TestCancelCallFromClient(t *testing.T) {
	f := newFake(-1, 0)
	ts := newServer(t, server.Options{Backend: f.backend()})
	cl := dialClient(t, ts.ws)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	s := engine.DefaultSettings()
	_, err := cl.Roles().Thinker.Think(ctx, engine.ThinkRequest{State: engine.State{Prompt: "a red circle", Settings: s, Rows: engine.Rows{Start: 0, End: 96}, Canvas: blank()}},
		func(string) { cancel() })
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("a call cancelled while streaming: %v", err)
	}
	waitFor(t, 20*time.Second, "the thinker to stop", func() bool { return f.stops() == 1 })
	waitFor(t, 20*time.Second, "nothing in flight", func() bool { return ts.Gateway().Stats().InFlight == 0 })
}

func TestIdleClose(t *testing.T) {
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), Limits: gateway.Limits{IdleTimeout: 200 * time.Millisecond}})
	c := dial(t, ts.ws, nil)
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, _, err := c.ReadMessage()
	var ce *websocket.CloseError
	if !errors.As(err, &ce) || ce.Code != protocol.CloseIdle {
		t.Fatalf("idle connection: %v, want close %d", err, protocol.CloseIdle)
	}
}

// Shutdown drains: new connections are refused, a run in flight finishes,
// connections close with 1001, Serve returns nil. The run is held until the
// test releases it (or never, when the grace must run out).
func TestDrain(t *testing.T) {
	for _, tc := range []struct {
		name     string
		grace    time.Duration
		release  bool
		wantLast string
	}{
		{"run finishes", time.Hour, true, protocol.TypeRunDone},
		{"grace runs out", 100 * time.Millisecond, false, protocol.TypeError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFake(1, 0).holding()
			srv, err := server.New(server.Options{Backend: f.backend(), Grace: tc.grace})
			if err != nil {
				t.Fatal(err)
			}
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			ctx, stop := context.WithCancel(context.Background())
			served := make(chan error, 1)
			go func() { served <- srv.Serve(ctx, ln) }()
			url := "ws://" + ln.Addr().String() + "/v1/ws"
			c := dial(t, url, nil)
			send(t, c, start("r", "anything", protocol.DefaultSettings()))
			<-f.started
			stop()
			waitFor(t, 20*time.Second, "draining", func() bool { return srv.Gateway().Stats().Draining })
			if c2, _, err := websocket.DefaultDialer.Dial(url, nil); err == nil {
				c2.Close()
				t.Fatal("a new connection was accepted while draining")
			}
			if tc.release {
				f.release()
			}
			evs := untilEnd(t, c, "r")
			if last := evs[len(evs)-1]; last.Type != tc.wantLast {
				t.Fatalf("the run ended with %s %+v, want %s", last.Type, last.Payload, tc.wantLast)
			}
			c.SetReadDeadline(time.Now().Add(20 * time.Second))
			_, _, err = c.ReadMessage()
			var ce *websocket.CloseError
			if !errors.As(err, &ce) || ce.Code != protocol.CloseGoingAway {
				t.Fatalf("after the drain: %v, want close 1001", err)
			}
			select {
			case err := <-served:
				if err != nil {
					t.Fatalf("Serve returned %v, want nil", err)
				}
			case <-time.After(20 * time.Second):
				t.Fatal("Serve did not return")
			}
		})
	}
}

// Per-address limits hold across connections: requests in flight, then
// connections (refused before the upgrade with 429).
func TestPerAddressLimits(t *testing.T) {
	f := newFake(1, 0).holding() // "a" stays in flight until released
	ts := newServer(t, server.Options{Backend: f.backend(), Limits: gateway.Limits{MaxInFlightPerAddr: 1, MaxConnsPerAddr: 2}})
	a := dial(t, ts.ws, nil)
	b := dial(t, ts.ws, nil)
	send(t, a, start("a", "anything", protocol.DefaultSettings()))
	<-f.started
	send(t, b, start("b", "anything", protocol.DefaultSettings()))
	ev := next(t, b)
	if e, ok := ev.Payload.(*protocol.Error); !ok || e.Code != protocol.CodeTooMany || ev.RunID != "b" {
		t.Fatalf("second connection's run: %s %+v, want too_many_requests", ev.Type, ev.Payload)
	}
	_, resp, err := websocket.DefaultDialer.Dial(ts.ws, nil)
	if err == nil || resp == nil || resp.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("third connection: %v, want 429", err)
	}
	f.release()
	if evs := untilEnd(t, a, "a"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("the first run ended with %s", evs[len(evs)-1].Type)
	}
	send(t, b, start("b2", "anything", protocol.DefaultSettings()))
	if evs := untilEnd(t, b, "b2"); evs[len(evs)-1].Type != protocol.TypeRunDone {
		t.Fatalf("once the first ended, a run from the second connection ended with %s", evs[len(evs)-1].Type)
	}
}

// blank is an undrawn canvas of the embedded model's size.
func blank() *canvas.Canvas {
	c, _ := engine.TokenGeometry.NewCanvas()
	return c
}

// A run's in-flight slot is free by the time its terminal event is written:
// a client that starts its next request the moment it reads run_done must
// not be refused. The slot used to be released after the event was queued,
// so a writer on the other CPU could send run_done first (TestPerAddressLimits
// failed so under load); the writer's hook checks the order on every run.
func TestSlotFreeBeforeRunDoneIsWritten(t *testing.T) {
	var gw atomic.Pointer[gateway.Gateway]
	refused := make(chan error, 16)
	onWrite := func(ev protocol.Event) {
		if ev.Type != protocol.TypeRunDone {
			return
		}
		release, err := gw.Load().Acquire("127.0.0.1")
		if err == nil {
			release()
		}
		refused <- err
	}
	ts := newServer(t, server.Options{Backend: newFake(1, 0).backend(), OnWrite: onWrite,
		Limits: gateway.Limits{MaxInFlightPerAddr: 1}})
	gw.Store(ts.Gateway())
	c := dial(t, ts.ws, nil)
	for i := range 10 {
		id := fmt.Sprintf("r%d", i)
		send(t, c, start(id, "anything", protocol.DefaultSettings()))
		if evs := untilEnd(t, c, id); evs[len(evs)-1].Type != protocol.TypeRunDone {
			t.Fatalf("run %s ended with %s", id, evs[len(evs)-1].Type)
		}
		if err := <-refused; err != nil {
			t.Fatalf("run %s: its slot was still taken when run_done was written: %v", id, err)
		}
	}
}
