// Package model is twig's embedded default model: a small decoder-only
// transformer that writes thoughts, draws image tokens and describes its own
// bands in one token stream. A *Model is an engine.Backend: every run gets a
// session with its own KV cache playing thinker, painter, critic and decider.
package model

import (
	"context"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
)

// Model is a loaded model ready to run; it is safe for concurrent runs (the
// weights are read-only, every run has its own cache).
type Model struct {
	W        *Weights
	Sampling Sampling
	rv       reviewIDs       // ids of the review words; open is 0 when the weights have none
	grammar  *thoughtGrammar // nil when the vocabulary lacks a word of it
}

// reviewIDs are the token ids of a plan review's fixed words.
type reviewIDs struct{ open, close, ok, bad, first int }

// New wraps loaded weights with the default sampling settings.
func New(w *Weights) *Model {
	m := &Model{W: w, Sampling: DefaultSampling}
	v := w.Vocab
	ids := make([]int, 0, 4)
	for _, word := range []string{thought.ReviewOpen, thought.ReviewClose, thought.VerdictOK, thought.VerdictBad, thought.ReviewWords[0]} {
		if id, err := v.ID(word); err == nil {
			ids = append(ids, id)
		}
	}
	if len(ids) == 5 {
		m.rv = reviewIDs{open: ids[0], close: ids[1], ok: ids[2], bad: ids[3], first: ids[4]}
	}
	if g, ok := newThoughtGrammar(v); ok {
		m.grammar = g
	}
	return m
}

// canReview reports whether the weights know how to review plans (weights
// trained before reviews existed do not).
func (m *Model) canReview() bool { return m.rv.open != 0 }

// planWordsEnd is the end of the word ids a thought or description may use:
// the review words, which follow every other word, are not among them.
func (m *Model) planWordsEnd() int {
	if m.canReview() {
		return m.rv.first
	}
	return m.W.Vocab.Size()
}

// Name is recorded in run_started events.
func (m *Model) Name() string {
	c := m.W.Config.Net
	return fmt.Sprintf("twig-embedded (d=%d, layers=%d, %.2fM params)", c.D, c.Layers, float64(m.W.Params.NumParams())/1e6)
}

// DefaultBands is the number of bands the model thinks in by default.
func (m *Model) DefaultBands() int { return m.W.Config.DefaultBands }

// PromptIDs parses an English prompt and returns the model's token ids for
// it; unknown words give a *english.ParseError.
func (m *Model) PromptIDs(prompt string) ([]int, scene.Spec, error) {
	spec, err := english.Parse(prompt)
	if err != nil {
		return nil, spec, err
	}
	return m.SpecIDs(spec), spec, nil
}

// SpecIDs returns the model's prompt token ids for a parsed spec, in the
// prompt form its weights were trained on (Config.Prompt).
func (m *Model) SpecIDs(spec scene.Spec) []int {
	return m.W.Vocab.MustIDs(thought.ModelPromptWords(m.ModelSpec(spec)))
}

// ModelSpec is spec as the model reads it: its canonical form
// (thought.CanonicalSpec) for weights trained on that, else spec itself.
func (m *Model) ModelSpec(spec scene.Spec) scene.Spec {
	if m.W.Config.Prompt == PromptCanonical {
		return thought.CanonicalSpec(spec)
	}
	return spec
}

// NewRun starts a session for one run. The model reads only the world's
// English: a prompt it cannot parse is refused as an *engine.PromptError
// (the run fails with invalid_request) wrapping the *english.ParseError.
func (m *Model) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	ids, _, err := m.PromptIDs(spec.Prompt)
	if err != nil {
		if _, ok := errors.AsType[*english.ParseError](err); ok {
			return nil, &engine.PromptError{Err: err}
		}
		return nil, err
	}
	adaptive := spec.Settings.Adaptive && spec.Settings.Think
	return &run{s: newSession(m, ids, spec.Seed, m.Sampling, adaptive)}, nil
}

type run struct{ s *session }

// thinkOnly is a session as a thinker that cannot review its plans (weights
// trained before reviews existed).
type thinkOnly struct{ s *session }

func (t thinkOnly) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	return t.s.Think(ctx, req, emit)
}

func (r *run) Roles() engine.Roles {
	roles := engine.Roles{Thinker: r.s, Painter: r.s, Critic: r.s}
	if !r.s.m.canReview() {
		roles.Thinker = thinkOnly{r.s}
	}
	if r.s.adaptive {
		roles.Decider = r.s
	}
	return roles
}

func (r *run) Close() error { return nil }
