package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// run is one guest run: the per-run state the host functions work on. Only
// the guest's thread uses it: host functions run on it, and so do the role
// calls' coroutines, one at a time.
type run struct {
	cfg     Config
	ctx     context.Context // the caller's context with the wall-time cap
	spec    engine.RunSpec  // RunID set
	seed    int64           // the run's resolved seed
	backend engine.Backend
	sink    engine.Sink
	start   time.Time

	hostCalls  int64
	eventBytes int64
	seq        int64
	final      string // "", protocol.TypeRunDone or protocol.TypeError
	failCode   string // the final error event's code and message
	failMsg    string
	sinkErr    error
	violation  *Error
	result     engine.Result
	fold       *fold.State    // the events so far, folded
	reqCanvas  *canvas.Canvas // a copy of fold.Canvas for requests, until an event changes it

	abi         int    // the guest's ABI version: abi.Version (binary frames) or abi.Version1 (JSON)
	flags       uint32 // what the guest asked for (abi.ExportFlags)
	started     bool
	brun        engine.Run
	roles       engine.Roles
	strip       canvas.Strip  // the painter's last strip sent to a binary-frame guest (ABI 2 on), until its band_progress
	produced    *canvas.Strip // the strip of the message a role just yielded
	aheadWindow time.Duration // aheadWindow (tests: longer)
	calls       map[uint32]*roleCall
	workers     workers // idle role-call workers of this run
	lastCall    uint32
	roleTime    [abi.RoleReview + 1]time.Duration

	out tail // the guest's stdout and stderr, first and last bytes
}

// errWallTime is the cause of a run context that hit Config.RunTimeout.
var errWallTime = errors.New("the run's wall-time limit passed")

func newRun(cfg Config, b engine.Backend, spec engine.RunSpec, sink engine.Sink) *run {
	if spec.RunID == "" {
		var id [8]byte
		_, _ = rand.Read(id[:])
		spec.RunID = hex.EncodeToString(id[:])
	}
	seed := spec.Settings.Seed
	if spec.Seed != 0 {
		seed = spec.Seed
	}
	r := &run{cfg: cfg, spec: spec, seed: seed, backend: b, sink: sink, start: time.Now(),
		calls: map[uint32]*roleCall{}, abi: abi.Version, workers: make(workers, 2), aheadWindow: aheadWindow}
	r.fold = fold.New()
	r.result = engine.Result{RunID: spec.RunID}
	return r
}

// input is the RunInput passed to twig_run, in the guest's ABI.
func (r *run) input() []byte {
	in := abi.RunInput{ABI: r.abi, Spec: r.spec}
	if r.backend != nil {
		in.Backend.DefaultBands = r.backend.DefaultBands()
		if n, ok := r.backend.(engine.Named); ok {
			in.Backend.Name = n.Name()
		}
	}
	if r.abi != abi.Version1 {
		return abi.AppendInput(nil, &in)
	}
	data, err := json.Marshal(in)
	if err != nil {
		panic("BUG: sandbox: cannot encode a RunInput: " + err.Error())
	}
	return data
}

// randSource is the guest's only randomness (WASI random_get): a stream
// derived from the run's seed.
func (r *run) randSource() *mrand.ChaCha8 {
	var key [32]byte
	copy(key[:], "twig sandbox random source.....")
	binary.LittleEndian.PutUint64(key[24:], uint64(r.seed))
	return mrand.NewChaCha8(key)
}

// abort records why the guest is stopped and unwinds the guest's call.
func (r *run) abort(e *Error) {
	if r.violation == nil {
		r.violation = e
	}
	panic(r.violation)
}

// enter counts a host call and stops a guest past a limit or a done run.
func (r *run) enter() {
	if r.violation != nil {
		panic(r.violation)
	}
	if r.ctx.Err() != nil {
		panic(context.Cause(r.ctx))
	}
	r.hostCalls++
	if r.hostCalls > r.cfg.MaxHostCalls {
		r.abort(errorf(KindHostCalls, "the run made more than %d host calls (Config.MaxHostCalls); a twig run needs a few thousand", r.cfg.MaxHostCalls))
	}
}

// --- host functions, on guest memory ---------------------------------------

// memory is what the host functions use of a guest's memory (api.Memory
// has it; the tests' native twin passes the guest's own slices).
type memory interface {
	Read(offset, n uint32) ([]byte, bool)
	Write(offset uint32, v []byte) bool
	Size() uint32
}

