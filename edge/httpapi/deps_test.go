package httpapi_test

import (
	"os/exec"
	"strings"
	"testing"
)

// TestNoWorldDeps: the HTTP endpoints build on no synthetic-world code (as
// core/engine's TestNoWorldDeps holds for the engine's side). With a token
// model as the backend they read pictures and thoughts through the hooks
// it provides (TokenModel, canvas.TokenRenderer); with any other they work
// on pixels, so that no world code decides anything for a remote model.
func TestNoWorldDeps(t *testing.T) {
	const mod = "github.com/twig-project/twig/"
	out, err := exec.Command("go", "list", "-deps", "-f", "{{.ImportPath}}", mod+"edge/httpapi").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, d := range strings.Fields(string(out)) {
		if rest, ok := strings.CutPrefix(d, mod); ok && (strings.HasPrefix(rest, "internal/world") || strings.HasPrefix(rest, "core/world") || rest == "core/model") {
			t.Errorf("edge/httpapi depends on %s: the endpoints import no world code (a token model's hooks instead)", rest)
		}
	}
}
