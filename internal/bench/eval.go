package bench

import (
	"context"
	"fmt"
	"math"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/judge"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Modes are the ways a prompt can be drawn.
//
// The reflection ablation splits think+reflect in two: think+review reviews
// and rewrites the plans but never redraws a band (threshold 0), and
// think+redraw redraws bands the critic scores low but does not review plans
// (plan_attempts 0).
var Modes = []string{"no-think", "think", "think+reflect", "best-of-n", "adaptive", "think+review", "think+redraw"}

// ImageScorer is a critic that scores a whole finished picture against a
// prompt (0–100); best-of-n uses it to pick among candidates.
type ImageScorer interface {
	ScoreImage(ctx context.Context, prompt string, canvas tokens.Tokens) (score int, tokens int, err error)
}

// Options control an evaluation.
type Options struct {
	Modes []string // from Modes
	Bands int      // 0 = the backend's default
	// MaxRevisions is the redraws a band may get when reflecting; 0 = the
	// engine's default (1).
	MaxRevisions int
	// PlanCandidates, when 2 or more, has modes that review plans choose
	// among that many (protocol.Settings.PlanCandidates); 0 = the default.
	PlanCandidates int
	BestOfN        int  // candidates for best-of-n; 0 = match think+reflect's tokens
	Workers        int  // prompts drawn at once
	Oracle         bool // draw ground-truth scenes instead of running the backend
	// Progress, if set, is called after each image.
	Progress func(mode string, done, total int)
}

// ModeResult is one mode's score.
type ModeResult struct {
	Mode            string             `json:"mode"`
	Overall         float64            `json:"overall"`
	Categories      map[string]float64 `json:"categories"`
	HeldOut         float64            `json:"heldout"`
	N               int                `json:"n"`
	CI95            map[string]float64 `json:"ci95"` // half-width of the 95 % Wilson interval per category and "overall"
	TokensPerImage  float64            `json:"tokens_per_image"`
	SecondsPerImage float64            `json:"seconds_per_image"`
	RevisionsPerImg float64            `json:"revisions_per_image,omitempty"`
	BestOfN         int                `json:"best_of_n,omitempty"`
	Failures        []string           `json:"failures,omitempty"` // items that could not run (parse errors etc.)
	passed, count   map[string]int
}

// Report is the result of `twig eval`.
type Report struct {
	Results []ModeResult `json:"results"`
}

type outcome struct {
	pass    bool
	tokens  int
	seconds float64
	revs    int
	err     error
}

// Run evaluates backend on items in each mode.
func Run(ctx context.Context, backend engine.Backend, items []Item, o Options) (Report, error) {
	if o.Workers <= 0 {
		o.Workers = 2
	}
	var rep Report
	tokensTR := 0.0
	for _, mode := range o.Modes {
		if !validMode(mode) {
			return rep, fmt.Errorf("bench: unknown mode %q: use one of %s", mode, strings.Join(Modes, ", "))
		}
	}
	for _, mode := range o.Modes {
		n := 0
		if mode == "best-of-n" {
			n = o.BestOfN
			if n <= 0 {
				n = 2
				if tokensTR > 0 {
					n = max(2, int(math.Round(tokensTR/(tokens.Grid*tokens.Grid+24))))
				}
			}
			if _, ok := backend.(ImageScorer); !ok && !o.Oracle {
				return rep, fmt.Errorf("bench: best-of-n needs a backend that can score pictures; this one cannot")
			}
		}
		outs := make([]outcome, len(items))
		var wg sync.WaitGroup
		var mu sync.Mutex
		done := 0
		sem := make(chan struct{}, o.Workers)
		for i, it := range items {
			wg.Add(1)
			sem <- struct{}{}
			go func() {
				defer wg.Done()
				defer func() { <-sem }()
				outs[i] = runOne(ctx, backend, it, mode, o, n)
				mu.Lock()
				done++
				if o.Progress != nil {
					o.Progress(mode, done, len(items))
				}
				mu.Unlock()
			}()
		}
		wg.Wait()
		if err := ctx.Err(); err != nil {
			return rep, err
		}
		r := summarize(mode, items, outs)
		r.BestOfN = n
		if mode == "think+reflect" {
			tokensTR = r.TokensPerImage
		}
		rep.Results = append(rep.Results, r)
	}
	return rep, nil
}

func validMode(m string) bool {
	for _, v := range Modes {
		if v == m {
			return true
		}
	}
	return false
}

// SettingsFor returns the engine settings of a mode.
func SettingsFor(mode string, bands int) engine.Settings {
	s := engine.DefaultSettings()
	s.Bands = bands
	switch mode {
	case "no-think", "best-of-n":
		s.Think, s.Reflect = false, false
	case "think":
		s.Reflect = false
	case "adaptive":
		s.Adaptive = true
	case "think+review":
		s.Threshold = 0
	case "think+redraw":
		s.PlanAttempts = 0
	}
	return s
}

func runOne(ctx context.Context, backend engine.Backend, it Item, mode string, o Options, n int) outcome {
	spec, err := english.Parse(it.Prompt)
	if err != nil {
		return outcome{err: fmt.Errorf("%q: %w", it.Prompt, err)}
	}
	t0 := time.Now()
	var toks tokens.Tokens
	var out outcome
	switch {
	case o.Oracle:
		rng := newRand(it.Seed)
		sc, err := scene.Place(rng, spec, true)
		if err != nil {
			return outcome{err: err}
		}
		toks = scene.Render(sc)
	case mode == "best-of-n":
		scorer := backend.(ImageScorer)
		best := -1
		for k := 0; k < n; k++ {
			res, _, err := draw(ctx, backend, it, mode, o, it.Seed*1000+int64(k))
			if err != nil {
				return outcome{err: err}
			}
			score, st, err := scorer.ScoreImage(ctx, it.Prompt, resultTokens(res))
			if err != nil {
				return outcome{err: err}
			}
			out.tokens += res.Stats.ImageTokens + st
			if score > best {
				best, toks = score, resultTokens(res)
			}
		}
	default:
		res, extra, err := draw(ctx, backend, it, mode, o, it.Seed)
		if err != nil {
			return outcome{err: err}
		}
		toks = resultTokens(res)
		out.tokens = res.Stats.ThoughtTokens + res.Stats.ImageTokens + extra
		out.revs = res.Stats.Revisions
	}
	out.seconds = time.Since(t0).Seconds()
	out.pass = judge.Check(spec, tokens.Picture(toks)).Pass
	return out
}

// resultTokens is what the judge reads of a run: its tokens when a token
// model painted every row, else the token view of its picture (a remote
// image model's: tokens.FromPicture, a painted cell that reads grey being
// empty, as the embedded critic reads it).
func resultTokens(res engine.Result) tokens.Tokens {
	if res.Tokens != nil || res.Canvas == nil {
		return tokens.Tokens(res.Tokens)
	}
	t := tokens.FromPicture(res.Canvas.Image())
	for i := range t {
		if r := canvas.CellRows(i/tokens.Grid, tokens.Grid, res.Canvas.H); r.Start < r.End && res.Canvas.Painted[r.Start] {
			t[i] = max(t[i], tokens.EmptyToken)
		}
	}
	return t
}

// draw runs one image and counts the critic's and the plan reviews' words as
// extra tokens (rewritten plans are thought tokens already).
func draw(ctx context.Context, backend engine.Backend, it Item, mode string, o Options, seed int64) (engine.Result, int, error) {
	extra := 0
	settings := SettingsFor(mode, o.Bands)
	if o.PlanCandidates > 0 && settings.PlanAttempts > 0 {
		settings.PlanCandidates = o.PlanCandidates
	}
	if o.MaxRevisions > 0 {
		settings.MaxRevisions = o.MaxRevisions
	}
	res, err := engine.Draw(ctx, backend, engine.RunSpec{Prompt: it.Prompt, Seed: seed, Settings: settings},
		func(e protocol.Event) error {
			switch c := e.Payload.(type) {
			case *protocol.Critique:
				if c.Tokens > 0 {
					extra += c.Tokens
				} else {
					extra += len(strings.Fields(c.Raw)) + 2
				}
			case *protocol.PlanReview:
				extra += c.Tokens
			}
			return nil
		})
	return res, extra, err
}

func summarize(mode string, items []Item, outs []outcome) ModeResult {
	r := ModeResult{Mode: mode, Categories: map[string]float64{}, CI95: map[string]float64{},
		passed: map[string]int{}, count: map[string]int{}}
	var tok, sec float64
	revs, ran, mainPass, mainN := 0, 0, 0, 0
	for i, o := range outs {
		if o.err != nil {
			r.Failures = append(r.Failures, o.err.Error())
			continue
		}
		cat := items[i].Category
		r.count[cat]++
		if o.pass {
			r.passed[cat]++
		}
		if cat != HeldOutCategory {
			mainN++
			if o.pass {
				mainPass++
			}
		}
		tok += float64(o.tokens)
		sec += o.seconds
		revs += o.revs
		ran++
	}
	r.N = ran
	if ran > 0 {
		r.TokensPerImage, r.SecondsPerImage, r.RevisionsPerImg = tok/float64(ran), sec/float64(ran), float64(revs)/float64(ran)
	}
	cats := make([]string, 0, len(r.count))
	for c := range r.count {
		cats = append(cats, c)
	}
	sort.Strings(cats)
	for _, c := range cats {
		p := float64(r.passed[c]) / float64(r.count[c])
		if c == HeldOutCategory {
			r.HeldOut = p
		} else {
			r.Categories[c] = p
		}
		r.CI95[c] = wilson(r.passed[c], r.count[c])
	}
	if mainN > 0 {
		r.Overall = float64(mainPass) / float64(mainN)
		r.CI95["overall"] = wilson(mainPass, mainN)
	}
	return r
}

// wilson is the half-width of the 95 % Wilson score interval.
func wilson(k, n int) float64 {
	if n == 0 {
		return 0
	}
	z := 1.96
	p := float64(k) / float64(n)
	nn := float64(n)
	return z / (1 + z*z/nn) * math.Sqrt(p*(1-p)/nn+z*z/(4*nn*nn))
}

// Markdown renders the report as a table: one row per mode, one column per category.
func (r Report) Markdown() string {
	var b strings.Builder
	cols := append(append([]string{}, scene.Categories...), HeldOutCategory)
	b.WriteString("| mode | overall |")
	for _, c := range cols {
		b.WriteString(" " + c + " |")
	}
	b.WriteString(" tokens/img | s/img |\n|---|---|")
	for range cols {
		b.WriteString("---|")
	}
	b.WriteString("---|---|\n")
	for _, m := range r.Results {
		name := m.Mode
		if m.BestOfN > 0 {
			name = fmt.Sprintf("best-of-%d", m.BestOfN)
		}
		fmt.Fprintf(&b, "| %s | %.1f ±%.1f |", name, 100*m.Overall, 100*m.CI95["overall"])
		for _, c := range cols {
			if m.count[c] == 0 {
				b.WriteString(" – |")
				continue
			}
			v := m.Categories[c]
			if c == HeldOutCategory {
				v = m.HeldOut
			}
			fmt.Fprintf(&b, " %.1f ±%.1f |", 100*v, 100*m.CI95[c])
		}
		fmt.Fprintf(&b, " %.0f | %.3f |\n", m.TokensPerImage, m.SecondsPerImage)
	}
	return b.String()
}
