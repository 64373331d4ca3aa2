// Package sandbox runs TwiG runs inside WebAssembly: the engine's loop (or a
// user's own policy) is a wasip1 guest module run by wazero, and the model
// math stays in the host. The guest orchestrates — when to think, what to
// redraw — and asks the host's backend for every thought, row, critique and
// decision through a small versioned ABI (package abi, docs/SANDBOX.md);
// events leave the guest through a host function and reach the caller's sink
// exactly as a native run's would.
//
// A guest can do nothing the host does not grant: no files, no network, no
// clock (it sees a fake one) and no randomness but a stream derived from the
// run's seed. Every run of a user's module gets a fresh instance (the
// engine guest's are reused after clean runs: Config.FreshEngineInstances),
// and every run is held to the limits of Config: memory pages, wall time,
// host calls, event bytes. A guest that breaks one is stopped, and its run
// fails with a clear *Error while the host and other runs go on.
//
//	sb, err := sandbox.New(ctx, sandbox.Config{})
//	res, err := sb.Draw(ctx, model, engine.RunSpec{Prompt: "a red circle", Seed: 1}, sink)
//
// Sandbox.Draw has engine.Draw's signature (minus the receiver), so a method
// value sb.Draw drops in wherever engine.Draw is used.
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	mrand "math/rand/v2"
	"sync"

	"github.com/tetratelabs/wazero"
	"github.com/tetratelabs/wazero/api"
	"github.com/tetratelabs/wazero/experimental"
	"github.com/tetratelabs/wazero/imports/wasi_snapshot_preview1"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// Sandbox is two wazero runtimes with the host functions, the compilation
// cache and the compiled engine guest. It is safe for concurrent runs.
type Sandbox struct {
	cfg    Config
	cache  wazero.CompilationCache
	rt     wazero.Runtime // user modules: termination checks on
	rtEng  wazero.Runtime // the embedded engine guest (checks per Config.EngineTerminationChecks)
	modCfg wazero.ModuleConfig
	engine *Module

	// ahead counts instances being made ahead (prepareAhead): Close waits
	// for them, as wazero must not close a runtime mid-instantiation.
	mu     sync.Mutex
	closed bool
	ahead  sync.WaitGroup
}

// Module is a compiled guest, ready for any number of runs.
type Module struct {
	sb    *Sandbox
	rt    wazero.Runtime
	cm    wazero.CompiledModule
	flags bool // it exports twig_flags

	// ready holds instances of the engine guest made ahead of their runs
	// (nil for user modules, which run once).
	ready chan *prepared
}

// prepared is an instance made ahead of its run: instantiated, its
// _initialize (the Go runtime's start-up) done. A run then starts without
// paying for either, which was about 1 ms of every sandboxed run. WASI's
// random source and stdio are fixed at instantiation, so a prepared
// instance reads and writes through bindings that play points at its run;
// its start-up reads a fixed random stream and writes nowhere.
type prepared struct {
	mod  api.Module
	rnd  *randBinding
	out  *outBinding
	runs int // runs it has played (see Config.FreshEngineInstances)
	// fns are its exports by name, looked up once: each api.Function has
	// its own machine stack, grown by a run and kept for the next.
	fns map[string]api.Function
}

// engineInstanceRuns is how many runs one engine-guest instance plays at
// most: a bound on what a long-lived Go heap may gather.
const engineInstanceRuns = 256

// reusable reports whether an engine-guest instance can play another run
// after r: its run ended by twig_run returning (not by a trap, a host
// function stopping it or the context), and it is well inside its memory.
func reusable(r *run, callErr error, memBytes uint64) bool {
	return callErr == nil && r.violation == nil && r.ctx.Err() == nil &&
		memBytes <= uint64(r.cfg.MemoryLimitPages)*65536/2
}

type randBinding struct{ r io.Reader }

func (b *randBinding) Read(p []byte) (int, error) { return b.r.Read(p) }

type outBinding struct{ w io.Writer }

func (b *outBinding) Write(p []byte) (int, error) { return b.w.Write(p) }

// readyInstances is how many engine-guest instances wait ahead of runs.
const readyInstances = 2

