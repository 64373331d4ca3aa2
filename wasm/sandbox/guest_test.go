package sandbox

import (
	"context"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/wasmbuild"
	"github.com/twig-project/twig/wasm/abi"
)

// TestEmbeddedGuestUpToDate checks that twig-guest.wasm was built from the
// sources as they are now: guest.sum records their hash (toolchain-free, so
// another Go release does not fail it) and the module's own hash.
func TestEmbeddedGuestUpToDate(t *testing.T) {
	data, err := os.ReadFile("guest.sum")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if len(lines) < 2 || !strings.HasPrefix(lines[1], "wasm ") {
		t.Fatalf("guest.sum is not two hash lines: run make sandbox-guest")
	}
	if got, want := wasmbuild.Hash(guestWasm), strings.TrimPrefix(lines[1], "wasm "); got != want {
		t.Fatalf("twig-guest.wasm is %s, guest.sum says %s: run make sandbox-guest", got, want)
	}
	if _, err := exec.LookPath("go"); err != nil {
		t.Skip("no go command to list the guest's sources")
	}
	h, err := wasmbuild.SourceHash(".", "github.com/twig-project/twig/wasm/guest/twig")
	if err != nil {
		t.Fatal(err)
	}
	if h != lines[0] {
		t.Fatalf("the engine guest's sources changed since twig-guest.wasm was built (%s, guest.sum says %s): run make sandbox-guest", h, lines[0])
	}
}

// TestEngineGuestFlags: the embedded engine guest asks the host to keep
// the strips' pixels (abi.FlagNoPixels: its engine reads none) and to run
// known bands and unbudgeted thoughts ahead (abi.FlagPaintAhead, FlagThinkAhead).
func TestEngineGuestFlags(t *testing.T) {
	s := benchSandbox(t)
	if !s.engine.flags {
		t.Fatal("the engine guest does not export twig_flags")
	}
	p := <-s.engine.ready
	defer func() { s.engine.ready <- p }()
	res, err := p.mod.ExportedFunction(abi.ExportFlags).Call(context.Background())
	if want := uint64(abi.FlagNoPixels | abi.FlagPaintAhead | abi.FlagThinkAhead); err != nil || res[0] != want {
		t.Fatalf("twig_flags() = %v (%v), want %d", res, err, want)
	}
}