func (r *run) read(mem memory, fn string, ptr, n uint32) []byte {
	b, ok := mem.Read(ptr, n)
	if !ok {
		r.abort(errorf(KindABI, "%s: the buffer [%d, %d) is outside the guest's %d bytes of memory", fn, ptr, uint64(ptr)+uint64(n), mem.Size()))
	}
	return b
}

func (r *run) emitEvent(mem memory, ptr, n uint32) uint32 {
	r.enter()
	refused, err := r.emit(r.read(mem, abi.FuncEmitEvent, ptr, n))
	if err != nil {
		r.abort(err)
	}
	if refused {
		return abi.StatusRefused
	}
	return abi.StatusOK
}

func (r *run) roleCall(mem memory, role, ptr, n uint32) uint32 {
	r.enter()
	if int(n) > r.cfg.MaxMessageBytes {
		r.abort(errorf(KindABI, "role_call: a request of %d bytes is over the %d-byte limit (Config.MaxMessageBytes)", n, r.cfg.MaxMessageBytes))
	}
	if len(r.calls) >= r.cfg.MaxOpenCalls {
		r.abort(errorf(KindABI, "role_call: %d calls are open (Config.MaxOpenCalls): read each call to its done or error message", len(r.calls)))
	}
	play, ahead, err := r.player(int(role), r.read(mem, abi.FuncRoleCall, ptr, n))
	if err != nil {
		r.abort(err)
	}
	r.lastCall++
	c := newRoleCall(r.ctx, r.workers, int(role), play)
	c.ahead = ahead
	r.calls[r.lastCall] = c
	return r.lastCall
}

func (r *run) roleNext(call, cancel uint32) uint32 {
	r.enter()
	c := r.call(abi.FuncRoleNext, call)
	if c.final {
		r.abort(errorf(KindABI, "role_next: call %d is over: its last message was announced; read it with role_read", call))
	}
	if cancel != 0 {
		c.cancel()
	}
	if len(c.queue) == 0 {
		r.produce(c)
	}
	q := c.queue[0]
	c.queue = c.queue[1:]
	if q.strip != nil {
		r.strip = *q.strip
	}
	c.pending, c.final = q.data, q.final
	return uint32(len(q.data))
}

// aheadWindow bounds how long a call run ahead (abi.FlagPaintAhead,
// FlagThinkAhead) goes on before the guest gets what it yielded: a live
// view sees a band's strips or a thought's tokens at most this much later
// than strip by strip, whatever the backend's pace, while the local model's
// few strips or tokens a millisecond reach the guest together.
const aheadWindow = 2 * time.Millisecond

// produce runs call c to its next message, or when it runs ahead to its
// end or past aheadWindow, and queues what it yields.
func (r *run) produce(c *roleCall) {
	var t0 time.Time
	if c.ahead {
		t0 = time.Now()
	}
	for {
		r.produced = nil
		m := c.step()
		if r.ctx.Err() != nil {
			panic(context.Cause(r.ctx))
		}
		var data []byte
		switch {
		case r.abi == abi.Version1:
			var err error
			if data, err = json.Marshal(m); err != nil {
				panic("BUG: sandbox: cannot encode a role message: " + err.Error())
			}
		case c.ahead: // each message its own bytes: they wait
			data = abi.AppendMessage(nil, &m)
		default:
			data = abi.AppendMessage(c.buf[:0], &m)
			c.buf = data
		}
		q := queued{data: data, final: m.Type == abi.MsgDone || m.Type == abi.MsgError}
		if m.Type == abi.MsgStrip {
			q.strip = r.produced
		}
		c.queue = append(c.queue, q)
		if q.final {
			r.roleTime[c.role] += c.active
		}
		if q.final || !c.ahead || time.Since(t0) >= r.aheadWindow {
			return
		}
	}
}

func (r *run) roleRead(mem memory, call, ptr, n uint32) uint32 {
	r.enter()
	c := r.call(abi.FuncRoleRead, call)
	if c.pending == nil {
		r.abort(errorf(KindABI, "role_read: call %d has no message: call role_next first", call))
	}
	if int(n) != len(c.pending) {
		r.abort(errorf(KindABI, "role_read: len %d is not the message's %d bytes announced by role_next", n, len(c.pending)))
	}
	if !mem.Write(ptr, c.pending) {
		r.abort(errorf(KindABI, "role_read: the buffer [%d, %d) is outside the guest's %d bytes of memory", ptr, uint64(ptr)+uint64(n), mem.Size()))
	}
	c.pending = nil
	if c.final {
		delete(r.calls, call)
		c.done(r.workers)
	}
	return n
}