// prepareAhead makes one instance in the background for a later run.
func (m *Module) prepareAhead() {
	s := m.sb
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	s.ahead.Add(1)
	go func() {
		defer s.ahead.Done()
		var key [32]byte
		copy(key[:], "twig sandbox start-up random....")
		p := &prepared{rnd: &randBinding{r: mrand.NewChaCha8(key)}, out: &outBinding{w: io.Discard}}
		cfg := m.sb.modCfg.WithRandSource(p.rnd).WithStdout(p.out).WithStderr(p.out)
		mod, err := m.rt.InstantiateModule(experimental.WithMemoryAllocator(context.Background(), allocator), m.cm, cfg)
		if err != nil {
			return // closed, or out of memory: runs instantiate their own
		}
		p.mod = mod
		select {
		case m.ready <- p:
		default:
			_ = mod.Close(context.Background())
		}
	}()
}

// New starts a sandbox: the runtimes with their limits, the compilation
// cache and the engine guest compiled (or loaded from the cache).
func New(ctx context.Context, cfg Config) (*Sandbox, error) {
	cfg = cfg.withDefaults()
	s := &Sandbox{cfg: cfg}
	switch cfg.CacheDir {
	case CacheOff:
		s.cache = wazero.NewCompilationCache()
	case "":
		// The default cache is a convenience: without a writable folder, keep it in memory.
		var err error
		if s.cache, err = wazero.NewCompilationCacheWithDir(DefaultCacheDir()); err != nil {
			s.cache = wazero.NewCompilationCache()
		}
	default:
		var err error
		if s.cache, err = wazero.NewCompilationCacheWithDir(cfg.CacheDir); err != nil {
			return nil, fmt.Errorf("sandbox: compilation cache: %w (set Config.CacheDir to a writable folder, or to CacheOff)", err)
		}
	}
	// No FS, no args or env, fake clocks, and a reactor's initializer only.
	// The random source and stdio are set per run.
	s.modCfg = wazero.NewModuleConfig().WithName("").WithStartFunctions(abi.ExportInitialize)
	var err error
	if s.rt, err = s.newRuntime(ctx, true); err == nil {
		s.rtEng, err = s.newRuntime(ctx, cfg.EngineTerminationChecks)
	}
	if err == nil {
		s.engine, err = s.compile(ctx, s.rtEng, guestWasm)
		if err != nil {
			err = fmt.Errorf("sandbox: the embedded engine guest: %w", err)
		} else {
			s.engine.ready = make(chan *prepared, readyInstances)
			for range readyInstances {
				s.engine.prepareAhead()
			}
		}
	}
	if err != nil {
		s.Close(ctx)
		return nil, err
	}
	return s, nil
}

// newRuntime makes a runtime with the memory cap, WASI and the host module.
// checks turns on wazero's termination checks (WithCloseOnContextDone):
// the guest can then be stopped anywhere, at the price of a check at every
// loop and call in its code.
func (s *Sandbox) newRuntime(ctx context.Context, checks bool) (wazero.Runtime, error) {
	rc := wazero.NewRuntimeConfig().
		WithCloseOnContextDone(checks).
		WithMemoryLimitPages(s.cfg.MemoryLimitPages).
		WithCompilationCache(s.cache)
	rt := wazero.NewRuntimeWithConfig(ctx, rc)
	if _, err := wasi_snapshot_preview1.Instantiate(ctx, rt); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("sandbox: WASI: %w", err)
	}
	if _, err := hostModule(rt).Instantiate(ctx); err != nil {
		rt.Close(ctx)
		return nil, fmt.Errorf("sandbox: host module: %w", err)
	}
	return rt, nil
}

// Close releases the runtimes and everything compiled in them.
func (s *Sandbox) Close(ctx context.Context) error {
	s.mu.Lock()
	s.closed = true
	s.mu.Unlock()
	s.ahead.Wait()
	var err error
	for _, rt := range []wazero.Runtime{s.rt, s.rtEng} {
		if rt != nil {
			err = errors.Join(err, rt.Close(ctx))
		}
	}
	if s.cache != nil {
		err = errors.Join(err, s.cache.Close(ctx))
	}
	return err
}

// Config returns the sandbox's configuration with its defaults filled in.
func (s *Sandbox) Config() Config { return s.cfg }

// Draw plays one run of the engine's own loop inside the sandbox: the same
// events and image as engine.Draw(ctx, b, spec, sink) (the timing fields are
// the host's), with the run held to the sandbox's limits.
func (s *Sandbox) Draw(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	return s.engine.Draw(ctx, b, spec, sink)
}

