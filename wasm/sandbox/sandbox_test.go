package sandbox_test

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/sandbox"
)

const prompt = "a red circle above a blue square"

// shared is one sandbox for the package's tests (compiling the guest once).
var shared = sync.OnceValues(func() (*sandbox.Sandbox, error) {
	return sandbox.New(context.Background(), sandbox.Config{CacheDir: testCacheDir()})
})

// testCacheDir keeps compiled guests across test runs.
func testCacheDir() string { return filepath.Join(os.TempDir(), "twig-sandbox-test-cache") }

func sb(t testing.TB) *sandbox.Sandbox {
	t.Helper()
	s, err := shared()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var tiny = sync.OnceValues(func() (*model.Model, error) {
	return model.Load(context.Background(), "../../core/model/testdata/tiny.safetensors")
})

func tinyModel(t testing.TB) *model.Model {
	t.Helper()
	m, err := tiny()
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// record collects a run's events.
type record struct{ evs []protocol.Event }

func (r *record) sink(ev protocol.Event) error { r.evs = append(r.evs, ev); return nil }

// lines encodes events with their timing fields zeroed: what must match
// between a sandboxed and a native run.
func lines(t testing.TB, evs []protocol.Event) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		ev.TMs = 0
		if d, ok := ev.Payload.(*protocol.RunDone); ok {
			c := *d
			c.Stats.Timings = protocol.Timings{}
			ev.Payload = &c
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, string(b))
	}
	return out
}

func sameEvents(t *testing.T, native, boxed []protocol.Event) {
	t.Helper()
	a, b := lines(t, native), lines(t, boxed)
	for i := range max(len(a), len(b)) {
		switch {
		case i >= len(a):
			t.Fatalf("event %d only in the sandboxed run: %s", i, b[i])
		case i >= len(b):
			t.Fatalf("event %d only in the native run: %s", i, a[i])
		case a[i] != b[i]:
			t.Fatalf("event %d differs:\nnative:    %s\nsandboxed: %s", i, a[i], b[i])
		}
	}
}

func TestSandboxedRunEqualsNative(t *testing.T) {
	m := tinyModel(t)
	s := sb(t)
	for _, tc := range []struct {
		name   string
		mod    func(*engine.Settings)
		prompt string // when not the usual one
	}{
		{"think+reflect", func(s *engine.Settings) {}, ""},
		{"no-think", func(s *engine.Settings) { s.Think, s.Reflect = false, false }, ""},
		{"k4 strict", func(s *engine.Settings) { s.Bands, s.Threshold = 4, 100 }, ""},
		{"adaptive", func(s *engine.Settings) { s.Adaptive = true }, ""},
		{"budgets", func(s *engine.Settings) { s.MaxThoughtTokens, s.MaxRevisionsTotal, s.Threshold = 7, 1, 100 }, ""},
		{"invalid", func(s *engine.Settings) { s.Threshold = 101 }, ""},
		// the model refuses the prompt: invalid_request, the same message
		{"unknown words", func(s *engine.Settings) {}, "a red blorp"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := engine.DefaultSettings()
			tc.mod(&st)
			spec := engine.RunSpec{Prompt: cmp.Or(tc.prompt, prompt), Seed: 5, Settings: st, RunID: "r1"}
			var native, boxed record
			nres, nerr := engine.Draw(context.Background(), m, spec, native.sink)
			bres, berr := s.Draw(context.Background(), m, spec, boxed.sink)
			if (nerr == nil) != (berr == nil) || engine.Code(nerr) != engine.Code(berr) {
				t.Fatalf("native error %v, sandboxed error %v", nerr, berr)
			}
			if nerr != nil && nerr.Error() != berr.Error() {
				t.Errorf("errors differ:\nnative:    %v\nsandboxed: %v", nerr, berr)
			}
			sameEvents(t, native.evs, boxed.evs)
			if !bytes.Equal(tokenBytes(nres.Tokens), tokenBytes(bres.Tokens)) {
				t.Fatal("the images differ")
			}
			t.Logf("%d events, %d tokens", len(boxed.evs), len(bres.Tokens))
		})
	}
}

func tokenBytes(t []int) []byte {
	b, _ := json.Marshal(t)
	return b
}

var _ = errors.New
