package main

import (
	"bufio"
	"context"
	"encoding/json"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/bench"
	"github.com/twig-project/twig/internal/judge"
	"github.com/twig-project/twig/internal/world/english"
)

// TestE2ERemoteAgainstServe runs a real `twig serve` process as the
// upstream and draws through its OpenAI-compatible endpoints with
// `twig draw --backend openai` (another process), then runs `twig eval` on
// a sample over that path, the twig model-call path and natively. Set
// TWIG_E2E=1 (make e2e-remote); TWIG_BIN names a built twig to use.
func TestE2ERemoteAgainstServe(t *testing.T) {
	if os.Getenv("TWIG_E2E") == "" {
		t.Skip("set TWIG_E2E=1 to run (make e2e-remote)")
	}
	dir := t.TempDir()
	bin := os.Getenv("TWIG_BIN") // a built twig (make e2e-remote), else build one
	if bin == "" {
		bin = filepath.Join(dir, "twig")
		if out, err := exec.Command("go", "build", "-o", bin, ".").CombinedOutput(); err != nil {
			t.Fatalf("go build: %v\n%s", err, out)
		}
	}
	var weights []string // the embedded default once it is shipped, else the tiny test model
	if _, err := os.Stat("../../core/model/weights/default.safetensors"); err != nil {
		weights = []string{"--weights", "../../core/model/testdata/tiny.safetensors"}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	serve := exec.CommandContext(ctx, bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, weights...)...)
	serve.Cancel = func() error { return serve.Process.Signal(syscall.SIGTERM) }
	serve.WaitDelay = 10 * time.Second
	stdout, _ := serve.StdoutPipe()
	var serveLog strings.Builder
	serve.Stderr = &logWriter{&serveLog}
	if err := serve.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		serve.Process.Signal(syscall.SIGTERM)
		serve.Wait()
		if t.Failed() {
			t.Logf("twig serve log:\n%s", serveLog.String())
		}
	}()
	sc := bufio.NewScanner(stdout)
	addr := ""
	for sc.Scan() {
		if _, rest, ok := strings.Cut(sc.Text(), "listening on http://"); ok {
			addr = strings.Fields(rest)[0]
			break
		}
	}
	if addr == "" {
		t.Fatal("twig serve did not say where it listens")
	}
	go func() { // keep the pipe drained
		for sc.Scan() {
		}
	}()
	base := "http://" + addr + "/v1"

	// one drawing over the OpenAI-compatible path
	out := filepath.Join(dir, "draw")
	prompt := "a red circle above a blue square"
	t0 := time.Now()
	cmd := exec.CommandContext(ctx, bin, "draw", "--backend", "openai", "--base-url", base, "--model", "twig", "--seed", "1", "--json", "--out", out, prompt)
	cmd.Env = append(os.Environ(), "OPENAI_API_KEY=") // twig serve here has no token
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("twig draw --backend openai: %v\n%s", err, stderrOf(err))
	}
	t.Logf("draw over the network: %v", time.Since(t0).Round(time.Millisecond))
	types := map[string]int{}
	var done *protocol.RunDone
	for _, line := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		ev, err := protocol.Decode([]byte(line))
		if err != nil {
			t.Fatalf("event %q: %v", line, err)
		}
		types[ev.Type]++
		if d, ok := ev.Payload.(*protocol.RunDone); ok {
			done = d
		}
	}
	if done == nil || types["thought_delta"] < 3*len(done.Bands) || types["critique"] < len(done.Bands) {
		t.Fatalf("events %v", types)
	}
	f, err := os.Open(filepath.Join(out, "image.png"))
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(f)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := english.Parse(prompt)
	verdict := judge.Check(spec, img)
	t.Logf("events %v; thoughts %q; judged: pass=%v score=%.2f (%d objects)", types, done.Thoughts, verdict.Pass, verdict.Score(), len(verdict.Objects))

	// twig eval on a sample, over the network and natively
	overall := map[string]float64{}
	for _, path := range []struct {
		name string
		args []string
	}{
		{"openai", []string{"--backend", "openai", "--base-url", base, "--model", "twig"}},
		{"twig", []string{"--backend", "twig", "--base-url", base}},
		{"native", weights},
	} {
		t0 := time.Now()
		args := append([]string{"eval", "--mode", "think+reflect", "--categories", "single,spatial", "--limit", "3", "--json"}, path.args...)
		cmd := exec.CommandContext(ctx, bin, args...)
		cmd.Env = append(os.Environ(), "OPENAI_API_KEY=", "TWIG_API_KEY=")
		b, err := cmd.Output()
		if err != nil {
			t.Fatalf("twig eval (%s): %v\n%s", path.name, err, stderrOf(err))
		}
		var rep bench.Report
		if err := json.Unmarshal(b, &rep); err != nil || len(rep.Results) != 1 {
			t.Fatalf("eval (%s) output %s: %v", path.name, b, err)
		}
		r := rep.Results[0]
		if r.N != 6 || len(r.Failures) > 0 {
			t.Errorf("eval (%s): n=%d failures %v", path.name, r.N, r.Failures)
		}
		t.Logf("eval %-6s: overall %.2f over %d images, %.0f ms/image (wall %v)", path.name, r.Overall, r.N, 1000*r.SecondsPerImage, time.Since(t0).Round(time.Millisecond))
		overall[path.name] = r.Overall
	}
	// The same model on every path: a path whose pictures the judge cannot
	// read (an image model's picture is judged through its token view)
	// would score 0 where the others do not.
	if overall["native"] > 0 && (overall["openai"] == 0 || overall["twig"] == 0) {
		t.Errorf("overall scores %v: a path's pictures are not judged", overall)
	}
}

func stderrOf(err error) string {
	if ee, ok := err.(*exec.ExitError); ok {
		return string(ee.Stderr)
	}
	return ""
}

type logWriter struct{ b *strings.Builder }

func (w *logWriter) Write(p []byte) (int, error) { return w.b.Write(p) }