// RunModule compiles a guest module (a user's policy) and plays one run with
// it, under the same limits as Draw. A module that is not a twig guest fails
// with a *Error of KindModule, reported to sink as an error event.
func (s *Sandbox) RunModule(ctx context.Context, wasm []byte, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	m, err := s.Compile(ctx, wasm)
	if err != nil {
		r := newRun(s.cfg, b, spec, sink)
		var se *Error
		if !errors.As(err, &se) {
			se = errorf(KindModule, "%v", err)
		}
		e := r.fail(se)
		_ = r.send(&protocol.Error{Code: engine.Code(e), Message: e.Error()})
		return r.result, e
	}
	defer m.Close(context.WithoutCancel(ctx))
	return m.Draw(ctx, b, spec, sink)
}

// Compile compiles a guest module and checks that it is a twig guest of this
// ABI: its exports, and imports only from "twig" and WASI. Errors are *Error
// of KindModule.
func (s *Sandbox) Compile(ctx context.Context, wasm []byte) (*Module, error) {
	return s.compile(ctx, s.rt, wasm)
}

func (s *Sandbox) compile(ctx context.Context, rt wazero.Runtime, wasm []byte) (*Module, error) {
	cm, err := rt.CompileModule(ctx, coalesceData(wasm))
	if err != nil {
		return nil, errorf(KindModule, "the module does not compile (%d bytes): %v", len(wasm), err)
	}
	if err := checkModule(cm); err != nil {
		_ = cm.Close(ctx)
		return nil, err
	}
	_, flags := cm.ExportedFunctions()[abi.ExportFlags]
	return &Module{sb: s, rt: rt, cm: cm, flags: flags}, nil
}

// Close releases the compiled module.
func (m *Module) Close(ctx context.Context) error { return m.cm.Close(ctx) }

// checkModule checks a compiled module's exports and imports against the ABI.
func checkModule(cm wazero.CompiledModule) error {
	i32 := api.ValueTypeI32
	sig := func(ps ...api.ValueType) []api.ValueType { return ps }
	same := func(a, b []api.ValueType) bool { return string(a) == string(b) }
	exports := cm.ExportedFunctions()
	for _, want := range []struct {
		name      string
		params    []api.ValueType
		wantClass string
	}{
		{abi.ExportVersion, nil, "() -> i32"},
		{abi.ExportAlloc, sig(i32), "(i32) -> i32"},
		{abi.ExportRun, sig(i32, i32), "(i32, i32) -> i32"},
	} {
		f, ok := exports[want.name]
		if !ok {
			return errorf(KindModule, "the module does not export %s: not a twig guest (see docs/SANDBOX.md)", want.name)
		}
		if !same(f.ParamTypes(), want.params) || !same(f.ResultTypes(), sig(i32)) {
			return errorf(KindModule, "the module's %s is not %s", want.name, want.wantClass)
		}
	}
	if f, ok := exports[abi.ExportFlags]; ok && (len(f.ParamTypes()) != 0 || !same(f.ResultTypes(), sig(i32))) {
		return errorf(KindModule, "the module's %s is not () -> i32", abi.ExportFlags)
	}
	if _, ok := cm.ExportedMemories()[abi.ExportMemory]; !ok {
		return errorf(KindModule, "the module does not export its memory as %q", abi.ExportMemory)
	}
	imports := map[string]int{abi.FuncEmitEvent: 2, abi.FuncRoleCall: 3, abi.FuncRoleNext: 2, abi.FuncRoleRead: 3}
	for _, f := range cm.ImportedFunctions() {
		mod, name, _ := f.Import()
		switch mod {
		case wasi_snapshot_preview1.ModuleName:
		case abi.ImportModule:
			n, ok := imports[name]
			if !ok {
				return errorf(KindModule, "the module imports %s.%s, which this host (ABI %d) does not have", mod, name, abi.Version)
			}
			if len(f.ParamTypes()) != n || !same(f.ResultTypes(), sig(i32)) {
				return errorf(KindModule, "the module imports %s.%s with the wrong signature (want %d i32 parameters and an i32 result)", mod, name, n)
			}
		default:
			return errorf(KindModule, "the module imports %s.%s: a guest may import only from %q and %q",
				mod, name, abi.ImportModule, wasi_snapshot_preview1.ModuleName)
		}
	}
	return nil
}

