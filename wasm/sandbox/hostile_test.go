package sandbox_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/wasmbuild"
	"github.com/twig-project/twig/wasm/abi"
	"github.com/twig-project/twig/wasm/sandbox"
)

// goGuest builds a Go guest package once per test binary.
var goGuests sync.Map // pkg → func() ([]byte, error)

func goGuest(t testing.TB, pkg string) []byte {
	t.Helper()
	f, _ := goGuests.LoadOrStore(pkg, sync.OnceValues(func() ([]byte, error) {
		out := filepath.Join(os.TempDir(), "twig-sandbox-test-"+strings.ReplaceAll(pkg, "/", "_")+".wasm")
		if err := wasmbuild.Build(".", pkg, out); err != nil {
			return nil, err
		}
		return os.ReadFile(out)
	}))
	wasm, err := f.(func() ([]byte, error))()
	if err != nil {
		t.Fatal(err)
	}
	return wasm
}

// short and fewCalls are sandboxes with one small limit each, for the
// guests that must hit it: with both limits small, a loaded machine could
// let the wall time run out before the thousandth host call.
var (
	short = sync.OnceValues(func() (*sandbox.Sandbox, error) {
		return sandbox.New(context.Background(), sandbox.Config{CacheDir: testCacheDir(), RunTimeout: 300 * time.Millisecond})
	})
	fewCalls = sync.OnceValues(func() (*sandbox.Sandbox, error) {
		return sandbox.New(context.Background(), sandbox.Config{CacheDir: testCacheDir(), MaxHostCalls: 1000})
	})
)

