package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strings"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/bench"
	"github.com/twig-project/twig/internal/train"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
)

const evalAbout = `Runs the benchmark: fixed, seeded prompts per category (single, color,
shape, texture, spatial, numeracy, complex) plus a held-out split of
compositions training never saw, drawn in each mode and judged from the
rendered picture. Prints a markdown table (95 % confidence half-widths) or,
with --json, one JSON object.

Modes: no-think, think, think+reflect, best-of-n (N no-think drawings, the
model's critic picks one; N matches think+reflect's tokens unless --best-of),
adaptive (think+reflect where the model decides when to think), and the
reflection ablation: think+review (the model reviews and rewrites its plans,
no band is redrawn) and think+redraw (bands redrawn, plans not reviewed).`

func evalCmd(ctx context.Context, e *env, args []string) error {
	fs := newFlags(e, "eval", "[flags]", evalAbout)
	var (
		modes   = fs.String("mode", "no-think,think,think+reflect", "comma-separated modes: "+strings.Join(bench.Modes, ","))
		cats    = fs.String("categories", "", "comma-separated categories to run (default all, plus heldout)")
		prompts = fs.String("prompts", "", "file of English prompts, one a line, instead of the benchmark")
		limit   = fs.Int("limit", 0, "at most N prompts per category (0 = all 200)")
		oracle  = fs.Bool("oracle", false, "draw ground-truth scenes instead of running the model (checks the harness)")
		jsonOut = fs.Bool("json", false, "print one JSON object on stdout")
		bands   = fs.Int("bands", 0, "bands of the fixed schedule (0 = the model's default)")
		maxRevs = fs.Int("max-revisions", 0, "redraws a band may get when reflecting (0 = the engine's default, 1)")
		cands   = fs.Int("plan-candidates", 0, "in modes that review plans, plans written per band to choose from by the model's p(ok) (0 = the default; 1 = one plan, rewritten when rejected)")
		bestOf  = fs.Int("best-of", 0, "candidates for best-of-n (0 = match think+reflect's tokens)")
		workers = fs.Int("workers", 2, "prompts drawn at once")
		weights = fs.String("weights", "", "model weights file or URL (default: the embedded model)")
		free    = fs.Bool("free-thoughts", false, "the embedded model's thinker and critic may write any word next, not only the kinds the thought grammar allows (the ablation of constrained decoding)")
		whole   = fs.Bool("whole-bands", false, "the embedded model paints each band as one picture, not each object its plan names also as in a picture of that object alone (the ablation of regional painting)")
		keepRev = fs.Bool("keep-reviews", false, "the embedded model paints a band after its accepted plan and that plan's review, not the plan alone (the ablation of reviews as side branches)")
		thTemp  = fs.Float64("thought-temp", 0, "the embedded model's thought temperature (0 = its default)")
		reject  = fs.Float64("reject-at", 0, "the embedded model rejects a plan when its probability of \"bad\" reaches this (0 = the model's default)")
		analyze = fs.Int("analyze", 0, "instead of the benchmark: N prompts per category of the training distribution drawn in the first --mode, failures classified as wrong plan or strayed painter, and the plan reviewer measured as a classifier on 40·N of the model's own plans (JSON)")
		remoteF = addRemoteFlags(fs)
	)
	pos, err := fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return usagef("unexpected argument %q", pos[0])
	}
	if *cands < 0 || *cands > protocol.MaxPlanAttempts {
		return usagef("--plan-candidates must be 0 (the default) to %d, not %d", protocol.MaxPlanAttempts, *cands)
	}
	if *thTemp < 0 || *thTemp > 5 || math.IsNaN(*thTemp) {
		return usagef("--thought-temp must be 0 (the default) to 5, not %v", *thTemp)
	}
	if *analyze > 0 {
		return analyzeCmd(ctx, e, *weights, strings.TrimSpace(strings.Split(*modes, ",")[0]), *analyze, *workers, float32(*reject), *cands)
	}
	var items []bench.Item
	if *prompts != "" {
		items, err = readPrompts(*prompts)
		if err != nil {
			return err
		}
	} else {
		items = bench.Suite()
	}
	if *cats != "" {
		want := map[string]bool{}
		for _, c := range strings.Split(*cats, ",") {
			want[strings.TrimSpace(c)] = true
		}
		var kept []bench.Item
		for _, it := range items {
			if want[it.Category] {
				kept = append(kept, it)
			}
		}
		if len(kept) == 0 {
			return usagef("no prompts in categories %q: use %s or %s", *cats, strings.Join(scene.Categories, ","), bench.HeldOutCategory)
		}
		items = kept
	}
	if *limit > 0 {
		items = bench.Sample(items, *limit)
	}
	if *maxRevs < 0 {
		return usagef("--max-revisions must be 0 (the default) or more, not %d", *maxRevs)
	}
	o := bench.Options{Modes: strings.Split(*modes, ","), Bands: *bands, MaxRevisions: *maxRevs, PlanCandidates: *cands, BestOfN: *bestOf, Workers: *workers, Oracle: *oracle}
	for i := range o.Modes {
		o.Modes[i] = strings.TrimSpace(o.Modes[i])
	}
	if *oracle {
		o.Modes = []string{"no-think"}
	}
	var backend Backend
	if !*oracle {
		rc, err := remoteF.config()
		if err != nil {
			return err
		}
		if backend, err = e.backend(ctx, backendOptions{Weights: *weights, Remote: rc}); err != nil {
			return err
		}
		tuned := *reject > 0 || *free || *whole || *keepRev || *thTemp != 0
		if m, ok := backend.(*model.Model); ok && tuned {
			mc := *m // a copy: the embedded default is shared
			mc.Sampling.RejectAt = float32(*reject)
			mc.Sampling.FreeThoughts = *free
			mc.Sampling.Regional = mc.Sampling.Regional && !*whole
			mc.Sampling.ReviewsAside = mc.Sampling.ReviewsAside && !*keepRev
			if *thTemp != 0 {
				mc.Sampling.ThoughtTemp = float32(*thTemp)
			}
			backend = &mc
		} else if tuned {
			return usagef("--reject-at, --free-thoughts, --whole-bands, --keep-reviews and --thought-temp are for the embedded model")
		}
	}
	o.Progress = func(mode string, done, total int) {
		switch {
		case e.tty:
			fmt.Fprintf(e.stderr, "\r\033[Keval %s: %d/%d", mode, done, total)
			if done == total {
				fmt.Fprintln(e.stderr)
			}
		case done == total || done%100 == 0:
			fmt.Fprintf(e.stderr, "eval %s: %d/%d\n", mode, done, total)
		}
	}
	rep, err := bench.Run(ctx, backend, items, o)
	if err != nil {
		return err
	}
	if *oracle {
		rep.Results[0].Mode = "oracle"
	}
	for _, r := range rep.Results {
		for _, f := range r.Failures {
			fmt.Fprintf(e.stderr, "twig eval: %s: skipped: %s\n", r.Mode, f)
		}
	}
	if *jsonOut {
		enc := json.NewEncoder(e.stdout)
		return enc.Encode(rep)
	}
	fmt.Fprint(e.stdout, rep.Markdown())
	return nil
}

