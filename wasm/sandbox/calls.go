package sandbox

import (
	"context"
	"errors"
	"fmt"
	"iter"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/wasm/abi"
)

// roleCall is one role call of a guest. The real role runs as a coroutine
// (iter.Pull): each role_next resumes it on the guest's own thread until its
// next message, where it waits for the guest's next role_next, so exactly
// one of guest and role runs at a time, the role sees the same callback
// order as in a native run, and no message costs a thread wake-up.
type roleCall struct {
	role    int
	cancel  context.CancelFunc
	w       *worker
	pending []byte        // the message announced by role_next, not yet read
	buf     []byte        // reused for the call's messages (ABI 2 on)
	final   bool          // pending is the call's last message
	active  time.Duration // time the role spent computing
	// ahead: the call runs to its end at the first role_next and its
	// messages wait in queue (abi.FlagPaintAhead); else queue holds the
	// one message role_next produced.
	ahead bool
	queue []queued
}

// queued is a message produced and not yet announced by role_next.
type queued struct {
	data  []byte
	final bool
	strip *canvas.Strip // a strip message's strip (the event's PNG source)
}

// worker is a coroutine that plays role calls one after another. A fresh
// goroutine per call would start on a small stack and grow it, copying,
// through the model's calls every time; a worker keeps its grown stack for
// the run's next call. (Not for another run's: a coroutine must be resumed
// with the thread locking it was created under, and runs may differ.)
type worker struct {
	next func() (abi.Message, bool)
	stop func()
	job  func(yield func(abi.Message) bool) bool // the call to play next; false: stopped
}

func newWorker() *worker {
	w := &worker{}
	w.next, w.stop = iter.Pull(func(yield func(abi.Message) bool) {
		// A job ends by yielding its final message; the worker waits there
		// until the next call's first role_next (or a stop).
		for w.job != nil {
			job := w.job
			w.job = nil
			if !job(yield) {
				return
			}
		}
	})
	return w
}

// workers are a run's idle role-call workers (nil: a fresh worker per call).
type workers chan *worker

// get returns an idle worker or a new one.
func (ws workers) get() *worker {
	select {
	case w := <-ws:
		return w
	default:
		return newWorker()
	}
}

// put keeps a worker whose call ended (its final message read) for a later
// call, or stops it when enough are kept.
func (ws workers) put(w *worker) {
	select {
	case ws <- w:
	default:
		w.stop()
	}
}

// close stops the idle workers.
func (ws workers) close() {
	for {
		select {
		case w := <-ws:
			w.stop()
		default:
			return
		}
	}
}

func newRoleCall(parent context.Context, ws workers, role int,
	play func(context.Context, func(abi.Message)) abi.Message) *roleCall {
	ctx, cancel := context.WithCancel(parent)
	c := &roleCall{role: role, cancel: cancel, w: ws.get()}
	c.w.job = func(yield func(abi.Message) bool) bool {
		defer cancel()
		stopped := false
		emit := func(m abi.Message) {
			if !stopped && !yield(m) {
				stopped = true // the run is over: end the role soon
				cancel()
			}
		}
		final := func() (m abi.Message) {
			defer func() {
				if p := recover(); p != nil {
					m = abi.Message{Type: abi.MsgError, Message: fmt.Sprintf("the backend's %s role panicked: %v", abi.RoleName(role), p)}
				}
			}()
			return play(ctx, emit)
		}()
		return !stopped && yield(final)
	}
	return c
}

// done ends a call whose final message was read: its worker goes back to ws.
func (c *roleCall) done(ws workers) {
	if ws == nil {
		c.w.stop()
	} else {
		ws.put(c.w)
	}
	c.w = nil
}

// stop ends a call before its final message: the role is cancelled and
// unwinds, and its worker ends with it.
func (c *roleCall) stop() {
	c.cancel()
	if c.w != nil {
		c.w.stop()
		c.w = nil
	}
}

// step runs the role to its next message.
func (c *roleCall) step() abi.Message {
	t0 := time.Now()
	m, ok := c.w.next()
	c.active += time.Since(t0)
	if !ok {
		panic("BUG: sandbox: a role call resumed after its last message")
	}
	return m
}