func (r *run) call(fn string, id uint32) *roleCall {
	c := r.calls[id]
	if c == nil {
		r.abort(errorf(KindABI, "%s: no open call %d", fn, id))
	}
	return c
}

// --- end of a run -----------------------------------------------------------

// finish ends the run's role calls and the backend's run.
func (r *run) finish() {
	for _, c := range r.calls {
		c.stop()
	}
	r.workers.close()
	if r.brun != nil {
		_ = r.brun.Close()
	}
}

// outcome turns how twig_run ended into the run's error (nil for a run
// that finished with run_done) and, when the guest did not end the stream,
// ends it with an error event.
func (r *run) outcome(status uint32, callErr error, memBytes uint64) error {
	err := r.classify(status, callErr, memBytes)
	if err == nil || r.final != "" || r.sinkErr != nil {
		return err
	}
	_ = r.send(&protocol.Error{Code: engine.Code(err), Message: err.Error()})
	return err
}

func (r *run) classify(status uint32, callErr error, memBytes uint64) error {
	if r.violation != nil {
		return r.fail(r.violation)
	}
	if cerr := r.ctx.Err(); cerr != nil {
		if errors.Is(context.Cause(r.ctx), errWallTime) {
			return r.fail(errorf(KindWallTime, "the guest ran past the run's wall-time limit of %v (Config.RunTimeout) and was closed", r.cfg.RunTimeout))
		}
		code, what := protocol.CodeCanceled, "cancelled"
		if errors.Is(cerr, context.DeadlineExceeded) {
			code, what = protocol.CodeDeadline, "ran past its deadline"
		}
		return &engine.Error{Code: code, Band: -1, Err: fmt.Errorf("run %s in the sandbox: %w", what, cerr)}
	}
	if callErr != nil {
		return r.fail(r.guestFailed(callErr, memBytes))
	}
	if r.sinkErr != nil {
		return r.sinkErr
	}
	switch {
	case r.final == protocol.TypeRunDone && status == abi.RunOK:
		return nil
	case r.final == protocol.TypeError:
		band, msg := -1, strings.TrimPrefix(r.failMsg, "engine: ")
		if rest, ok := strings.CutPrefix(msg, "band "); ok {
			if n, tail, ok := strings.Cut(rest, ": "); ok {
				if b, err := strconv.Atoi(n); err == nil {
					band, msg = b, tail
				}
			}
		}
		return &engine.Error{Code: r.failCode, Band: band, Err: errors.New(msg)}
	}
	return r.fail(errorf(KindGuest, "twig_run returned %d without ending the stream with run_done or error%s", status, r.out.hint()))
}

// guestFailed explains a trap or exit of the guest.
func (r *run) guestFailed(err error, memBytes uint64) *Error {
	limit := uint64(r.cfg.MemoryLimitPages) * 65536
	if strings.Contains(r.out.String(), "out of memory") || memBytes+4<<20 >= limit {
		return errorf(KindMemory, "the guest ran out of memory at the cap of %d pages (%d MiB, Config.MemoryLimitPages)%s",
			r.cfg.MemoryLimitPages, limit>>20, r.out.hint())
	}
	msg, _, _ := strings.Cut(err.Error(), "\n")
	return errorf(KindGuest, "the guest failed: %s%s", strings.TrimSuffix(msg, " (recovered by wazero)"), r.out.hint())
}

func (r *run) fail(e *Error) error { return &engine.Error{Code: e.code(), Band: -1, Err: e} }

// tail keeps the first and the last bytes a guest wrote to stdout and
// stderr: a Go runtime's fatal error is at the start of a long trace.
type tail struct {
	mu         sync.Mutex
	head, tail []byte
}

const tailBytes = 2 << 10

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := len(p)
	if room := tailBytes - len(t.head); room > 0 {
		k := min(room, len(p))
		t.head, p = append(t.head, p[:k]...), p[k:]
	}
	t.tail = append(t.tail, p...)
	if len(t.tail) > tailBytes {
		t.tail = append(t.tail[:0], t.tail[len(t.tail)-tailBytes:]...)
	}
	return n, nil
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.head) + string(t.tail)
}

// hint is the most telling line of the guest's output, for an error message.
func (t *tail) hint() string {
	lines := strings.Split(strings.TrimSpace(t.String()), "\n")
	for _, l := range lines {
		if strings.HasPrefix(l, "panic: ") || strings.HasPrefix(l, "fatal error: ") {
			return " (guest said: " + strings.TrimSpace(l) + ")"
		}
	}
	if l := strings.TrimSpace(lines[len(lines)-1]); l != "" {
		return " (guest said: " + l + ")"
	}
	return ""
}
