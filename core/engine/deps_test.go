package engine_test

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

// TestNoWorldDeps holds the rule of docs/CANVAS.md ("Rules that make the
// tree hold"): the engine, the protocol, the role-call codec, the fold and
// the canvas build on no synthetic-world code. A prompt is text and a
// thought is text to them; the embedded model (core/model) is the only
// runtime user of internal/world, the judge, bench and train its teacher.
func TestNoWorldDeps(t *testing.T) {
	const mod = "github.com/twig-project/twig/"
	// pending lists what still depends on world code, and why, until it is
	// gone: nothing since the engine paints pixel strips on a canvas.Canvas
	// (a token model keeps its grid as its own view). A new entry needs a
	// reason here.
	pending := map[string][]string{}
	pkgs := []string{"core/engine", "core/protocol", "core/rolecall", "core/fold", "core/canvas"}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+p).Output()
		if err != nil {
			t.Fatalf("go list %s: %v", p, err)
		}
		var world []string
		for _, d := range strings.Fields(string(out)) {
			if rest, ok := strings.CutPrefix(d, mod); ok && (rest == "internal/world" || strings.HasPrefix(rest, "internal/world/") || strings.HasPrefix(rest, "core/world")) {
				world = append(world, rest)
			}
		}
		for _, w := range world {
			if !slices.Contains(pending[p], w) {
				t.Errorf("%s depends on %s: the engine's side imports no world code (docs/CANVAS.md)", p, w)
			}
		}
		for _, w := range pending[p] {
			if !slices.Contains(world, w) {
				t.Errorf("%s no longer depends on %s: delete it from pending in this test", p, w)
			}
		}
	}
}
