package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/client"
	"github.com/twig-project/twig/edge/gateway"
)

// pipe is an in-memory Transport: what a runtime (gorilla in `twig serve`,
// WebSocketPair in the Worker) has to provide.
type pipe struct {
	in, out chan []byte
	once    sync.Once
	closed  chan struct{}
}

func newPipe() (server, clientEnd *pipe) {
	a, b := make(chan []byte, 64), make(chan []byte, 64)
	done := make(chan struct{})
	return &pipe{in: a, out: b, closed: done}, &pipe{in: b, out: a, closed: done}
}

func (p *pipe) ReadMessage() ([]byte, error) {
	select {
	case m := <-p.in:
		return m, nil
	case <-p.closed:
		return nil, fmt.Errorf("closed: %w", gateway.ErrClosedByPeer)
	}
}

func (p *pipe) WriteMessage(b []byte) error {
	select {
	case p.out <- bytes.Clone(b): // b is the gateway's again once this returns
		return nil
	case <-p.closed:
		return errors.New("closed")
	}
}

func (p *pipe) Close(code int, reason string) error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// A gateway serving one in-memory connection; the client runs a prompt on
// the server and prints the events' types.
func ExampleGateway_Serve() {
	backend := engine.FuncBackend{Bands: 1, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, _ engine.ThinkRequest, emit func(string)) (string, error) {
				emit("nothing ")
				emit("here")
				return "nothing here", nil
			}),
			Painter: rolecalltest.ZeroPainter,
		}, nil
	}}
	g := gateway.New(gateway.Config{Backend: backend})
	server, conn := newPipe()
	go g.Serve(context.Background(), server, gateway.Peer{Addr: "local"})

	c := client.New(conn)
	s := protocol.DefaultSettings()
	s.Reflect = false
	counts := map[string]int{}
	err := c.Draw(context.Background(), "anything", s, func(ev protocol.Event) error {
		if counts[ev.Type]++; counts[ev.Type] == 1 {
			fmt.Println(ev.Type)
		}
		return nil
	})
	fmt.Println("rows:", counts[protocol.TypeBandProgress], "err:", err)

	b, _ := json.Marshal(protocol.Message{ID: "r1", Body: &protocol.Cancel{}})
	fmt.Println(string(b))
	// Output:
	// run_started
	// band_started
	// thought_delta
	// thought_done
	// band_progress
	// band_done
	// run_done
	// rows: 16 err: <nil>
	// {"v":"twig/2","type":"cancel","id":"r1"}
}
