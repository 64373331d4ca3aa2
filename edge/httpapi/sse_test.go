package httpapi

import (
	"context"
	"fmt"
	"net"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/gateway"
)

// An SSE client that stops reading does not hold the model: its run stops
// once the stream's queue is full.
func TestSSESlowClientStopsTheRun(t *testing.T) {
	var stopped atomic.Int32
	spam := engine.FuncBackend{Bands: 1, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(ctx context.Context, _ engine.ThinkRequest, emit func(string)) (string, error) {
				for i := 0; ; i++ {
					if ctx.Err() != nil {
						stopped.Add(1)
						return "", ctx.Err()
					}
					emit(strings.Repeat("x", 100) + " ")
				}
			}),
			Painter: rolecalltest.ZeroPainter,
			Critic: engine.CriticFunc(func(context.Context, engine.CritiqueRequest) (engine.Critique, error) {
				return engine.Critique{Score: 100, Parsed: true}, nil
			}),
		}, nil
	}}
	g := gateway.New(gateway.Config{Backend: spam, Limits: gateway.Limits{QueueMessages: 16}})
	hs := httptest.NewServer(Handler(Config{Gateway: g}))
	defer hs.Close()
	conn, err := net.Dial("tcp", hs.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	conn.(*net.TCPConn).SetReadBuffer(4 << 10)
	body := `{"v":"twig/2","type":"start","id":"r","prompt":"anything"}`
	fmt.Fprintf(conn, "POST /v1/runs HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	// ... and read nothing.
	deadline := time.Now().Add(20 * time.Second)
	for stopped.Load() == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the run did not stop for a client that does not read")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
