package server_test

import (
	"context"
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/server"
	"github.com/twig-project/twig/edge/wsconn"
	"github.com/twig-project/twig/internal/world/tokens"
)

// tinyWeights is a small, poorly trained model that runs every role.
const tinyWeights = "../../core/model/testdata/tiny.safetensors"

var tiny = sync.OnceValues(func() (*model.Model, error) { return model.Load(context.Background(), tinyWeights) })

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := tiny()
	if err != nil {
		t.Fatalf("load %s: %v", tinyWeights, err)
	}
	return m
}

// testServer is a server on an httptest listener.
type testServer struct {
	*server.Server
	http *httptest.Server
	ws   string // ws:// URL of /v1/ws
}

func newServer(t testing.TB, o server.Options) *testServer {
	t.Helper()
	if o.Backend == nil {
		o.Backend = tinyModel(t)
	}
	srv, err := server.New(o)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	return &testServer{Server: srv, http: hs, ws: "ws" + strings.TrimPrefix(hs.URL, "http") + "/v1/ws"}
}

// dialClient opens a Go client (client.Client over wsconn) to url, closed
// when the test ends.
func dialClient(t testing.TB, url string) *client.Client {
	t.Helper()
	conn, _, err := wsconn.Dial(context.Background(), url, wsconn.DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	cl := client.New(conn)
	t.Cleanup(func() { cl.Close() })
	return cl
}

// dial opens a raw gorilla connection and reads the hello.
func dial(t testing.TB, url string, h http.Header) *websocket.Conn {
	t.Helper()
	c, resp, err := websocket.DefaultDialer.Dial(url, h)
	if err != nil {
		status := ""
		if resp != nil {
			status = resp.Status
		}
		t.Fatalf("dial %s: %v %s", url, err, status)
	}
	t.Cleanup(func() { c.Close() })
	if ev := next(t, c); ev.Type != protocol.TypeHello {
		t.Fatalf("first message is %s, want hello", ev.Type)
	}
	return c
}

// next reads one event, failing after 20 s.
func next(t testing.TB, c *websocket.Conn) protocol.Event {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second))
	_, b, err := c.ReadMessage()
	if err != nil {
		t.Fatalf("read: %v", err)
	}
	ev, err := protocol.Decode(b)
	if err != nil {
		t.Fatalf("decode %s: %v", b, err)
	}
	return ev
}

func send(t testing.TB, c *websocket.Conn, v any) {
	t.Helper()
	var b []byte
	switch m := v.(type) {
	case string:
		b = []byte(m)
	case []byte:
		b = m
	default:
		var err error
		if b, err = json.Marshal(v); err != nil {
			t.Fatal(err)
		}
	}
	if err := c.WriteMessage(websocket.TextMessage, b); err != nil {
		t.Fatalf("write: %v", err)
	}
}

func start(id, prompt string, s protocol.Settings) protocol.Message {
	return protocol.Message{ID: id, Body: &protocol.Start{Prompt: prompt, Settings: s}}
}

// untilEnd reads events of run id until its run_done or error, skipping
// other streams' events; it returns the run's events.
func untilEnd(t testing.TB, c *websocket.Conn, id string) []protocol.Event {
	t.Helper()
	var out []protocol.Event
	for {
		ev := next(t, c)
		if ev.RunID != id {
			continue
		}
		out = append(out, ev)
		if ev.Type == protocol.TypeRunDone || ev.Type == protocol.TypeError || ev.Type == protocol.TypeCallDone {
			return out
		}
	}
}

// waitFor polls cond for up to d.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// fake is a scripted backend: each band's thought is deltas tokens (< 0:
// tokens until the run is cancelled), each row takes rowDelay; it records
// when a role saw its context end. Its hold and pause let a test decide
// when a run moves on, instead of hoping the scheduler is quick enough.
type fake struct {
	deltas   int
	rowDelay time.Duration
	// pace, when set, spaces the thought deltas and rows of a run on an
	// open-loop schedule: the k-th is due k·pace after the run's start
	// (one that comes late goes at once; the lateness is not carried on).
	pace time.Duration
	// hold, when set, keeps each run in flight after each row it paints
	// until hold is closed or the run is cancelled.
	hold chan struct{}
	// pauseAt, when > 0, makes the thinker, after that many deltas of a
	// band, send on paused and wait for resume to be closed (or the run to
	// be cancelled).
	pauseAt        int
	paused, resume chan struct{}

	mu      sync.Mutex
	stopped int // role calls that returned because their context ended
	started chan struct{}
}

func newFake(deltas int, rowDelay time.Duration) *fake {
	return &fake{deltas: deltas, rowDelay: rowDelay, started: make(chan struct{}, 64)}
}

// holding makes the runs wait after each row until release is called.
func (f *fake) holding() *fake {
	f.hold = make(chan struct{})
	return f
}

func (f *fake) release() { close(f.hold) }

// pausing makes the thinker pause after n deltas (see pauseAt).
func (f *fake) pausing(n int) *fake {
	f.pauseAt, f.paused, f.resume = n, make(chan struct{}, 64), make(chan struct{})
	return f
}

