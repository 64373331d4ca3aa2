package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/sandbox"
)

// sandboxCache keeps the compiled guest across test runs.
var sandboxCache = filepath.Join(os.TempDir(), "twig-sandbox-test-cache")

// untimed is a trace with its run ID and timing fields zeroed.
func untimed(t *testing.T, path string) string {
	t.Helper()
	evs, err := protocol.ReadAll(bytes.NewReader(read(t, path)))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, ev := range evs {
		ev.TMs, ev.RunID = 0, ""
		if d, ok := ev.Payload.(*protocol.RunDone); ok {
			d.Stats.Timings = protocol.Timings{}
		}
		line, _ := json.Marshal(ev)
		b.Write(append(line, '\n'))
	}
	return b.String()
}

// TestDrawSandboxed: draw --sandbox and sandbox run with the engine's own
// guest give the native draw's image and trace.
func TestDrawSandboxed(t *testing.T) {
	dir := t.TempDir()
	native, boxed, policy := filepath.Join(dir, "n"), filepath.Join(dir, "s"), filepath.Join(dir, "p")
	guest := filepath.Join(dir, "engine.wasm")
	if err := os.WriteFile(guest, sandbox.EngineGuest(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"--seed", "3", "--sandbox-cache", sandboxCache, "a red circle above a blue square"}
	for _, run := range [][]string{
		append([]string{"draw", "--out", native}, args...),
		append([]string{"draw", "--sandbox", "--out", boxed}, args...),
		append([]string{"sandbox", "run", guest, "--out", policy}, args...),
	} {
		if o := twig(t, testBackend, run...); o.code != 0 || o.stderr != "" {
			t.Fatalf("%v: %+v", run, o)
		}
	}
	for _, d := range []string{boxed, policy} {
		if !bytes.Equal(read(t, filepath.Join(native, imageFile)), read(t, filepath.Join(d, imageFile))) {
			t.Errorf("%s: the image differs from the native draw's", d)
		}
		if untimed(t, filepath.Join(native, traceFile)) != untimed(t, filepath.Join(d, traceFile)) {
			t.Errorf("%s: the trace differs from the native draw's", d)
		}
	}
}

func TestSandboxRunErrors(t *testing.T) {
	dir := t.TempDir()
	junk := filepath.Join(dir, "junk.wasm")
	if err := os.WriteFile(junk, []byte("\x00asm\x01\x00\x00\x00junk"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		args []string
		code int
		err  string
	}{

		{"no policy", []string{"sandbox", "run"}, exitUsage, "no policy"},
		{"no prompt", []string{"sandbox", "run", junk}, exitUsage, "no prompt"},
		{"missing policy", []string{"sandbox", "run", filepath.Join(dir, "none.wasm"), "x"}, exitFail, "cannot read the policy"},
		{"corrupt policy", []string{"sandbox", "run", "--sandbox-cache", sandboxCache, junk, "x"}, exitFail, "junk.wasm: sandbox: the module does not compile"},
		{"bad limit", []string{"draw", "--sandbox", "--sandbox-memory-pages", "0", "x"}, exitUsage, "--sandbox-memory-pages 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := twig(t, testBackend, append(tc.args, "--out", dir)...)
			if o.code != tc.code || !strings.Contains(o.stderr, tc.err) {
				t.Fatalf("got %+v, want exit %d with %q", o, tc.code, tc.err)
			}
		})
	}
	if o := twig(t, nil, "sandbox"); o.code != exitUsage || !strings.Contains(o.stderr, "twig sandbox run POLICY.wasm") {
		t.Errorf("sandbox: %+v", o)
	}
	if o := twig(t, nil, "sandbox", "walk"); o.code != exitUsage || !strings.Contains(o.stderr, `unknown sandbox command "walk"`) {
		t.Errorf("sandbox walk: %+v", o)
	}
	if o := twig(t, nil, "sandbox", "-h"); o.code != exitOK || !strings.Contains(o.stdout, "docs/SANDBOX.md") {
		t.Errorf("sandbox -h: %+v", o)
	}
	if o := twig(t, nil, "sandbox", "run", "-h"); o.code != exitOK || !strings.Contains(o.stdout, "-sandbox-timeout") {
		t.Errorf("sandbox run -h: %+v", o)
	}
}
