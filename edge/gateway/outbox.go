package gateway

import (
	"errors"
	"sync"

	"github.com/twig-project/twig/core/protocol"
)

// The outbound policy of a connection, in order:
//
//  1. Every event is queued without blocking its producer (the engine).
//  2. Once coalesceAt messages wait, a thought_delta (call_delta) whose
//     stream's last queued message is a thought_delta of the same band (a
//     call_delta) is merged into it
//     (up to maxMerge bytes of text); the merged delta keeps the last seq
//     and says how many it stands for in "coalesced".
//  3. A message that would make the queue longer than limit is refused: the
//     connection is closed with code 4001 (slow consumer), its runs and
//     calls are cancelled, and no other connection notices.
type outbox struct {
	mu         sync.Mutex
	cond       *sync.Cond
	q          []*outItem
	head       int
	limit      int
	coalesceAt int
	maxMerge   int
	tail       map[string]*outItem // per stream: its last message while queued
	closed     bool                // no more pushes
	drop       bool                // the writer stops without writing what is left
	code       int
	reason     string
	merged     int64 // deltas merged away, for stats
}

type outItem struct {
	ev     protocol.Event
	queued bool
}

var (
	errQueueFull = errors.New("edge: outbound queue full: the client reads too slowly")
	errClosed    = errors.New("edge: connection closed")
)

func newOutbox(l Limits) *outbox {
	o := &outbox{limit: l.QueueMessages, coalesceAt: l.CoalesceAt, maxMerge: l.MaxCoalescedBytes,
		tail: map[string]*outItem{}}
	o.cond = sync.NewCond(&o.mu)
	return o
}

// push queues ev, merging a thought delta when the queue is behind. It
// never blocks: errQueueFull says the client is too slow, errClosed that
// the connection is closing.
func (o *outbox) push(ev protocol.Event) error {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.closed {
		return errClosed
	}
	n := len(o.q) - o.head
	if n >= o.coalesceAt && o.merge(ev) {
		return nil
	}
	if n >= o.limit {
		return errQueueFull
	}
	it := &outItem{ev: ev, queued: true}
	o.q = append(o.q, it)
	if terminal(ev.Type) {
		delete(o.tail, ev.RunID)
	} else {
		o.tail[ev.RunID] = it
	}
	o.cond.Signal()
	return nil
}

// merge appends a thought delta to its stream's last queued message when
// that is a delta of the same band. Called with o.mu held.
func (o *outbox) merge(ev protocol.Event) bool {
	last := o.tail[ev.RunID]
	if last == nil || !last.queued {
		return false
	}
	switch d := ev.Payload.(type) {
	case *protocol.ThoughtDelta:
		ld, ok := last.ev.Payload.(*protocol.ThoughtDelta)
		if !ok || ld.Band != d.Band || ld.Attempt != d.Attempt || len(ld.Text)+len(d.Text) > o.maxMerge {
			return false
		}
		m := *ld // a copy: the producer may still hold the original
		m.Text += d.Text
		m.Coalesced = max(ld.Coalesced, 1) + max(d.Coalesced, 1)
		last.ev.Payload = &m
	case *protocol.CallDelta:
		ld, ok := last.ev.Payload.(*protocol.CallDelta)
		if !ok || len(ld.Text)+len(d.Text) > o.maxMerge {
			return false
		}
		m := *ld
		m.Text += d.Text
		m.Coalesced = max(ld.Coalesced, 1) + max(d.Coalesced, 1)
		last.ev.Payload = &m
	default:
		return false
	}
	last.ev.Seq = ev.Seq
	o.merged++
	return true
}

// next blocks for the next message to write; ok is false once the outbox is
// closed and has nothing more to write (or is dropping what it has).
func (o *outbox) next() (protocol.Event, bool) {
	evs, ok := o.nextBatch(nil, 1)
	if !ok {
		return protocol.Event{}, false
	}
	return evs[0], true
}

// nextBatch blocks until messages wait, then moves up to max of them, in
// order, onto dst: the writer sends what piled up while it was writing in
// one socket write. ok is false once the outbox is closed and has nothing
// more to write (or is dropping what it has). A drained message is no longer
// merged into.
func (o *outbox) nextBatch(dst []protocol.Event, max int) ([]protocol.Event, bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	for len(o.q) == o.head && !o.closed {
		o.cond.Wait()
	}
	if o.drop || len(o.q) == o.head {
		return dst, false
	}
	for n := 0; n < max && o.head < len(o.q); n++ {
		it := o.q[o.head]
		o.q[o.head] = nil
		o.head++
		it.queued = false
		dst = append(dst, it.ev)
	}
	if o.head == len(o.q) {
		o.q, o.head = o.q[:0], 0
	} else if o.head > 1024 && o.head*2 > len(o.q) {
		o.q = append(o.q[:0], o.q[o.head:]...)
		o.head = 0
	}
	return dst, true
}

// close stops pushes. With flush the writer first writes what is queued;
// without, it stops at once. The first close's code and reason win.
func (o *outbox) close(code int, reason string, flush bool) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if !o.closed {
		o.closed, o.code, o.reason = true, code, reason
	}
	if !flush {
		o.drop = true
	}
	o.cond.Broadcast()
}

// stopFlushing makes a flushing close drop what is left.
func (o *outbox) stopFlushing() { o.close(0, "", false) }

func (o *outbox) closeInfo() (int, string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.code, o.reason
}

func (o *outbox) len() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return len(o.q) - o.head
}

// terminal reports whether an event type ends its stream.
func terminal(typ string) bool {
	return typ == protocol.TypeRunDone || typ == protocol.TypeError || typ == protocol.TypeCallDone
}
