package gateway

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/internal/textutil"
)

// session is one client connection.
type session struct {
	g      *Gateway
	t      Transport
	peer   Peer
	log    *slog.Logger
	parent context.Context // Serve's: its end closes the connection
	ctx    context.Context // the connection's work: cancelled when it closes
	cancel context.CancelFunc
	out    *outbox
	start  time.Time

	mu      sync.Mutex
	jobs    map[string]*job
	connSeq int64 // seq of the connection's own stream (run_id "")

	lastMsg   atomic.Int64 // unix nanoseconds of the client's last message
	closeOnce sync.Once
	wrote     chan struct{} // closed when the writer has finished
}

// job is a run or a call in flight.
type job struct {
	cancel   context.CancelFunc
	released bool
}

func newSession(ctx context.Context, g *Gateway, t Transport, p Peer) *session {
	s := &session{g: g, t: t, peer: p, out: newOutbox(g.limits), jobs: map[string]*job{},
		start: time.Now(), wrote: make(chan struct{}), parent: ctx}
	s.ctx, s.cancel = context.WithCancel(context.WithoutCancel(ctx))
	s.log = g.log.With("request_id", p.RequestID, "addr", p.Addr)
	s.touch()
	return s
}

func (s *session) serve() error {
	s.log.Info("connection opened")
	stopWatch := context.AfterFunc(s.parent, func() { s.shutdown(protocol.CloseGoingAway, "server shutting down", true) })
	defer stopWatch()
	go s.writeLoop()
	stopIdle := s.idleLoop()
	defer stopIdle()
	hello := &protocol.Hello{Server: s.g.cfg.Server, Roles: rolecall.HelloRoles(s.g.cfg.Backend), Limits: s.g.limits.wire()}
	if n, ok := s.g.backend.(engine.Named); ok {
		hello.Backend = n.Name()
	}
	if z, ok := s.g.cfg.Backend.(engine.Sizer); ok { // the backend itself: g.backend may wrap it
		g := z.Geometry()
		hello.Canvas = &protocol.Canvas{Width: g.Width, Height: g.Height, Grid: g.Grid, Unit: g.Unit}
	}
	s.connEvent(hello)
	err := s.readLoop()
	if errors.Is(err, errClosed) || isNormalClose(err) {
		err = nil
	}
	s.shutdown(protocol.CloseNormal, "", false) // no-op when already closing
	s.cancelJobs()
	<-s.wrote
	code, reason := s.out.closeInfo()
	if err != nil && code == protocol.CloseNormal {
		// the connection was lost (reset, timeout), not closed: log 1006
		// (abnormal closure, never sent on the wire) so a reset does not
		// read as a clean goodbye
		code, reason = closeAbnormal, "connection lost: "+textutil.OneLine(err.Error())
	}
	s.log.Info("connection closed", "code", code, "reason", reason, "ms", time.Since(s.start).Milliseconds(), "err", errString(err))
	return err
}

// readLoop reads and handles client messages until the transport fails.
func (s *session) readLoop() error {
	for {
		b, err := s.t.ReadMessage()
		if errors.Is(err, ErrMessageTooLarge) {
			s.touch()
			s.connError(protocol.CodeTooLarge, fmt.Sprintf("a message was over the limit of %d bytes and was dropped", s.g.limits.MaxMessageBytes))
			continue
		}
		if err != nil {
			return err
		}
		s.touch()
		if len(b) > s.g.limits.MaxMessageBytes {
			s.connError(protocol.CodeTooLarge, fmt.Sprintf("a %d-byte message was over the limit of %d bytes and was dropped", len(b), s.g.limits.MaxMessageBytes))
			continue
		}
		s.handle(b)
	}
}

