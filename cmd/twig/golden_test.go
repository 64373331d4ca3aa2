package main

import (
	"bytes"
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

// goldenFile holds the embedded path's outputs (docs/CANVAS.md, "How it is proven"):
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
				// The trace alone gives the same files: twig replay folds
				// its strips (twig/2) into the same PNG and GIF.
				again := filepath.Join(t.TempDir(), "replay")
				if o := twig(t, defaultBackend, "replay", "--out", again, filepath.Join(dir, traceFile)); o.code != 0 {
					t.Fatalf("%s %s: replay: %+v", w.name, name, o.stderr)
				}
				for _, f := range []string{imageFile, gifFile} {
					if !bytes.Equal(read(t, filepath.Join(again, f)), read(t, filepath.Join(dir, f))) {
						t.Errorf("%s %s: the replayed trace's %s differs from the drawn one", w.name, name, f)
					}
				}
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

// TestReplayTwig1: traces written by a twig/1 build (cmd/twig/testdata/twig1,
// drawn by the build before twig/2 with the shipped weights: a fixed
// schedule, an adaptive run, a run with a redraw) replay to the image.png
// and thinking.gif that build wrote.
func TestReplayTwig1(t *testing.T) {
	for _, name := range []string{"fixed", "adaptive", "redraw"} {
		trace := filepath.Join("testdata", "twig1", name+".jsonl")
		if !bytes.Contains(read(t, trace), []byte(`"v":"twig/1"`)) {
			t.Fatalf("%s is not a twig/1 trace", trace)
		}
		dir := filepath.Join(t.TempDir(), "out")
		if o := twig(t, defaultBackend, "replay", "--out", dir, trace); o.code != 0 {
			t.Fatalf("replay %s: %+v", trace, o)
		}
		if !bytes.Equal(read(t, filepath.Join(dir, imageFile)), read(t, filepath.Join("testdata", "twig1", name+".png"))) {
			t.Errorf("%s: image.png differs from the twig/1 build's", name)
		}
		want := string(bytes.TrimSpace(read(t, filepath.Join("testdata", "twig1", name+".gif.sha256"))))
		if got := hashHex(read(t, filepath.Join(dir, gifFile))); got != want {
			t.Errorf("%s: thinking.gif sha256 %s, the twig/1 build's %s", name, got, want)
		}
	}
}