func (f *fake) stops() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.stopped
}

func (f *fake) stop(err error) error {
	f.mu.Lock()
	f.stopped++
	f.mu.Unlock()
	return err
}

// paced spaces each run's deltas and rows pace apart (see fake.pace).
func (f *fake) paced(pace time.Duration) *fake {
	f.pace = pace
	return f
}

// pacer returns a run's wait for its next paced event (nil without pace).
func (f *fake) pacer() func(ctx context.Context) error {
	if f.pace <= 0 {
		return func(context.Context) error { return nil }
	}
	next := time.Now()
	t := time.NewTimer(0)
	<-t.C
	return func(ctx context.Context) error {
		next = next.Add(f.pace)
		d := time.Until(next)
		if d <= 0 {
			return nil
		}
		t.Reset(d)
		select {
		case <-t.C:
			return nil
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

func (f *fake) backend() engine.Backend {
	return engine.FuncBackend{Bands: 2, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		select {
		case f.started <- struct{}{}:
		default:
		}
		wait := f.pacer()
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
				var sb strings.Builder
				for i := 0; f.deltas < 0 || i < f.deltas; i++ {
					if ctx.Err() != nil {
						return "", f.stop(ctx.Err())
					}
					if f.pauseAt > 0 && i == f.pauseAt {
						f.paused <- struct{}{}
						select {
						case <-f.resume:
						case <-ctx.Done():
							return "", f.stop(ctx.Err())
						}
					}
					if err := wait(ctx); err != nil {
						return "", f.stop(err)
					}
					emit("word ")
					if f.deltas >= 0 {
						sb.WriteString("word ")
					}
				}
				return sb.String(), nil
			}),
			Painter: engine.PainterFunc(func(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
				end := req.Rows.End / 16 // token rows of the embedded model's canvas
				if req.Rows.End < 0 {
					end = tokens.Grid
				}
				for r := req.Rows.Start / 16; r < end; r++ {
					if f.rowDelay > 0 {
						select {
						case <-ctx.Done():
							return f.stop(ctx.Err())
						case <-time.After(f.rowDelay):
						}
					}
					if ctx.Err() != nil {
						return f.stop(ctx.Err())
					}
					if err := wait(ctx); err != nil {
						return f.stop(err)
					}
					row := make([]int, tokens.Grid)
					row[r%tokens.Grid] = 1 + r
					onStrip(rolecalltest.TokenStrip(r, row))
					if f.hold != nil {
						select {
						case <-f.hold:
						case <-ctx.Done():
							return f.stop(ctx.Err())
						}
					}
				}
				return nil
			}),
			Critic: engine.CriticFunc(func(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: 95, Parsed: true, Revision: req.Thought}, nil
			}),
		}, nil
	}}
}

// smallBuffers wraps a listener so accepted connections have tiny socket
// buffers: a client that stops reading fills them quickly.
type smallBuffers struct{ net.Listener }

func (l smallBuffers) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if tc, ok := c.(*net.TCPConn); ok {
		tc.SetWriteBuffer(4 << 10)
	}
	return c, err
}

// stallListener hands out connections whose writes a test can stall: a
// client that stops reading, once the socket buffers between are full,
// at the moment the test chooses rather than after however many bytes the
// kernel buffers.
type stallListener struct {
	net.Listener
	conns chan *stallConn
}

func newStallListener(l net.Listener) *stallListener {
	return &stallListener{Listener: l, conns: make(chan *stallConn, 16)}
}

func (l *stallListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	sc := &stallConn{Conn: c, stalled: make(chan struct{}), closed: make(chan struct{})}
	l.conns <- sc
	return sc, nil
}

// stallConn is a connection whose writes, once stalled, block until it is
// closed or the write deadline set before the write passes.
type stallConn struct {
	net.Conn
	stallOnce, closeOnce sync.Once
	stalled, closed      chan struct{}
	mu                   sync.Mutex
	deadline             time.Time
}

func (c *stallConn) stall() { c.stallOnce.Do(func() { close(c.stalled) }) }

func (c *stallConn) Write(b []byte) (int, error) {
	select {
	case <-c.stalled:
	default:
		return c.Conn.Write(b)
	}
	c.mu.Lock()
	d := c.deadline
	c.mu.Unlock()
	var timeout <-chan time.Time
	if !d.IsZero() {
		t := time.NewTimer(time.Until(d))
		defer t.Stop()
		timeout = t.C
	}
	select {
	case <-c.closed:
		return 0, net.ErrClosed
	case <-timeout:
		return 0, os.ErrDeadlineExceeded
	}
}

func (c *stallConn) SetDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetDeadline(t)
}

func (c *stallConn) SetWriteDeadline(t time.Time) error {
	c.setWriteDeadline(t)
	return c.Conn.SetWriteDeadline(t)
}

func (c *stallConn) setWriteDeadline(t time.Time) {
	c.mu.Lock()
	c.deadline = t
	c.mu.Unlock()
}

func (c *stallConn) Close() error {
	c.closeOnce.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
