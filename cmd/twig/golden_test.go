package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/twig-project/twig/core/model"
)

// goldenFile holds the embedded path's outputs (docs/CANVAS.md, step 1):
// per weights and run, the sha256 of image.png, thinking.gif and the trace
// with its timings and run id taken out. TWIG_UPDATE_GOLDEN=1 rewrites it.
const goldenFile = "testdata/embedded-golden.json"

const tinyWeights = "../../core/model/testdata/tiny.safetensors"

type golden struct {
	// Weights is the sha256 of the weights file the rows were drawn with.
	Weights string `json:"weights"`
	// Runs are "seed S" or "seed S adaptive" → the three hashes.
	Runs map[string][3]string `json:"runs"`
}

// timings are the trace's fields that differ between identical runs.
var timings = regexp.MustCompile(`"(t_ms|run_id|[a-z]+_ms)":("[0-9a-f]*"|[0-9]+),?`)

func hashHex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

// TestEmbeddedGolden: the embedded model draws the same bytes as when the
// golden file was recorded — the canvas's move to real pictures leaves the
// embedded path unchanged. Rows of retrained shipped weights are skipped,
// never the tiny test weights'.
func TestEmbeddedGolden(t *testing.T) {
	if testing.Short() {
		t.Skip("draws 12 pictures")
	}
	shipped, err := model.DefaultWeightsBytes()
	if err != nil {
		t.Fatal(err)
	}
	tiny, err := os.ReadFile(tinyWeights)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]golden{}
	for _, w := range []struct {
		name, path string
		data       []byte
	}{{"shipped", "", shipped}, {"tiny", tinyWeights, tiny}} {
		g := golden{Weights: hashHex(w.data), Runs: map[string][3]string{}}
		for seed := 1; seed <= 3; seed++ {
			for _, adaptive := range []bool{false, true} {
				name := fmt.Sprintf("seed %d", seed)
				args := []string{"draw", "--seed", fmt.Sprint(seed), "--json"}
				if adaptive {
					name += " adaptive"
					args = append(args, "--adaptive")
				}
				if w.path != "" {
					args = append(args, "--weights", w.path)
				}
				dir := filepath.Join(t.TempDir(), "out")
				o := twig(t, defaultBackend, append(args, "--out", dir, "a red circle above a blue square")...)
				if o.code != 0 {
					t.Fatalf("%s %s: %+v", w.name, name, o.stderr)
				}
				g.Runs[name] = [3]string{hashHex(read(t, filepath.Join(dir, imageFile))), hashHex(read(t, filepath.Join(dir, gifFile))),
					hashHex(timings.ReplaceAll(read(t, filepath.Join(dir, traceFile)), nil))}
			}
		}
		got[w.name] = g
	}
	if os.Getenv("TWIG_UPDATE_GOLDEN") == "1" {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(goldenFile, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	var want map[string]golden
	if err := json.Unmarshal(read(t, goldenFile), &want); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"shipped", "tiny"} {
		g, w := got[name], want[name]
		if g.Weights != w.Weights {
			if name == "tiny" {
				t.Fatalf("the tiny test weights changed (sha256 %s, golden %s): rerun with TWIG_UPDATE_GOLDEN=1 only if that was meant", g.Weights, w.Weights)
			}
			t.Logf("the shipped weights were retrained: their rows are skipped (TWIG_UPDATE_GOLDEN=1 records them)")
			continue
		}
		for run, h := range w.Runs {
			for i, what := range []string{imageFile, gifFile, traceFile} {
				if g.Runs[run][i] != h[i] {
					t.Errorf("%s weights, %s: %s differs from the golden output: the embedded path changed (if the kernels' numerics changed on purpose, rerun with TWIG_UPDATE_GOLDEN=1)", name, run, what)
				}
			}
		}
	}
}
