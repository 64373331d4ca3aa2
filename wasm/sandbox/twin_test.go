package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
	"github.com/twig-project/twig/wasm/guest"
)

// drawTwin is Module.Draw without wasm: the guest SDK built natively talks
// to the same host functions. It tells ABI bugs from wasm ones and lets the
// guest's side be profiled with the Go tools.
func (s *Sandbox) drawTwin(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	return s.drawTwinCounting(ctx, b, spec, sink, new(int))
}

// drawTwinCounting is drawTwin adding the bytes of the host's messages to *read.
func (s *Sandbox) drawTwinCounting(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink, read *int) (engine.Result, error) {
	r := newRun(s.cfg, b, spec, sink)
	runCtx, cancel := context.WithTimeoutCause(ctx, s.cfg.RunTimeout, errWallTime)
	defer cancel()
	r.ctx = runCtx
	r.flags = guest.Flags()
	status, err := func() (status uint32, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		return guest.Run(twinHost{r, read}, r.input()), nil
	}()
	err = r.outcome(status, err, 0)
	r.finish()
	return r.result, err
}

// The twin plays what the engine guest plays (wasm/guest/twig): engine.Draw,
// lent strips and canvas.
func init() { guest.ServeWith(engine.Draw, twinOptions) }

// twinOptions are the engine guest's (wasm/guest/twig).
var twinOptions = guest.Options{Lend: true, NoPixels: true, PaintAhead: true, ThinkAhead: true}

// twinHost hands the native guest's slices to the host functions.
type twinHost struct {
	r    *run
	read *int // bytes of messages read
}

// sliceMem is one guest slice as memory at offset 0.
type sliceMem []byte

func (m sliceMem) Read(off, n uint32) ([]byte, bool) {
	if uint64(off)+uint64(n) > uint64(len(m)) {
		return nil, false
	}
	return m[off : off+n], true
}

func (m sliceMem) Write(off uint32, v []byte) bool {
	if uint64(off)+uint64(len(v)) > uint64(len(m)) {
		return false
	}
	copy(m[off:], v)
	return true
}

func (m sliceMem) Size() uint32 { return uint32(len(m)) }

func (h twinHost) EmitEvent(ev []byte) uint32 {
	return h.r.emitEvent(sliceMem(ev), 0, uint32(len(ev)))
}

func (h twinHost) RoleCall(role uint32, req []byte) uint32 {
	return h.r.roleCall(sliceMem(req), role, 0, uint32(len(req)))
}

func (h twinHost) RoleNext(call uint32, cancel bool) uint32 {
	c := uint32(0)
	if cancel {
		c = 1
	}
	return h.r.roleNext(call, c)
}

func (h twinHost) RoleRead(call uint32, buf []byte) uint32 {
	*h.read += len(buf)
	return h.r.roleRead(sliceMem(buf), call, 0, uint32(len(buf)))
}

// TestTwinEqualsNative: the guest's code path run natively against the
// host functions gives the native run's events (ABI bugs show here without
// wasm in the way), with each of the SDK's options; strips cross without
// their pixels when the guest asks (guest.Options.NoPixels).
func TestTwinEqualsNative(t *testing.T) {
	ctx := context.Background()
	m, err := model.Load(ctx, "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cfg: DefaultConfig()}
	defer guest.ServeWith(engine.Draw, twinOptions)
	for _, o := range []guest.Options{twinOptions, {}, {Lend: true}, {NoPixels: true}, {PaintAhead: true, ThinkAhead: true}} {
		guest.ServeWith(engine.Draw, o)
		for _, adaptive := range []bool{false, true} {
			name := fmt.Sprintf("%+v adaptive %v", o, adaptive)
			st := engine.DefaultSettings()
			st.Adaptive, st.MaxThoughtTokens = adaptive, 9
			spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 3, Settings: st, RunID: "t"}
			a, b := twinRecord(t), twinRecord(t)
			if _, err := engine.Draw(ctx, m, spec, a.sink); err != nil {
				t.Fatal(err)
			}
			read := 0
			if _, err := s.drawTwinCounting(ctx, m, spec, b.sink, &read); err != nil {
				t.Fatal(err)
			}
			if strings.Join(*a.lines, "\n") != strings.Join(*b.lines, "\n") {
				t.Fatalf("%s: the twin's events differ from the native run's", name)
			}
			// The tiny model paints 16 strips of 256×16 pixels (16 KiB each).
			if pixels := read > 16*16<<10; pixels == o.NoPixels {
				t.Errorf("%s: the guest read %d bytes of messages", name, read)
			}
		}
	}
}

// twinRecorded is a run's events as JSON, timings zeroed.
type twinRecorded struct {
	lines *[]string
	sink  engine.Sink
}

func twinRecord(t *testing.T) twinRecorded {
	var out []string
	return twinRecorded{lines: &out, sink: func(ev protocol.Event) error {
		ev.TMs = 0
		if d, ok := ev.Payload.(*protocol.RunDone); ok {
			d.Stats.Timings = protocol.Timings{}
		}
		line, err := json.Marshal(ev)
		out = append(out, string(line))
		return err
	}}
}

