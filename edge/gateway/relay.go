package gateway

import (
	"sync"

	"github.com/twig-project/twig/core/protocol"
)

// Relay carries one HTTP stream's events to a slow writer (an SSE
// response) with the websocket's policy: the producer (the engine) only
// queues; a writer goroutine writes; deltas merge when behind; a full
// queue or a failed write stops the stream, never the engine.
type Relay struct {
	out  *outbox
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// NewRelay starts a relay whose writer goroutine calls write for each
// event, in order; l bounds its queue (QueueMessages, CoalesceAt).
func NewRelay(l Limits, write func(protocol.Event) error) *Relay {
	r := &Relay{out: newOutbox(l), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			ev, ok := r.out.next()
			if !ok {
				return
			}
			if err := write(ev); err != nil {
				r.fail(err)
				return
			}
		}
	}()
	return r
}

// Push queues ev; an error (slow or gone client) tells the producer to stop.
func (r *Relay) Push(ev protocol.Event) error {
	if err := r.out.push(ev); err != nil {
		r.fail(err)
		return err
	}
	return nil
}

func (r *Relay) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.out.close(0, "", false)
}

// Finish lets the writer write what is queued and waits for it; it returns
// the first write or queue error.
func (r *Relay) Finish() error {
	r.out.close(0, "", true)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}
