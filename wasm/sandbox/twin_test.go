package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

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
var twinOptions = guest.Options{Lend: true, NoPixels: true, PaintAhead: true}

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
	for _, o := range []guest.Options{twinOptions, {}, {Lend: true}, {NoPixels: true}, {PaintAhead: true}} {
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

// countingPainter counts the strips its backend's painter has painted.
type countingPainter struct {
	engine.Backend
	painted *int
}

func (c countingPainter) Name() string { return c.Backend.(engine.Named).Name() }

func (c countingPainter) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	run, err := c.Backend.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	roles := run.Roles()
	p := roles.Painter
	roles.Painter = countedPainter{p, c.painted}
	return replayRun{roles: roles, close: run.Close}, nil
}

type countedPainter struct {
	engine.Painter
	painted *int
}

func (c countedPainter) Geometry() engine.Geometry { return engine.GeometryOf(c.Painter) }

func (c countedPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	return c.Painter.PaintBand(ctx, req, func(s canvas.Strip) { *c.painted++; onStrip(s) })
}

// aheadHost records, at each strip message the guest reads, how many
// strips the painter had painted.
type aheadHost struct {
	twinHost
	painted *int
	at      *[]int
}

func (h aheadHost) RoleRead(call uint32, buf []byte) uint32 {
	n := h.twinHost.RoleRead(call, buf)
	if buf[0] == 6 { // a strip message
		*h.at = append(*h.at, *h.painted)
	}
	return n
}

// TestPaintAhead: with abi.FlagPaintAhead a band of known rows is painted
// whole before the guest reads its first strip, and an open band's strips
// (adaptive: the decider may end it) one at a time; without the flag every
// band's strips one at a time. The events are the native run's either way.
func TestPaintAhead(t *testing.T) {
	ctx := context.Background()
	m, err := model.Load(ctx, "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	defer guest.ServeWith(engine.Draw, twinOptions)
	for _, ahead := range []bool{true, false} {
		guest.ServeWith(engine.Draw, guest.Options{PaintAhead: ahead})
		for _, adaptive := range []bool{false, true} {
			st := engine.DefaultSettings()
			st.Adaptive = adaptive
			spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 5, Settings: st, RunID: "t"}
			var painted int
			var at []int
			want, got := twinRecord(t), twinRecord(t)
			if _, err := engine.Draw(ctx, m, spec, want.sink); err != nil {
				t.Fatal(err)
			}
			b := countingPainter{m, &painted}
			r := newRun(DefaultConfig(), b, spec, got.sink)
			r.ctx = ctx
			r.flags = guest.Flags()
			if guest.Run(aheadHost{twinHost{r, new(int)}, &painted, &at}, r.input()) != abi.RunOK {
				t.Fatalf("ahead %v adaptive %v: the run failed: %v", ahead, adaptive, r.outcome(1, nil, 0))
			}
			r.finish()
			for i := range max(len(*want.lines), len(*got.lines)) {
				if i >= len(*want.lines) || i >= len(*got.lines) || (*want.lines)[i] != (*got.lines)[i] {
					t.Fatalf("ahead %v adaptive %v: event %d differs from the native run's", ahead, adaptive, i)
				}
			}
			oneByOne := true
			for i, n := range at {
				oneByOne = oneByOne && n == i+1
			}
			if len(at) < 4 || oneByOne == (ahead && !adaptive) {
				t.Errorf("ahead %v adaptive %v: strips painted when the guest read each: %v", ahead, adaptive, at)
			}
		}
	}
}
