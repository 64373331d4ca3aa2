package remote

import (
	"context"
	"io"
	"net/http"

	"github.com/twig-project/twig/core/engine"
)

// Critic judges bands with an OpenAI-compatible chat model: a score 0–100
// and an improved description. An answer with no readable score (prose
// without a number, a refusal) is returned with Parsed false, which the
// engine records as a pass, as the method says. It implements engine.Critic.
type Critic struct{ ch chatClient }

// NewCritic returns a critic on ep; tpl nil means DefaultTemplates.
func NewCritic(ep Endpoint, o Options, tpl *Templates) (*Critic, error) {
	ch, err := newChatClient("critic", ep, o, tpl)
	if err != nil {
		return nil, err
	}
	return &Critic{ch: ch}, nil
}

// Critique sends the band's thought and the picture with the band drawn.
func (c *Critic) Critique(ctx context.Context, req engine.CritiqueRequest) (engine.Critique, error) {
	r, err := c.ch.request("critique", req.State, req.Thought, req.Round, false)
	if err != nil {
		return engine.Critique{}, err
	}
	var a chatAnswer
	err = c.ch.c.do(ctx, r, func(resp *http.Response, body io.Reader) error {
		var err error
		a, err = readChat(resp, body, nil)
		return err
	})
	if err != nil {
		return engine.Critique{}, err
	}
	if a.text == "" && a.refusal != "" {
		return engine.Critique{Parsed: false, Raw: "refused: " + clipText(a.refusal, 300)}, nil
	}
	p := ParseCritique(a.text)
	return engine.Critique{Score: p.Score, Parsed: p.Parsed, Revision: p.Revision, Raw: clipText(a.text, 2000)}, nil
}
