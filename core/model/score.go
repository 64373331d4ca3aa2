package model

import (
	"context"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/judge"
	"github.com/twig-project/twig/core/world"
)

// ScoreImage is the model as a whole-picture critic (best-of-n uses it): the
// model reads the finished picture and writes what it sees (image → text),
// the description is laid out as a scene, and the score is the share of the
// prompt's claims that scene satisfies, 0–100. It also returns the number of
// tokens the model wrote.
func (m *Model) ScoreImage(ctx context.Context, prompt string, canvas world.Tokens) (int, int, error) {
	ids, spec, err := m.PromptIDs(prompt)
	if err != nil {
		return 0, 0, err
	}
	s := newSession(m, ids, spec, 0, m.Sampling, false)
	st := engine.State{Settings: engine.DefaultSettings(), Canvas: canvas}
	st.Settings.Think = false
	s.stream(st, world.Grid)
	if err := s.sync(ctx); err != nil {
		return 0, 0, err
	}
	desc, n, err := s.describe(ctx)
	if err != nil {
		return 0, n, err
	}
	entries, _, _, _ := world.ParseThought(desc)
	var scene world.Scene
	for _, e := range entries {
		if e.New {
			scene.Objects = append(scene.Objects, world.Object{Color: e.Color, Shape: e.Shape, Size: e.Size, Texture: e.Texture, X: e.X, Y: e.Y})
		}
	}
	score := judge.Check(spec, world.Picture(world.Render(scene))).Score()
	return int(100*score + 0.5), n, nil
}

// describe has the model write, greedily, what the stream so far shows
// after a <look> token, then rewinds the cache so the description never
// enters the stream. It returns the description and its length in tokens.
func (s *session) describe(ctx context.Context) (string, int, error) {
	mark := len(s.fed)
	v := s.m.W.Vocab
	var words []string
	err := s.feed(item{TokLook, NoGrid, NoGrid})
	for n := 0; err == nil && n < maxThoughtWords; n++ {
		if err = ctx.Err(); err != nil {
			break
		}
		id := s.sample(firstWordToken, v.Size(), TokEndLook, 0)
		if id == TokEndLook {
			break
		}
		words = append(words, s.word(id))
		err = s.feed(item{int32(id), NoGrid, NoGrid})
	}
	s.fed = s.fed[:mark]
	s.dec.Truncate(mark)
	s.logits = nil
	return strings.Join(words, " "), len(words) + 2, err
}