func (s *session) handle(b []byte) {
	m, err := protocol.DecodeMessage(b)
	if err != nil {
		me, ok := errors.AsType[*protocol.MessageError](err)
		if !ok {
			me = &protocol.MessageError{Code: protocol.CodeBadMessage, Msg: err.Error()}
		}
		s.reject(me.ID, me.Code, me.Msg)
		return
	}
	switch body := m.Body.(type) {
	case *protocol.Cancel:
		s.cancelJob(m.ID)
	case *protocol.Start:
		s.startJob(m.ID, func(ctx context.Context) { s.run(ctx, m.ID, body) })
	case *protocol.Call:
		s.startJob(m.ID, func(ctx context.Context) { s.call(ctx, m.ID, body) })
	}
}

// reject answers a refused request: on the request's own stream when its id
// is free, else on the connection's stream.
func (s *session) reject(id, code, msg string) {
	s.mu.Lock()
	_, busy := s.jobs[id]
	s.mu.Unlock()
	if id == "" || busy {
		if busy {
			msg = fmt.Sprintf("request %q: %s", id, msg)
		}
		s.connError(code, msg)
		return
	}
	s.emit(protocol.Event{V: protocol.Version, Type: protocol.TypeError, RunID: id,
		Payload: &protocol.Error{Code: code, Message: msg}})
}

// connError sends an error on the connection's own stream (run_id "").
func (s *session) connError(code, msg string) {
	s.log.Debug("refused a message", "code", code, "message", msg)
	s.connEvent(&protocol.Error{Code: code, Message: msg})
}

func (s *session) connEvent(p protocol.Payload) {
	s.mu.Lock()
	seq := s.connSeq
	s.connSeq++
	s.mu.Unlock()
	s.emit(protocol.Event{V: protocol.Version, Type: p.EventType(), Seq: seq,
		TMs: time.Since(s.start).Milliseconds(), Payload: p})
}

// startJob starts a run or a call under the limits. A closing connection
// (a slow consumer, a drain's last flush) starts nothing and answers
// nothing: its queue takes no more events.
func (s *session) startJob(id string, f func(ctx context.Context)) {
	if s.ctx.Err() != nil {
		return
	}
	g, l := s.g, s.g.limits
	s.mu.Lock()
	if _, dup := s.jobs[id]; dup {
		s.mu.Unlock()
		s.connError(protocol.CodeDuplicateID, fmt.Sprintf("request %q is still in flight: give each request a new id", id))
		return
	}
	g.mu.Lock()
	draining := g.draining
	g.mu.Unlock()
	var code, msg string
	switch {
	case draining:
		code, msg = protocol.CodeDraining, "the server is shutting down and takes no new requests: reconnect later"
	case len(s.jobs) >= l.MaxInFlight:
		code, msg = protocol.CodeTooMany, fmt.Sprintf("this connection has %d requests in flight, the limit: wait for one to end", len(s.jobs))
	case !g.addrs.acquireJob(s.peer.Addr, l.MaxInFlightPerAddr):
		code, msg = protocol.CodeTooMany, fmt.Sprintf("your address has %d requests in flight, the limit: wait for one to end", l.MaxInFlightPerAddr)
	}
	if code != "" {
		s.mu.Unlock()
		s.reject(id, code, msg)
		return
	}
	ctx, cancel := context.WithTimeout(s.ctx, l.RunTimeout)
	s.jobs[id] = &job{cancel: cancel}
	g.jobs.Add(1)
	g.stats.inFlight.Add(1)
	s.mu.Unlock()
	go func() {
		defer g.jobs.Done()
		defer g.stats.inFlight.Add(-1)
		defer cancel()
		defer s.finish(id)
		f(ctx)
	}()
}

// finish releases a request's slot; it is called just before its terminal
// event is queued (so the client may reuse the id and the slot once it sees
// it) and again when its goroutine ends.
func (s *session) finish(id string) {
	s.mu.Lock()
	j := s.jobs[id]
	if j != nil && !j.released {
		j.released = true
		delete(s.jobs, id)
		s.g.addrs.releaseJob(s.peer.Addr)
	}
	s.mu.Unlock()
	s.touch()
}

func (s *session) cancelJob(id string) {
	s.mu.Lock()
	j := s.jobs[id]
	s.mu.Unlock()
	if j != nil {
		j.cancel()
	}
}

