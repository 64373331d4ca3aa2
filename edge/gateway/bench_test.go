package gateway_test

import (
	"bytes"
	"context"
	"encoding/json"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/gateway"
)

// sink is a BatchTransport that discards what the gateway writes: the
// gateway's own cost without a socket. done gets the run's last event.
type sink struct {
	in     chan []byte
	once   sync.Once
	closed chan struct{}
	done   chan struct{}
	msgs   int
}

func (s *sink) ReadMessage() ([]byte, error) {
	select {
	case m := <-s.in:
		return m, nil
	case <-s.closed:
		return nil, gateway.ErrClosedByPeer
	}
}

func (s *sink) WriteMessage(b []byte) error { return s.WriteMessages([][]byte{b}) }

func (s *sink) WriteMessages(msgs [][]byte) error {
	for _, m := range msgs {
		s.msgs++
		if bytes.Contains(m, []byte(`"type":"run_done"`)) || bytes.Contains(m, []byte(`"type":"error"`)) {
			s.done <- struct{}{}
		}
	}
	return nil
}

func (s *sink) Close(int, string) error {
	s.once.Do(func() { close(s.closed) })
	return nil
}

// BenchmarkGatewayEvents is the gateway's own cost of an event (an op): a
// run's thought deltas from the engine's emit through the connection's
// queue, the writer and the encoder into a transport that discards them.
// allocs/op counts the engine's payload too.
func BenchmarkGatewayEvents(b *testing.B) {
	n := b.N
	backend := engine.FuncBackend{Bands: 1, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, _ engine.ThinkRequest, emit func(string)) (string, error) {
				for range n {
					emit("word ")
				}
				return "word", nil
			}),
			Painter: rolecalltest.ZeroPainter,
		}, nil
	}}
	g := gateway.New(gateway.Config{Backend: backend})
	t := &sink{in: make(chan []byte, 1), closed: make(chan struct{}), done: make(chan struct{}, 1)}
	served := make(chan struct{})
	go func() { g.Serve(context.Background(), t, gateway.Peer{Addr: "local"}); close(served) }()
	s := protocol.DefaultSettings()
	s.Reflect = false
	start, _ := json.Marshal(protocol.Message{ID: "r", Body: &protocol.Start{Prompt: "anything", Settings: s}})
	b.ReportAllocs()
	b.ResetTimer()
	t.in <- start
	<-t.done
	b.StopTimer()
	t.Close(protocol.CloseNormal, "")
	<-served
	b.ReportMetric(float64(t.msgs)/float64(n), "messages/op") // < 1: deltas merged while the writer was behind
}