// fail is the final message of a failed role; a backend's refusal of the
// prompt carries its code (the guest's engine then fails as a native one).
func fail(err error) abi.Message {
	m := abi.Message{Type: abi.MsgError, Message: err.Error()}
	if _, ok := errors.AsType[*engine.PromptError](err); ok {
		m.Code = protocol.CodeInvalidRequest
	}
	return m
}

// player returns the function that plays a role call of req on the run's
// roles, or a *Error when the request is not one the host accepts.
func (r *run) player(role int, req []byte) (_ func(context.Context, func(abi.Message)) abi.Message, ahead bool, _ *Error) {
	bad := func(err error) *Error {
		return errorf(KindABI, "role_call(%s): the request is invalid: %v", abi.RoleName(role), err)
	}
	if role == abi.RoleStart {
		if r.started {
			return nil, false, errorf(KindABI, "role_call(start) was called twice: a run has one start")
		}
		var spec engine.RunSpec
		if err := decodeIn(r, req, &spec, abi.DecodeSpec); err != nil {
			return nil, false, bad(err)
		}
		if err := r.checkSpec(spec); err != nil {
			return nil, false, bad(err)
		}
		r.started = true
		return func(context.Context, func(abi.Message)) abi.Message {
			// The run's context, not the call's: a backend may keep it for the run.
			br, err := r.backend.NewRun(r.ctx, spec)
			if err != nil {
				return fail(err)
			}
			r.brun = br
			r.roles = br.Roles()
			return abi.Message{Type: abi.MsgDone, Roles: &abi.Roles{Thinker: r.roles.Thinker != nil,
				Painter: r.roles.Painter != nil, Critic: r.roles.Critic != nil, Decider: r.roles.Decider != nil,
				Reviewer: rolecall.Reviews(r.roles)}}
		}, false, nil
	}
	if r.brun == nil {
		return nil, false, errorf(KindABI, "role_call(%s) before the run was started: call role_call(start) first and read its done message", abi.RoleName(role))
	}
	name := abi.RoleName(role)
	if abi.RoleOf(name) != role {
		return nil, false, errorf(KindABI, "role_call: unknown role %d (roles are 0 start, 1 think, 2 paint, 3 critique, 4 decide, 5 review)", role)
	}
	q, err := r.decodeCall(name, req)
	if err != nil {
		return nil, false, bad(err)
	}
	// A band of known rows is painted ahead, a thought without a budget
	// thought ahead, when the guest asks.
	ahead = role == abi.RolePaint && r.flags&abi.FlagPaintAhead != 0 && q.State.Rows.End >= 0 ||
		role == abi.RoleThink && r.flags&abi.FlagThinkAhead != 0 && q.State.Settings.MaxThoughtTokens == 0
	return func(ctx context.Context, yield func(abi.Message)) abi.Message {
		emit := func(p protocol.Payload) error {
			yield(abi.StreamMessage(p))
			return nil
		}
		var strip func(canvas.Strip) error
		if r.abi != abi.Version1 {
			// A strip goes to a binary-frame guest (ABI 2 on) as its pixels, as the painter
			// made them, without a PNG: in the guest decoding a PNG cost ten
			// to twenty times as much as here, and encoding it here is work
			// a native run does only when its events are serialized. The
			// guest's band_progress of the strip leaves the PNG to the host
			// (emit), which has the strip. AppendMessage copies the pixels
			// at once.
			strip = func(s canvas.Strip) error {
				r.produced = &s
				rows := s.Rows
				m := abi.Message{Type: abi.MsgStrip, Rows: &rows, Tokens: s.Tokens, Pix: s.Pix}
				if r.flags&abi.FlagNoPixels != 0 {
					m.Pix = nil // the guest asked to go without (abi.FlagNoPixels)
				}
				yield(m)
				return nil
			}
		}
		done, err := rolecall.PlayStrips(ctx, r.roles, q, emit, strip)
		if err != nil {
			return fail(rolecall.RoleCause(err))
		}
		ms := abi.DoneMessages(done)
		for _, m := range ms[:len(ms)-1] {
			yield(m)
		}
		return ms[len(ms)-1]
	}, ahead, nil
}
