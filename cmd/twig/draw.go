package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

const drawAbout = `Draws PROMPT with the embedded model, thinking before each band of rows and
redrawing bands the critic scores below the threshold. Shows the thoughts,
a progress bar per band, scores and redraws live; writes image.png,
thinking.gif and trace.jsonl into the output folder. With --backend openai or
twig (or per role: --thinker-backend, --critic-backend, --painter-backend)
the roles run on remote models; API keys come from $OPENAI_API_KEY,
$TWIG_API_KEY or --api-key-file.`

func draw(ctx context.Context, e *env, args []string) error { return drawCmd(ctx, e, args, false) }

// drawCmd is draw, and `twig sandbox run POLICY.wasm …` when policyRun.
func drawCmd(ctx context.Context, e *env, args []string, policyRun bool) error {
	d := engine.DefaultSettings()
	fs := newFlags(e, "draw", `[flags] "PROMPT"`, drawAbout)
	if policyRun {
		fs = newFlags(e, "sandbox run", `POLICY.wasm [flags] "PROMPT"`, sandboxRunAbout)
	}
	var (
		seed       = fs.Int64("seed", d.Seed, "random seed: the same seed, model and kernels give a byte-identical image")
		out        = fs.String("out", "", "folder for image.png, thinking.gif and trace.jsonl (default: a new folder under ./twig-out)")
		jsonOut    = fs.Bool("json", false, "print the run's events as JSONL on stdout and nothing else")
		noThink    = fs.Bool("no-think", !d.Think, "draw without thoughts (the baseline)")
		noReflect  = fs.Bool("no-reflect", !d.Reflect, "do not score bands or redraw them")
		bands      = fs.Int("bands", d.Bands, "number of bands (1-16); 0 = the model's default")
		adaptive   = fs.Bool("adaptive", d.Adaptive, "let the model decide row by row when to stop and think")
		threshold  = fs.Int("threshold", d.Threshold, "redraw a band whose score (0-100) is below this")
		maxRev     = fs.Int("max-revisions", d.MaxRevisions, "redraws allowed per band")
		maxRevTot  = fs.Int("max-revisions-total", d.MaxRevisionsTotal, "redraws allowed per run; 0 = no cap")
		maxThought = fs.Int("max-thought-tokens", d.MaxThoughtTokens, "thought tokens allowed per run; 0 = no cap")
		timeout    = fs.Duration("timeout", 0, "give up after this long (e.g. 30s); 0 = no limit")
		weights    = fs.String("weights", "", "model weights file or URL (default: the embedded model)")
		remoteF    = addRemoteFlags(fs)
		sandboxF   = addSandboxFlags(fs, policyRun)
	)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if pos, err = sandboxF.policyArg(pos); err != nil {
		return err
	}
	prompt := strings.TrimSpace(strings.Join(pos, " "))
	if prompt == "" {
		return usagef("no prompt: say what to draw, e.g. twig draw \"a red circle above a blue square\"")
	}
	s := d
	s.Seed, s.Think, s.Reflect, s.Bands, s.Adaptive = *seed, !*noThink, !*noReflect, *bands, *adaptive
	s.Threshold, s.MaxRevisions, s.MaxRevisionsTotal, s.MaxThoughtTokens = *threshold, *maxRev, *maxRevTot, *maxThought
	if err := s.Validate(); err != nil {
		return usagef("%v", err)
	}
	if *timeout < 0 {
		return usagef("--timeout %v is negative", *timeout)
	}

	rc, err := remoteF.config()
	if err != nil {
		return err
	}
	if *timeout > 0 {
		// from here on: loading weights from a URL counts too
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, *timeout)
		defer cancel()
	}
	drawFn, closeSandbox, err := sandboxF.drawer(ctx)
	if err != nil {
		return err
	}
	defer closeSandbox()
	backend, err := e.backend(ctx, backendOptions{Weights: *weights, Remote: rc})
	if err != nil {
		return err
	}
	dir, err := outDir(*out)
	if err != nil {
		return err
	}
	trace, err := os.Create(tracePath(dir))
	if err != nil {
		return fmt.Errorf("cannot write the trace: %w", err)
	}
	defer trace.Close()
	tw := bufio.NewWriter(trace)
	traceW := protocol.NewWriter(tw)
	var stdoutW *protocol.Writer
	var show *display
	if *jsonOut {
		stdoutW = protocol.NewWriter(e.stdout)
	} else {
		show = newDisplay(e.stdout, e.tty)
	}
	var events []protocol.Event
	sink := func(ev protocol.Event) error {
		events = append(events, ev)
		if err := traceW.Write(ev); err != nil {
			return fmt.Errorf("writing the trace: %w", err)
		}
		if stdoutW != nil {
			return stdoutW.Write(ev)
		}
		show.event(ev)
		return nil
	}
	res, runErr := drawFn(ctx, backend, engine.RunSpec{Prompt: prompt, Settings: s}, sink)
	if err := tw.Flush(); err != nil {
		return fmt.Errorf("cannot write the trace: %w", err)
	}
	if err := trace.Close(); err != nil {
		return fmt.Errorf("cannot write the trace: %w", err)
	}
	files, err := writeOutputs(dir, res.Canvas, events)
	if runErr != nil {
		if err != nil {
			return fmt.Errorf("%w (trace in %s)", runErr, dir)
		}
		return fmt.Errorf("%w (partial results in %s)", runErr, dir)
	}
	if err != nil {
		return err
	}
	if show != nil {
		show.wrote(files)
	}
	return nil
}

// outDir makes the output folder: the one asked for, or a new one under ./twig-out.
func outDir(dir string) (string, error) {
	if dir != "" {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return "", fmt.Errorf("cannot make the output folder: %w", err)
		}
		return dir, nil
	}
	if err := os.MkdirAll("twig-out", 0o755); err != nil {
		return "", fmt.Errorf("cannot make the output folder: %w", err)
	}
	dir, err := os.MkdirTemp("twig-out", time.Now().Format("20060102-150405-"))
	if err != nil {
		return "", fmt.Errorf("cannot make the output folder: %w", err)
	}
	return dir, nil
}
