package engine_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoWorldDeps holds the rule of docs/CANVAS.md ("Rules that make the
// tree hold"): the engine, the protocol, the role-call codec, the fold and
// the canvas build on no synthetic-world code. A prompt is text and a
// thought is text to them, the canvas is pixels; the embedded model
// (core/model) is the only runtime user of internal/world, with its token
// grid as its own view of a canvas, and the judge, bench and train use the
// world as the teacher.
func TestNoWorldDeps(t *testing.T) {
	const mod = "github.com/twig-project/twig/"
	for _, p := range []string{"core/engine", "core/protocol", "core/rolecall", "core/fold", "core/canvas"} {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+p).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", p, err)
		}
		for _, d := range strings.Fields(string(out)) {
			if rest, ok := strings.CutPrefix(d, mod); ok && (rest == "internal/world" || strings.HasPrefix(rest, "internal/world/")) {
				t.Errorf("%s depends on %s: the engine's side imports no world code (docs/CANVAS.md)", p, rest)
			}
		}
	}
}
