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
	r := newRun(s.cfg, b, spec, sink)
	runCtx, cancel := context.WithTimeoutCause(ctx, s.cfg.RunTimeout, errWallTime)
	defer cancel()
	r.ctx = runCtx
	status, err := func() (status uint32, err error) {
		defer func() {
			if p := recover(); p != nil {
				err = fmt.Errorf("%v", p)
			}
		}()
		return guest.Run(twinHost{r}, r.input()), nil
	}()
	err = r.outcome(status, err, 0)
	r.finish()
	return r.result, err
}

// The twin plays what the engine guest plays (wasm/guest/twig): engine.Draw,
// lent strips and canvas.
func init() { guest.ServeWith(engine.Draw, guest.Options{Lend: true}) }

// twinHost hands the native guest's slices to the host functions.
type twinHost struct{ r *run }

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
	return h.r.roleRead(sliceMem(buf), call, 0, uint32(len(buf)))
}

// TestTwinEqualsNative: the guest's code path run natively against the
// host functions gives the native run's events (ABI bugs show here without
// wasm in the way).
func TestTwinEqualsNative(t *testing.T) {
	ctx := context.Background()
	m, err := model.Load(ctx, "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	s := &Sandbox{cfg: DefaultConfig()}
	for _, adaptive := range []bool{false, true} {
		st := engine.DefaultSettings()
		st.Adaptive, st.MaxThoughtTokens = adaptive, 9
		spec := engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 3, Settings: st, RunID: "t"}
		var a, b []string
		rec := func(out *[]string) engine.Sink {
			return func(ev protocol.Event) error {
				ev.TMs = 0
				if d, ok := ev.Payload.(*protocol.RunDone); ok {
					d.Stats.Timings = protocol.Timings{}
				}
				line, err := json.Marshal(ev)
				*out = append(*out, string(line))
				return err
			}
		}
		if _, err := engine.Draw(ctx, m, spec, rec(&a)); err != nil {
			t.Fatal(err)
		}
		if _, err := s.drawTwin(ctx, m, spec, rec(&b)); err != nil {
			t.Fatal(err)
		}
		if strings.Join(a, "\n") != strings.Join(b, "\n") {
			t.Fatalf("adaptive %v: the twin's events differ from the native run's", adaptive)
		}
	}
}