// counting wraps a backend's painter and thinker, counting the strips and
// thought tokens they have yielded.
type counting struct {
	engine.Backend
	strips, tokens *int
}

func (c counting) Name() string { return c.Backend.(engine.Named).Name() }

func (c counting) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	run, err := c.Backend.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	roles := run.Roles()
	roles.Painter = countedPainter{roles.Painter, c.strips}
	if _, ok := roles.Thinker.(engine.PlanReviewer); ok {
		roles.Thinker = countedReviewer{countedThinker{roles.Thinker, c.tokens}}
	} else {
		roles.Thinker = countedThinker{roles.Thinker, c.tokens}
	}
	return replayRun{roles: roles, close: run.Close}, nil
}

type countedPainter struct {
	engine.Painter
	n *int
}

func (c countedPainter) Geometry() engine.Geometry { return engine.GeometryOf(c.Painter) }

func (c countedPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	return c.Painter.PaintBand(ctx, req, func(s canvas.Strip) { *c.n++; onStrip(s) })
}

type countedThinker struct {
	engine.Thinker
	n *int
}

func (c countedThinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	return c.Thinker.Think(ctx, req, func(d string) { *c.n++; emit(d) })
}

// countedReviewer is a countedThinker of a thinker that reviews its plans.
type countedReviewer struct{ countedThinker }

func (c countedReviewer) ReviewPlan(ctx context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	return c.Thinker.(engine.PlanReviewer).ReviewPlan(ctx, req)
}

// aheadHost records, at each strip and thought token the guest reads, how
// many the backend had yielded by then.
type aheadHost struct {
	twinHost
	strips, tokens *int
	stripsAt       *[]int
	tokensAt       *[]int
}

func (h aheadHost) RoleRead(call uint32, buf []byte) uint32 {
	n := h.twinHost.RoleRead(call, buf)
	switch buf[0] {
	case 6: // strip
		*h.stripsAt = append(*h.stripsAt, *h.strips)
	case 1: // delta
		*h.tokensAt = append(*h.tokensAt, *h.tokens)
	}
	return n
}

// TestRunAhead: with abi.FlagPaintAhead a band of known rows is painted
// whole before the guest reads its first strip, and an open band's strips
// (adaptive: the decider may end it) one at a time; with FlagThinkAhead a
// thought without a budget is thought whole before the guest reads its
// first token, one with a budget token by token; without the flags, or
// with no time to run ahead (aheadWindow), all go one at a time. The
// events are the native run's every way.
func TestRunAhead(t *testing.T) {
	ctx := context.Background()
	m, err := model.Load(ctx, "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer guest.ServeWith(engine.Draw, twinOptions)
	ahead := guest.Options{PaintAhead: true, ThinkAhead: true}
	for _, tc := range []struct {
		o      guest.Options
		window time.Duration
	}{{ahead, time.Hour}, {guest.Options{}, time.Hour}, {ahead, 0}} {
		o := tc.o
		guest.ServeWith(engine.Draw, o)
		if tc.window == 0 { // nothing waits: as without the flags
			o = guest.Options{}
		}
		for _, mode := range []string{"fixed", "adaptive", "budget"} {
			st := engine.DefaultSettings()
			st.Adaptive = mode == "adaptive"
			if mode == "budget" {
				st.MaxThoughtTokens = 40
			}
			name := fmt.Sprintf("%+v window %v %s", tc.o, tc.window, mode)
			spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 5, Settings: st, RunID: "t"}
			var strips, tokens int
			var stripsAt, tokensAt []int
			want, got := twinRecord(t), twinRecord(t)
			if _, err := engine.Draw(ctx, m, spec, want.sink); err != nil {
				t.Fatal(err)
			}
			r := newRun(DefaultConfig(), counting{m, &strips, &tokens}, spec, got.sink)
			r.ctx = ctx
			r.flags = guest.Flags()
			r.aheadWindow = tc.window // an hour: however slow this machine paints
			if guest.Run(aheadHost{twinHost{r, new(int)}, &strips, &tokens, &stripsAt, &tokensAt}, r.input()) != abi.RunOK {
				t.Fatalf("%s: the run failed: %v", name, r.outcome(1, nil, 0))
			}
			r.finish()
			for i := range max(len(*want.lines), len(*got.lines)) {
				if i >= len(*want.lines) || i >= len(*got.lines) || (*want.lines)[i] != (*got.lines)[i] {
					t.Fatalf("%s: event %d differs from the native run's", name, i)
				}
			}
			oneByOne := func(at []int) bool {
				for i, n := range at {
					if n != i+1 {
						return false
					}
				}
				return true
			}
			if len(stripsAt) < 4 || oneByOne(stripsAt) == (o.PaintAhead && mode != "adaptive") {
				t.Errorf("%s: strips painted when the guest read each: %v", name, stripsAt)
			}
			if mode != "adaptive" && (len(tokensAt) < 4 || oneByOne(tokensAt) == (o.ThinkAhead && mode != "budget")) {
				t.Errorf("%s: thought tokens thought when the guest read each: %v", name, tokensAt)
			}
		}
	}
}
