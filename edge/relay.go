package edge

import (
	"net/http"
	"sync"
	"time"

	"github.com/twig-project/twig/core/protocol"
)

// relay carries one HTTP stream's events to a slow writer (an SSE
// response) with the websocket's policy: the producer (the engine) only
// queues; a writer goroutine writes; deltas merge when behind; a full
// queue or a failed write stops the stream, never the engine.
type relay struct {
	out  *outbox
	done chan struct{}
	mu   sync.Mutex
	err  error
}

func newRelay(l Limits, write func(protocol.Event) error) *relay {
	r := &relay{out: newOutbox(l), done: make(chan struct{})}
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

// push queues ev; an error (slow or gone client) tells the producer to stop.
func (r *relay) push(ev protocol.Event) error {
	if err := r.out.push(ev); err != nil {
		r.fail(err)
		return err
	}
	return nil
}

func (r *relay) fail(err error) {
	r.mu.Lock()
	if r.err == nil {
		r.err = err
	}
	r.mu.Unlock()
	r.out.close(0, "", false)
}

// finish lets the writer write what is queued and waits for it; it returns
// the first write or queue error.
func (r *relay) finish() error {
	r.out.close(0, "", true)
	<-r.done
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err
}

// writeTimeout bounds one write of an HTTP stream.
const writeTimeout = 10 * time.Second

// deadlineWriter sets a write deadline before each write of an HTTP stream,
// where the runtime supports it (net/http does; a Worker may not).
func deadlineWriter(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	return func() { rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }
}
