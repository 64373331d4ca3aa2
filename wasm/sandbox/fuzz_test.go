package sandbox

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// FuzzCoalesceData: any bytes pass through coalesceData without a panic,
// and a module it rewrites keeps its initial memory.
func FuzzCoalesceData(f *testing.F) {
	f.Add(guestWasm[:4096])
	f.Add([]byte("\x00asm\x01\x00\x00\x00\x0b\x0d\x02\x00\x41\x00\x0b\x01a\x00\x41\x02\x0b\x01b"))
	f.Fuzz(func(t *testing.T, wasm []byte) {
		out := coalesceData(wasm)
		if string(out) == string(wasm) {
			return
		}
		a, _, _, err1 := dataSegments(wasm)
		b, _, _, err2 := dataSegments(out)
		if err1 != nil || err2 != nil {
			t.Fatalf("rewrote a module it cannot read: %v %v", err1, err2)
		}
		img := func(segs []segment) string {
			var mem []byte
			for _, s := range segs {
				if end := int(s.off) + len(s.data); end > len(mem) {
					mem = append(mem, make([]byte, end-len(mem))...)
				}
				copy(mem[s.off:], s.data)
			}
			return string(mem)
		}
		if img(a) != img(b) {
			t.Fatal("coalescing changed the initial memory")
		}
	})
}

// FuzzRoleRequest: no request a guest sends makes the host panic: it is
// refused with a *Error, or played on the roles (here a fake that checks
// what reaches it). v1 picks the ABI: JSON requests, or binary frames.
func FuzzRoleRequest(f *testing.F) {
	st := engine.State{Prompt: "p", Settings: engine.DefaultSettings(), Rows: engine.Rows{Start: 0, End: 6}}
	for _, q := range []any{engine.ThinkRequest{State: st}, engine.PaintRequest{State: st, Round: 1},
		engine.CritiqueRequest{State: st}, engine.DecideRequest{State: st, Row: 3}} {
		data, _ := json.Marshal(q)
		var call protocol.CallRequest
		if err := json.Unmarshal(data, &call); err != nil {
			f.Fatal(err)
		}
		for role := range 5 {
			f.Add(role, true, data)
			f.Add(role, false, abi.AppendRequest(nil, &call))
		}
	}
	f.Fuzz(func(t *testing.T, role int, v1 bool, req []byte) {
		roles := engine.Roles{
			Thinker: engine.ThinkerFunc(func(_ context.Context, q engine.ThinkRequest, _ func(string)) (string, error) {
				checkState(t, q.State)
				return "", nil
			}),
			Painter: engine.PainterFunc(func(_ context.Context, q engine.PaintRequest, _ func(canvas.Strip)) error {
				checkState(t, q.State)
				return nil
			}),
			Critic: engine.CriticFunc(func(_ context.Context, q engine.CritiqueRequest) (engine.Critique, error) {
				checkState(t, q.State)
				return engine.Critique{}, nil
			}),
			Decider: engine.DeciderFunc(func(_ context.Context, q engine.DecideRequest) (bool, float64, error) {
				checkState(t, q.State)
				return false, 0, nil
			}),
		}
		b := engine.FuncBackend{Bands: 3, NewRoles: func(context.Context, engine.RunSpec) (engine.Roles, error) { return roles, nil }}
		r := newRun(DefaultConfig(), b, engine.RunSpec{Prompt: "p", Seed: 1, Settings: engine.DefaultSettings()}, nil)
		r.ctx = context.Background()
		if v1 {
			r.abi = abi.Version1
		}
		defer r.finish()
		if role != abi.RoleStart {
			spec := engine.RunSpec{Prompt: "p", Seed: 1, Settings: func() engine.Settings {
				s := engine.DefaultSettings()
				s.Seed, s.Bands = 1, 3
				return s
			}()}
			start := abi.AppendSpec(nil, &spec)
			if v1 {
				start, _ = json.Marshal(spec)
			}
			play, _, err := r.player(abi.RoleStart, start)
			if err != nil {
				t.Fatal(err)
			}
			c := newRoleCall(r.ctx, nil, abi.RoleStart, play)
			c.step()
			c.done(nil)
		}
		play, _, err := r.player(role, req)
		if err != nil {
			return
		}
		c := newRoleCall(r.ctx, nil, role, play)
		for m := c.step(); m.Type != abi.MsgDone && m.Type != abi.MsgError; m = c.step() {
		}
		c.done(nil)
	})
}

// checkState is what a role may rely on in a request the host passed.
func checkState(t *testing.T, st engine.State) {
	c := st.Canvas
	if c == nil || len(c.Pix) != 4*c.W*c.H || len(c.Tokens) != c.Grid*c.Grid || st.Band < 0 || st.Rows.Start < 0 || st.Rows.Start >= c.H ||
		(st.Rows.End != -1 && (st.Rows.End <= st.Rows.Start || st.Rows.End > c.H)) || len(st.Thoughts) > st.Band {
		t.Fatalf("a role got a bad state: band %d rows %+v canvas %v thoughts %d", st.Band, st.Rows, c != nil, len(st.Thoughts))
	}
	for _, tok := range c.Tokens {
		if tok < -1 || tok >= 181 {
			t.Fatalf("a role got canvas token %d", tok)
		}
	}
}
