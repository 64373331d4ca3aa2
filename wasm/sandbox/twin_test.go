package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
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
var twinOptions = guest.Options{Lend: true, NoPixels: true}

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
	for _, o := range []guest.Options{twinOptions, {}, {Lend: true}, {NoPixels: true}} {
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