func (s *session) cancelJobs() {
	s.mu.Lock()
	for _, j := range s.jobs {
		j.cancel()
	}
	s.mu.Unlock()
}

func (s *session) inFlight() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.jobs)
}

// run plays one run, its events going to the client.
func (s *session) run(ctx context.Context, id string, st *protocol.Start) {
	s.g.stats.runs.Add(1)
	t0 := time.Now()
	res, err := s.g.draw(ctx, s.g.backend, engine.RunSpec{Prompt: st.Prompt, Settings: st.Settings, RunID: id}, s.emit)
	if err != nil {
		s.log.Info("run ended", "run_id", id, "code", engine.Code(err), "ms", time.Since(t0).Milliseconds(), "err", err.Error())
		return
	}
	s.log.Info("run done", "run_id", id, "ms", time.Since(t0).Milliseconds(), "bands", res.Stats.Bands, "revisions", res.Stats.Revisions)
}

// call plays one model call, its events going to the client.
func (s *session) call(ctx context.Context, id string, c *protocol.Call) {
	s.g.stats.calls.Add(1)
	em := NewStream(id)
	var emitErr error
	done, err := Call(ctx, s.g.backend, *c, func(p protocol.Payload) error {
		if emitErr = s.emit(em.Event(p)); emitErr != nil {
			return emitErr
		}
		return nil
	})
	switch {
	case err == nil:
		s.emit(em.Event(done))
	case emitErr != nil:
	default:
		s.emit(em.Event(&protocol.Error{Code: ErrorCode(err), Message: textutil.OneLine(err.Error())}))
	}
	s.log.Info("call ended", "run_id", id, "role", c.Role, "band", c.Request.Band, "ms", em.Ms(), "code", codeOrOK(err))
}

// emit queues one event for the client. A full queue closes the connection
// (slow consumer); either way the producer gets an error and stops.
func (s *session) emit(ev protocol.Event) error {
	if f := s.g.cfg.OnEmit; f != nil {
		f(ev)
	}
	if terminal(ev.Type) && ev.RunID != "" {
		// Free the slot before the event is queued, not after: the writer
		// may send it at once, and a client that starts its next request as
		// soon as it reads this one's end must find the slot free (a
		// deferred release lost that race under load: too_many_requests).
		s.finish(ev.RunID)
	}
	if err := s.out.push(ev); err != nil {
		if errors.Is(err, errQueueFull) {
			s.log.Warn("slow consumer", "queued", s.g.limits.QueueMessages)
			s.shutdown(protocol.CloseSlowConsumer, "slow consumer: outbound queue full", false)
		}
		return err
	}
	// Let the connection's writer run now rather than at the producer's next
	// preemption: a CPU-bound model would otherwise hold events back for up
	// to a scheduler time slice. Every time, not only when this event woke
	// a waiting writer: a writer that was woken but has not run yet (or was
	// preempted in a write) would wait for the producer's next preemption
	// on a one-CPU server. A writer busy on another CPU takes the event with
	// whatever else piled up meanwhile, in one write.
	runtime.Gosched()
	return nil
}

// writeBatch bounds the events one socket write carries, so that the first
// of a long queue waits for a few encodes, not for the whole queue's.
const writeBatch = 64