func TestHostileGuestsAreContained(t *testing.T) {
	m := tinyModel(t)
	event := []byte(`{"v":"twig/1","type":"thought_delta","run_id":"x","seq":0,"t_ms":0,"band":0,"text":"` +
		strings.Repeat("a", 60000) + `"}`)
	// a run_started that would cost the host a 64 MiB picture
	forgedPicture := []byte(`{"v":"twig/1","type":"run_started","run_id":"x","seq":0,"t_ms":0,"prompt":"p","settings":{},"grid":16,"width":4096,"height":4096}`)
	small := []byte(`{"v":"twig/1","type":"thought_delta","run_id":"x","seq":0,"t_ms":0,"band":0,"text":"a"}`)
	// The same in ABI 2's binary frames (abi.AppendEvent): a 60,000-byte
	// thought, a band_progress with a PNG, and one (rows 0–1, no PNG)
	// claiming 2⁶² tokens.
	frame, _ := abi.AppendEvent(nil, &protocol.ThoughtDelta{Text: strings.Repeat("a", 60000)})
	forgedFrame, _ := abi.AppendEvent(nil, &protocol.BandProgress{Tokens: make([]int, 16), PNG: "iVBORw0KGgo="})
	// a strip left to the host (no PNG) that its painter never sent
	noStripFrame, _ := abi.AppendEvent(nil, &protocol.BandProgress{Rows: protocol.Rows{Start: 0, End: 16}, Tokens: make([]int, 16)})
	badFrame := []byte{abi.EventBandProgress, 0, 0, 0, 2, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x3f}
	emitForever := func(n int) []byte {
		return cat([]byte{opLoop, blockVoid}, i32c(4096), i32c(int64(n)), call(fnEmitEvent), []byte{opDrop, opBr, 0, opEnd}, i32c(0))
	}
	engineWasm := sandbox.EngineGuest()
	corrupt := bytes.Clone(engineWasm)
	copy(corrupt, "\x00wsm")
	hostile := func() []byte { return goGuest(t, "./testdata/hostile") }
	for _, tc := range []struct {
		name   string
		wasm   func() []byte
		prompt string
		box    func() (*sandbox.Sandbox, error) // nil: the default sandbox
		kind   string
		code   string
		says   string
	}{
		{name: "infinite loop", wasm: func() []byte {
			return guestModule(1, cat([]byte{opLoop, blockVoid, opBr, 0, opEnd}, i32c(0)), nil)
		}, box: short, kind: sandbox.KindWallTime, code: protocol.CodeDeadline, says: "wall-time limit"},
		{name: "memory bomb", wasm: func() []byte {
			return guestModule(1, cat([]byte{opLoop, blockVoid}, i32c(16), []byte{opMemoryGrow, 0}, i32c(-1),
				[]byte{opI32Ne, opBrIf, 0, opEnd, opUnreachable}), nil)
		}, kind: sandbox.KindMemory, says: "out of memory at the cap of 1024 pages"},
		{name: "go memory bomb", wasm: hostile, prompt: "memory", kind: sandbox.KindMemory, says: "out of memory"},
		{name: "event spam", wasm: func() []byte { return guestModule(1, emitForever(len(event)), event) },
			kind: sandbox.KindEventBytes, says: "more than 16777216 bytes of events"},
		{name: "host-call spam", wasm: func() []byte { return guestModule(1, emitForever(len(small)), small) },
			box: fewCalls, kind: sandbox.KindHostCalls, says: "more than 1000 host calls"},
		{name: "out-of-bounds event", wasm: func() []byte {
			return guestModule(1, cat(i32c(0x1ff00), i32c(4096), call(fnEmitEvent)), nil)
		}, kind: sandbox.KindABI, says: "emit_event: the buffer [130816, 134912) is outside the guest's 131072 bytes"},
		{name: "forged picture", wasm: func() []byte {
			return emitOnceGuest(1, forgedPicture)
		}, kind: sandbox.KindABI, says: "run_started claims a 4096×4096 canvas"},
		{name: "out-of-bounds request", wasm: func() []byte {
			return guestModule(1, cat(i32c(0), i32c(-16), i32c(64), call(fnRoleCall)), nil)
		}, kind: sandbox.KindABI, says: "role_call: the buffer"},
		{name: "unknown call handle", wasm: func() []byte {
			return guestModule(1, cat(i32c(7), i32c(0), call(fnRoleNext)), nil)
		}, kind: sandbox.KindABI, says: "role_next: no open call 7"},
		{name: "files and sockets", wasm: hostile, prompt: "files", kind: sandbox.KindGuest, says: "contained:"},
		{name: "go panic", wasm: hostile, prompt: "panic", kind: sandbox.KindGuest, says: "panic: hostile guest panics"},
		{name: "wrong ABI version", wasm: func() []byte { return guestModule(2, i32c(0), nil) },
			kind: sandbox.KindModule, says: "speaks twig sandbox ABI 2, this host speaks ABI 1 and 3: rebuild it"},
		{name: "binary event spam", wasm: func() []byte { return guestModule(abi.Version, emitForever(len(frame)), frame) },
			kind: sandbox.KindEventBytes, says: "more than 16777216 bytes of events"},
		{name: "forged picture frame", wasm: func() []byte {
			return emitOnceGuest(abi.Version, forgedFrame)
		}, kind: sandbox.KindABI, says: "band_progress carries pixels"},
		{name: "strip the painter never sent", wasm: func() []byte {
			return emitOnceGuest(abi.Version, noStripFrame)
		}, kind: sandbox.KindABI, says: "band_progress rows [0,16) without a png: only the strip the painter just sent"},
		{name: "bad event frame", wasm: func() []byte {
			return emitOnceGuest(abi.Version, badFrame)
		}, kind: sandbox.KindABI, says: "emit_event: not a twig event frame: band_progress event: abi: bad frame: a list longer than the frame"},
		{name: "binary frame from an ABI 1 guest", wasm: func() []byte {
			return emitOnceGuest(1, frame)
		}, kind: sandbox.KindABI, says: "emit_event: not a twig event"},
		{name: "unknown flags", wasm: func() []byte {
			return guestModuleFlags(abi.Version, i32c(0), nil, &flagsFunc{body: i32c(0x101)})
		}, kind: sandbox.KindModule, says: "twig_flags asks for flags 0x101 this host does not know"},
		{name: "flags of the wrong type", wasm: func() []byte {
			return guestModuleFlags(abi.Version, i32c(0), nil, &flagsFunc{param: true, body: i32c(1)})
		}, kind: sandbox.KindModule, says: "twig_flags is not () -> i32"},
		{name: "truncated module", wasm: func() []byte { return engineWasm[:len(engineWasm)/3] },
			kind: sandbox.KindModule, says: "does not compile"},
		{name: "corrupt module", wasm: func() []byte { return corrupt }, kind: sandbox.KindModule, says: "does not compile"},
		{name: "not a guest", wasm: func() []byte { return (&wmodule{memPages: 1}).encode() },
			kind: sandbox.KindModule, says: "does not export twig_abi_version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s := sb(t)
			if tc.box != nil {
				var err error
				if s, err = tc.box(); err != nil {
					t.Fatal(err)
				}
			}
			// A well-behaved run goes on beside the hostile one.
			var wg sync.WaitGroup
			wg.Go(func() { checkNormalRun(t, m, 11) })
			p := tc.prompt
			if p == "" {
				p = prompt
			}
			var rec record
			t0 := time.Now()
			_, err := s.RunModule(context.Background(), tc.wasm(), m, engine.RunSpec{Prompt: p, Seed: 1}, rec.sink)
			wg.Wait()
			var se *sandbox.Error
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want a *sandbox.Error", err)
			}
			if se.Kind != tc.kind || !strings.Contains(err.Error(), tc.says) {
				t.Fatalf("err = %v (kind %s), want kind %s saying %q", err, se.Kind, tc.kind, tc.says)
			}
			code := tc.code
			if code == "" {
				code = protocol.CodeGuest
			}
			if engine.Code(err) != code {
				t.Errorf("code %s, want %s", engine.Code(err), code)
			}
			if n := len(rec.evs); n == 0 || rec.evs[n-1].Type != protocol.TypeError ||
				rec.evs[n-1].Payload.(*protocol.Error).Code != code {
				t.Errorf("the stream does not end with an error event of code %s: %v", code, rec.evs)
			}
			t.Logf("%v in %v", err, time.Since(t0).Round(time.Millisecond))
		})
	}
}

// reference is a native run's events and image per seed.
var reference sync.Map

// checkNormalRun runs a sandboxed draw and compares it with the native one.
func checkNormalRun(t *testing.T, m engine.Backend, seed int64) {
	spec := engine.RunSpec{Prompt: prompt, Seed: seed, RunID: "ok", Settings: engine.DefaultSettings()}
	ref, ok := reference.Load(seed)
	if !ok {
		var native record
		if _, err := engine.Draw(context.Background(), m, spec, native.sink); err != nil {
			t.Error(err)
			return
		}
		ref, _ = reference.LoadOrStore(seed, lines(t, native.evs))
	}
	var boxed record
	if _, err := sb(t).Draw(context.Background(), m, spec, boxed.sink); err != nil {
		t.Errorf("a normal run beside a hostile one failed: %v", err)
		return
	}
	if got, want := strings.Join(lines(t, boxed.evs), "\n"), strings.Join(ref.([]string), "\n"); got != want {
		t.Errorf("a normal run beside a hostile one differs from the native run")
	}
}
