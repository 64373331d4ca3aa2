package model

import (
	"context"
	"errors"
	"math"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/world/tokens"
)

// ScoreImage is the model as a whole-picture critic (best-of-n uses it): the
// model reads the finished picture, writes what it sees (image → text), and
// reviews that description against the prompt as it reviews a plan; the
// score is its probability of the verdict "ok", 0–100. Nothing but the
// model's own output decides it. It also returns the number of tokens the
// model wrote.
func (m *Model) ScoreImage(ctx context.Context, prompt string, canvas tokens.Tokens) (int, int, error) {
	if !m.canReview() {
		return 0, 0, errors.New("model: these weights were trained before plan reviews and cannot score a picture")
	}
	ids, _, err := m.PromptIDs(prompt)
	if err != nil {
		return 0, 0, err
	}
	s := newSession(m, ids, 0, m.Sampling, false)
	st := view{Settings: engine.DefaultSettings(), Canvas: canvas, h: tokens.PxSize}
	st.Settings.Think = false
	s.stream(st, tokens.Grid)
	if err := s.sync(ctx); err != nil {
		return 0, 0, err
	}
	desc, n, err := s.describe(ctx)
	if err != nil {
		return 0, n, err
	}
	s.stream(st, tokens.Grid)
	s.want = append(s.want, item{TokLook, NoGrid, NoGrid})
	s.wordItems(desc)
	s.want = append(s.want, item{TokEndLook, NoGrid, NoGrid}, item{int32(m.rv.open), NoGrid, NoGrid})
	if err := s.sync(ctx); err != nil {
		return 0, n, err
	}
	pOK := 1 / (1 + math.Exp(float64(s.logits[m.rv.bad]-s.logits[m.rv.ok])))
	return int(100*pOK + 0.5), n + 1, nil
}

// describe has the model write, greedily, what the stream so far shows
// after a <look> token, then rewinds the cache so the description never
// enters the stream. It returns the description and its length in tokens.
func (s *session) describe(ctx context.Context) (string, int, error) {
	mark := len(s.fed)
	var words []string
	err := s.feed(item{TokLook, NoGrid, NoGrid})
	walk := s.grammarWalk(TokEndLook)
	for n := 0; err == nil && n < maxThoughtWords; n++ {
		if err = ctx.Err(); err != nil {
			break
		}
		var id int
		if walk != nil {
			id = s.sampleAmong(walk.allowed(), 0)
			walk.took(id)
		} else {
			id = s.sample(firstWordToken, s.m.planWordsEnd(), TokEndLook, 0)
		}
		if id == TokEndLook {
			err = s.gen(id)
			break
		}
		words = append(words, s.word(id))
		err = s.gen(id)
	}
	s.fed = s.fed[:mark]
	s.dec.Truncate(mark)
	s.logits = nil
	return strings.Join(words, " "), len(words) + 2, err
}