// readPrompts reads one English prompt a line; blank lines and lines
// starting with # are skipped. Prompts that do not parse are kept: the
// evaluation reports them and carries on with the others.
func readPrompts(path string) ([]bench.Item, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var items []bench.Item
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		it := bench.Item{Prompt: line, Seed: int64(len(items) + 1), Category: "unparsed"}
		if spec, err := english.Parse(line); err == nil {
			it.Spec, it.Category = spec, english.InferCategory(spec)
		}
		items = append(items, it)
	}
	return items, sc.Err()
}

// analyzeCmd is `twig eval --analyze N`: where the embedded model's
// pictures fail (wrong plan or strayed painter), on the training
// distribution and on held-out-like prompts (fresh prompts with the
// held-out pairs, not the benchmark's), and how well its reviewer tells its
// own wrong plans from right ones.
func analyzeCmd(ctx context.Context, e *env, weights, mode string, n, workers int, rejectAt float32, candidates int) error {
	if !validMode(mode) {
		return usagef("--analyze draws in one of %s, not %q", strings.Join(bench.Modes, ","), mode)
	}
	m, err := loadModel(ctx, backendOptions{Weights: weights})
	if err != nil {
		return err
	}
	mc := *m // a copy: the embedded default is shared
	m = &mc
	if rejectAt > 0 {
		m.Sampling.RejectAt = rejectAt
	}
	settings := bench.SettingsFor(mode, 0)
	if candidates > 0 && settings.PlanAttempts > 0 {
		settings.PlanCandidates = candidates
	}
	fails, err := train.AnalyzeFailures(ctx, m, settings, n, 1, false, workers)
	if err != nil {
		return err
	}
	held, err := train.AnalyzeFailures(ctx, m, settings, max(n/2, 1), 2, true, workers)
	if err != nil {
		return err
	}
	for k, v := range held {
		fails[k] = v
	}
	rev := train.MeasureReviewer(m.W, 40*n, 3)
	return json.NewEncoder(e.stdout).Encode(map[string]any{"mode": mode, "failures": fails, "reviewer": rev})
}

func validMode(m string) bool {
	for _, x := range bench.Modes {
		if x == m {
			return true
		}
	}
	return false
}
