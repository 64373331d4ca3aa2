package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/wasm/sandbox"
)

const sandboxAbout = `Runs TwiG policies as WebAssembly guests in a sandbox (wazero): the guest
decides when to think and what to redraw, the model runs natively in twig,
and the guest can reach nothing else — no files, no network, no clock, no
randomness but the run's seed — within memory, time, host-call and event
limits. docs/SANDBOX.md describes the guest ABI.

Commands:
  run POLICY.wasm [flags] "PROMPT"   draw PROMPT with the policy module
                                     (flags as twig draw, plus the limits)`

const sandboxRunAbout = `Draws PROMPT with the policy in POLICY.wasm, a guest of twig's sandbox ABI
(docs/SANDBOX.md; wasm/examples/lowthink is one): the guest plays the run,
the embedded model computes every thought, row and critique. Writes
image.png, thinking.gif and trace.jsonl like twig draw.`

// sandboxCmd is `twig sandbox`.
func sandboxCmd(ctx context.Context, e *env, args []string) error {
	if len(args) == 0 {
		return usagef("say what to do: twig sandbox run POLICY.wasm \"PROMPT\"")
	}
	switch args[0] {
	case "run":
		return drawCmd(ctx, e, args[1:], true)
	case "-h", "-help", "--help", "help":
		fmt.Fprintf(e.stdout, "Usage: twig sandbox run POLICY.wasm [flags] \"PROMPT\"\n\n%s\n", sandboxAbout)
		return flag.ErrHelp
	}
	return usagef("unknown sandbox command %q: the command is run", args[0])
}

// sandboxFlags are the sandbox's flags of draw and sandbox run.
type sandboxFlags struct {
	policyRun bool
	on        *bool
	policy    string
	memPages  *uint
	timeout   *time.Duration
	calls     *int64
	events    *int64
	cacheDir  *string
}

func addSandboxFlags(fs *flagSet, policyRun bool) *sandboxFlags {
	d := sandbox.DefaultConfig()
	f := &sandboxFlags{policyRun: policyRun, on: new(bool)}
	if !policyRun {
		f.on = fs.Bool("sandbox", false, "play the run's loop as a WebAssembly guest in the sandbox (the model runs natively): the same image and events")
	}
	f.memPages = fs.Uint("sandbox-memory-pages", uint(d.MemoryLimitPages), "sandbox: the guest's memory cap in 64 KiB pages")
	f.timeout = fs.Duration("sandbox-timeout", d.RunTimeout, "sandbox: the run's wall-time cap; the guest is closed at it")
	f.calls = fs.Int64("sandbox-host-calls", d.MaxHostCalls, "sandbox: the cap on the guest's host calls per run")
	f.events = fs.Int64("sandbox-event-bytes", d.MaxEventBytes, "sandbox: the cap on the bytes of events per run")
	f.cacheDir = fs.String("sandbox-cache", "", "sandbox: compilation cache folder (default: "+sandbox.DefaultCacheDir()+"; - = none)")
	return f
}

// policyArg takes POLICY.wasm off the positional arguments of sandbox run.
func (f *sandboxFlags) policyArg(pos []string) ([]string, error) {
	if !f.policyRun {
		return pos, nil
	}
	if len(pos) == 0 {
		return nil, usagef("no policy: twig sandbox run POLICY.wasm \"PROMPT\"")
	}
	f.policy = pos[0]
	return pos[1:], nil
}

// maxPolicyBytes caps the size of a policy module read from a file.
const maxPolicyBytes = 64 << 20

// drawer returns how the run is played: engine.Draw natively, the
// sandbox's engine guest (--sandbox), or the policy module (sandbox run);
// and what to call when done.
func (f *sandboxFlags) drawer(ctx context.Context) (func(context.Context, engine.Backend, engine.RunSpec, engine.Sink) (engine.Result, error), func(), error) {
	if !*f.on && !f.policyRun {
		return engine.Draw, func() {}, nil
	}
	switch {
	case *f.memPages == 0 || *f.memPages > 65536:
		return nil, nil, usagef("--sandbox-memory-pages %d is out of range: use 1 to 65536", *f.memPages)
	case *f.timeout <= 0 || *f.calls <= 0 || *f.events <= 0:
		return nil, nil, usagef("the sandbox's limits must be positive")
	}
	var wasm []byte
	if f.policyRun {
		var err error
		if wasm, err = readPolicy(f.policy); err != nil {
			return nil, nil, err
		}
	}
	cfg := sandbox.Config{CacheDir: *f.cacheDir, MemoryLimitPages: uint32(*f.memPages), RunTimeout: *f.timeout,
		MaxHostCalls: *f.calls, MaxEventBytes: *f.events}
	sb, err := sandbox.New(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	done := func() { _ = sb.Close(context.WithoutCancel(ctx)) }
	if !f.policyRun {
		return sb.Draw, done, nil
	}
	m, err := sb.Compile(ctx, wasm)
	if err != nil {
		done()
		return nil, nil, fmt.Errorf("%s: %w", f.policy, err)
	}
	return m.Draw, done, nil
}

func readPolicy(path string) ([]byte, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy: %w", err)
	}
	defer fh.Close()
	wasm, err := io.ReadAll(io.LimitReader(fh, maxPolicyBytes+1))
	if err != nil {
		return nil, fmt.Errorf("cannot read the policy: %w", err)
	}
	if len(wasm) > maxPolicyBytes {
		return nil, errors.New("the policy module is larger than 64 MiB")
	}
	return wasm, nil
}
