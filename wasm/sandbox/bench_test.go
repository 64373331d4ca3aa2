package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
)

// benchModel is the model the overhead benchmarks draw with: the shipped
// default when this build has one (the realistic case), else the tiny test
// model.
func benchModel(b testing.TB) (*model.Model, string) {
	if m, err := model.Default(); err == nil {
		return m, "default"
	}
	m, err := model.Load(context.Background(), "../../core/model/testdata/tiny.safetensors")
	if err != nil {
		b.Fatal(err)
	}
	return m, "tiny"
}

func benchSandbox(b testing.TB) *Sandbox {
	s, err := New(context.Background(), Config{CacheDir: filepath.Join(os.TempDir(), "twig-sandbox-test-cache")})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close(context.Background()) })
	return s
}

var benchSpec = engine.RunSpec{Prompt: "a red circle above a blue square", Seed: 7, Settings: engine.DefaultSettings()}

// BenchmarkDrawNative is a native run, the baseline of BenchmarkDrawSandboxed.
func BenchmarkDrawNative(b *testing.B) {
	m, _ := benchModel(b)
	c0 := processCPU()
	for b.Loop() {
		if _, err := engine.Draw(context.Background(), m, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// reportCPU reports the process's CPU time per run since c0 (cpu-ms): on a
// shared machine a fairer measure than wall time, and it counts the work a
// run leaves behind (GC, zeroing a guest's memory).
func reportCPU(b *testing.B, c0 time.Duration) {
	if c := processCPU(); c > 0 {
		b.ReportMetric(float64((c-c0).Microseconds())/1000/float64(b.N), "cpu-ms")
	}
}

// BenchmarkDrawSandboxed is the same run (prompt, seed, model) through the
// engine guest: instantiation, the guest's orchestration and the ABI's
// crossings are the difference.
func BenchmarkDrawSandboxed(b *testing.B) {
	m, _ := benchModel(b)
	s := benchSandbox(b)
	c0 := processCPU()
	for b.Loop() {
		if _, err := s.Draw(context.Background(), m, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
	}
	reportCPU(b, c0)
}

// BenchmarkSandboxOverhead alternates native and sandboxed runs of the same
// prompt and seed and reports the sandbox's overhead in percent of the
// native run (goal: ≤ 5 % on the shipped model): in wall time, and in CPU
// time of the run's thread (the sandboxed run's roles run on the guest's
// thread; the kernels' worker threads are the same work in both), which a
// busy machine disturbs less, and of the whole process.
func BenchmarkSandboxOverhead(b *testing.B) {
	m, which := benchModel(b)
	s := benchSandbox(b)
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	var native, boxed, nativeCPU, boxedCPU, nativeProc, boxedProc time.Duration
	for b.Loop() {
		t0, c0, p0 := time.Now(), threadCPU(), processCPU()
		if _, err := engine.Draw(context.Background(), m, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
		t1, c1, p1 := time.Now(), threadCPU(), processCPU()
		if _, err := s.Draw(context.Background(), m, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
		native, boxed = native+t1.Sub(t0), boxed+time.Since(t1)
		nativeCPU, boxedCPU = nativeCPU+c1-c0, boxedCPU+threadCPU()-c1
		nativeProc, boxedProc = nativeProc+p1-p0, boxedProc+processCPU()-p1
	}
	pct := func(a, n time.Duration) float64 { return 100 * (a.Seconds() - n.Seconds()) / n.Seconds() }
	b.ReportMetric(pct(boxed, native), "%overhead")
	if nativeCPU > 0 {
		b.ReportMetric(pct(boxedCPU, nativeCPU), "%overhead-cpu")
		// The whole process's CPU: the run thread's, and what the run
		// leaves to other threads (GC, instances made ahead, zeroing).
		b.ReportMetric(pct(boxedProc, nativeProc), "%overhead-proc")
	}
	b.ReportMetric(float64(native.Milliseconds())/float64(b.N), "native-ms")
	b.Logf("model %s", which)
}

// BenchmarkSandboxFixedCost is BenchmarkSandboxOverhead's run with the
// model's answers replayed (replay: the same events, every role instant),
// native and sandboxed alternated: what is left of a run is the engine's
// orchestration, and in the sandbox the sandbox's own work — its fixed
// cost a run, the numerator of the overhead, measured without the model's
// time around it. It reports CPU µs a run (the process's) for each, and
// fixed-us, the difference.
func BenchmarkSandboxFixedCost(b *testing.B) {
	m, which := benchModel(b)
	rp := record(b, m, benchSpec)
	s := benchSandbox(b)
	var native, boxed time.Duration
	for b.Loop() {
		p0 := processCPU()
		if _, err := engine.Draw(context.Background(), rp, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
		p1 := processCPU()
		if _, err := s.Draw(context.Background(), rp, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
		native, boxed = native+p1-p0, boxed+processCPU()-p1
	}
	us := func(d time.Duration) float64 { return float64(d.Microseconds()) / float64(b.N) }
	b.ReportMetric(us(native), "native-us")
	b.ReportMetric(us(boxed), "sandboxed-us")
	b.ReportMetric(us(boxed-native), "fixed-us")
	b.Logf("model %s", which)
}

// BenchmarkSandboxGuests compares engine guests side by side: each run
// of the loop plays the run natively, with the embedded engine guest and
// with each module listed in TWIG_BENCH_GUESTS (comma-separated paths, e.g.
// an older build of wasm/guest/twig; skipped when unset), all on this
// host, and it reports the median of each guest's process CPU ms a run
// over the native run's (embedded-ms, then guest1-ms, …) and native-ms.
// Alternating within one loop keeps a busy machine's swings out of the
// comparison.
func BenchmarkSandboxGuests(b *testing.B) {
	paths := os.Getenv("TWIG_BENCH_GUESTS")
	if paths == "" {
		b.Skip("set TWIG_BENCH_GUESTS to the guest modules to compare with the embedded one")
	}
	m, _ := benchModel(b)
	draws := []func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error){
		engine.Draw, benchSandbox(b).Draw}
	embedded := guestWasm
	defer func() { guestWasm = embedded }()
	for _, p := range strings.Split(paths, ",") {
		var err error
		if guestWasm, err = os.ReadFile(p); err != nil {
			b.Fatal(err)
		}
		draws = append(draws, benchSandbox(b).Draw) // played as the engine guest is
	}
	cpu := make([][]float64, len(draws))
	for i := 0; b.Loop(); i++ {
		// Each in turn goes first: a run after another differs from one
		// after a native run.
		for k := range draws {
			j := (i + k) % len(draws)
			p0 := processCPU()
			if _, err := draws[j](context.Background(), m, benchSpec, nil); err != nil {
				b.Fatal(err)
			}
			cpu[j] = append(cpu[j], float64(processCPU()-p0)/1e6)
		}
	}
	median := func(v []float64) float64 { slices.Sort(v); return v[len(v)/2] }
	for i := 1; i < len(draws); i++ {
		over := make([]float64, len(cpu[0]))
		for j := range over {
			over[j] = cpu[i][j] - cpu[0][j]
		}
		name := "embedded-ms"
		if i > 1 {
			name = fmt.Sprintf("guest%d-ms", i-1)
		}
		b.ReportMetric(median(over), name)
	}
	b.ReportMetric(median(cpu[0]), "native-ms")
}

// BenchmarkInstantiateWarm is one fresh guest instance (instantiate, the Go
// runtime's _initialize, close), the per-run fixed cost.
func BenchmarkInstantiateWarm(b *testing.B) {
	s := benchSandbox(b)
	ctx := context.Background()
	for b.Loop() {
		mod, err := s.rtEng.InstantiateModule(experimental.WithMemoryAllocator(ctx, allocator), s.engine.cm, s.modCfg)
		if err != nil {
			b.Fatal(err)
		}
		mod.Close(ctx)
	}
}

// BenchmarkCompileWarmCache is New with the compilation cache filled: what a
// later process pays.
func BenchmarkCompileWarmCache(b *testing.B) {
	dir := b.TempDir()
	ctx := context.Background()
	s, err := New(ctx, Config{CacheDir: dir})
	if err != nil {
		b.Fatal(err)
	}
	s.Close(ctx)
	for b.Loop() {
		s, err := New(ctx, Config{CacheDir: dir})
		if err != nil {
			b.Fatal(err)
		}
		s.Close(ctx)
	}
}

// BenchmarkCompileCold compiles the engine guest with no cache: what the
// first process pays.
func BenchmarkCompileCold(b *testing.B) {
	ctx := context.Background()
	for b.Loop() {
		rt := wazero.NewRuntime(ctx)
		if _, err := rt.CompileModule(ctx, guestWasm); err != nil {
			b.Fatal(err)
		}
		rt.Close(ctx)
	}
}

// BenchmarkDrawTwin is the sandboxed run's code path without wasm (the
// guest SDK built natively): the ABI's own cost, for profiling.
func BenchmarkDrawTwin(b *testing.B) {
	m, _ := benchModel(b)
	s := benchSandbox(b)
	for b.Loop() {
		if _, err := s.drawTwin(context.Background(), m, benchSpec, nil); err != nil {
			b.Fatal(err)
		}
	}
}