// Draw plays one run with this guest: a fresh instance (or, for the engine
// guest, one whose earlier runs finished cleanly), the sandbox's limits.
func (m *Module) Draw(ctx context.Context, b engine.Backend, spec engine.RunSpec, sink engine.Sink) (engine.Result, error) {
	r := newRun(m.sb.cfg, b, spec, sink)
	runCtx, cancel := context.WithTimeoutCause(ctx, m.sb.cfg.RunTimeout, errWallTime)
	defer cancel()
	r.ctx = runCtx
	err := m.play(r)
	r.finish()
	return r.result, err
}

// play instantiates the guest, checks its ABI version, hands it the run and
// calls twig_run, then returns the run's outcome.
func (m *Module) play(r *run) error {
	ctx := experimental.WithMemoryAllocator(context.WithValue(r.ctx, runKey{}, r), allocator)
	var mod api.Module
	var p *prepared
	select {
	case p = <-m.ready: // nil for user modules: never ready
		p.rnd.r, p.out.w = r.randSource(), &r.out
		mod = p.mod
		if m.sb.cfg.FreshEngineInstances {
			m.prepareAhead()
		} // else the instance goes back after the run, or is replaced then
	default:
		cfg := m.sb.modCfg.WithRandSource(r.randSource()).WithStdout(&r.out).WithStderr(&r.out)
		if m.ready != nil { // the engine guest: bound so it can play later runs
			p = &prepared{rnd: &randBinding{r: r.randSource()}, out: &outBinding{w: &r.out}}
			cfg = m.sb.modCfg.WithRandSource(p.rnd).WithStdout(p.out).WithStderr(p.out)
		}
		var err error
		if mod, err = m.rt.InstantiateModule(ctx, m.cm, cfg); err != nil {
			return r.outcome(0, err, 0)
		}
		if p != nil {
			p.mod = mod
		}
	}
	keep := false
	defer func() {
		if keep {
			p.runs++
			p.rnd.r, p.out.w = nil, io.Discard
			select {
			case m.ready <- p:
				return
			default: // enough wait
			}
		} else if p != nil && !m.sb.cfg.FreshEngineInstances {
			m.prepareAhead() // one that does not go back is replaced
		}
		mod.Close(context.Background())
	}()
	memBytes := func() uint64 { return uint64(mod.Memory().Size()) }
	call := func(name string, args ...uint64) (uint32, error) {
		var f api.Function
		if p != nil {
			if f = p.fns[name]; f == nil {
				if p.fns == nil {
					p.fns = map[string]api.Function{}
				}
				f = mod.ExportedFunction(name)
				p.fns[name] = f
			}
		} else {
			f = mod.ExportedFunction(name)
		}
		res, err := f.Call(ctx, args...)
		if err != nil {
			return 0, err
		}
		return uint32(res[0]), nil
	}
	v, err := call(abi.ExportVersion)
	if err != nil {
		return r.outcome(0, err, memBytes())
	}
	if v != abi.Version && v != abi.Version1 {
		r.violation = errorf(KindModule, "the guest speaks twig sandbox ABI %d, this host speaks ABI %d and %d: rebuild it against this twig's wasm/abi", int32(v), abi.Version1, abi.Version)
		return r.outcome(0, nil, 0)
	}
	r.abi = int(v)
	if m.flags {
		f, err := call(abi.ExportFlags)
		if err != nil {
			return r.outcome(0, err, memBytes())
		}
		if f&^abi.KnownFlags != 0 {
			r.violation = errorf(KindModule, "the guest's twig_flags asks for flags %#x this host does not know (ABI %d has %#x)", f, abi.Version, abi.KnownFlags)
			return r.outcome(0, nil, 0)
		}
		r.flags = f
	}
	input := r.input()
	ptr, err := call(abi.ExportAlloc, uint64(len(input)))
	if err != nil {
		return r.outcome(0, err, memBytes())
	}
	if ptr == 0 || !mod.Memory().Write(ptr, input) {
		r.violation = errorf(KindGuest, "twig_alloc(%d) returned %d, not a buffer in the guest's memory", len(input), ptr)
		return r.outcome(0, nil, 0)
	}
	status, err := call(abi.ExportRun, uint64(ptr), uint64(len(input)))
	keep = p != nil && !m.sb.cfg.FreshEngineInstances && p.runs+1 < engineInstanceRuns && reusable(r, err, memBytes())
	return r.outcome(status, err, memBytes())
}