// writeLoop writes queued events until the outbox is closed, then closes
// the transport with the outbox's code. Every event that waits when the
// writer comes back for more goes out in one batch (one system call on a
// BatchTransport), each encoded into one reused buffer.
func (s *session) writeLoop() {
	defer close(s.wrote)
	bt, batched := s.t.(BatchTransport)
	enc := newEventEncoder()
	var (
		evs  []protocol.Event
		buf  []byte
		ends []int
		msgs [][]byte
	)
	for {
		var ok bool
		evs, ok = s.out.nextBatch(evs[:0], writeBatch)
		if !ok {
			break
		}
		buf, ends = buf[:0], ends[:0]
		sent := evs[:0] // the events encoded, in order (a failed encode is dropped)
		for _, ev := range evs {
			b, err := enc.appendEvent(buf, ev)
			if err != nil {
				s.log.Error("BUG: cannot encode an event", "type", ev.Type, "err", err)
				continue
			}
			buf = b
			ends = append(ends, len(buf))
			sent = append(sent, ev)
		}
		// slices of buf only now that it no longer grows
		msgs = msgs[:0]
		for i, end := range ends {
			start := 0
			if i > 0 {
				start = ends[i-1]
			}
			msgs = append(msgs, buf[start:end:end])
		}
		var err error
		if batched && len(msgs) > 1 {
			err = bt.WriteMessages(msgs)
		} else {
			for _, m := range msgs {
				if err = s.t.WriteMessage(m); err != nil {
					break
				}
			}
		}
		if err != nil {
			s.log.Info("write failed", "err", err.Error())
			s.shutdown(protocol.CloseNormal, "", false)
			break
		}
		if f := s.g.cfg.OnWrite; f != nil {
			for _, ev := range sent {
				f(ev)
			}
		}
		clear(evs) // drop the payloads until the next batch
	}
	code, reason := s.out.closeInfo()
	s.t.Close(code, reason)
}

// shutdown closes the connection: with flush after writing what is queued
// (bounded by FlushTimeout), else at once; runs and calls are cancelled.
func (s *session) shutdown(code int, reason string, flush bool) {
	s.closeOnce.Do(func() {
		if code != protocol.CloseNormal {
			s.g.countClose(code)
		}
		s.out.close(code, reason, flush)
		if flush {
			time.AfterFunc(s.g.limits.FlushTimeout, func() { s.shutdown(0, "", false) })
		}
		s.cancel()
	})
	if !flush {
		s.out.stopFlushing()
		// Close the transport now rather than when the writer gets to it: the
		// writer may be stuck in a write to a client that reads nothing (a
		// slow consumer), until the write timeout. The close frame still
		// follows the frame being written if the client takes that within
		// the transport's close linger; else the connection is dropped.
		code, reason := s.out.closeInfo()
		go s.t.Close(code, reason)
	}
}

// idleLoop closes the connection (4000) after IdleTimeout with nothing in
// flight and no client message.
func (s *session) idleLoop() (stop func()) {
	idle := s.g.limits.IdleTimeout
	tick := time.NewTicker(max(idle/4, 10*time.Millisecond))
	done := make(chan struct{})
	go func() {
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-s.ctx.Done():
				return
			case <-tick.C:
				last := time.Unix(0, s.lastMsg.Load())
				if s.inFlight() == 0 && time.Since(last) >= idle {
					s.log.Info("idle connection")
					s.shutdown(protocol.CloseIdle, "idle: nothing in flight and no message for "+idle.String(), true)
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

func (s *session) touch() { s.lastMsg.Store(time.Now().UnixNano()) }

// Stream numbers the events of one call: run_id, seq and t_ms.
type Stream struct {
	id    string
	seq   int64
	start time.Time
}

// NewStream starts the stream of the request id.
func NewStream(id string) *Stream { return &Stream{id: id, start: time.Now()} }

// Event wraps p as the stream's next event.
func (e *Stream) Event(p protocol.Payload) protocol.Event {
	ev := protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: e.id, Seq: e.seq,
		TMs: time.Since(e.start).Milliseconds(), Payload: p}
	e.seq++
	return ev
}

// Ms is the time since the stream started, in milliseconds.
func (e *Stream) Ms() int64 { return time.Since(e.start).Milliseconds() }

// isNormalClose reports whether a transport error says the client closed
// normally; transports wrap such errors with ErrClosedByPeer.
func isNormalClose(err error) bool { return errors.Is(err, ErrClosedByPeer) }

// closeAbnormal is the code logged for a connection lost without a close
// frame (RFC 6455 1006: reserved, never sent).
const closeAbnormal = 1006

// ErrClosedByPeer is wrapped by a Transport's ReadMessage error when the
// client closed the connection normally (code 1000 or 1001, or EOF).
var ErrClosedByPeer = errors.New("edge: connection closed by the client")

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func codeOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return ErrorCode(err)
}

// oneLine flattens an error for a one-line message.
