package remote

import (
	"context"
	"io"
	"net/http"
	"regexp"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/textutil"
)

// Thinker writes thoughts with an OpenAI-compatible chat model, streaming
// them (stream: true): each SSE delta is one thought token. It implements
// engine.Thinker.
type Thinker struct{ ch chatClient }

// NewThinker returns a thinker on ep; tpl nil means DefaultTemplates.
func NewThinker(ep Endpoint, o Options, tpl *Templates) (*Thinker, error) {
	ch, err := newChatClient("thinker", ep, o, tpl)
	if err != nil {
		return nil, err
	}
	return &Thinker{ch: ch}, nil
}

// Think asks for band req.Band's thought: from the prompt alone for the
// first band, with the partial picture and the earlier thoughts after.
func (t *Thinker) Think(ctx context.Context, req engine.ThinkRequest, emit func(string)) (string, error) {
	r, err := t.ch.request("think", req.State, "", 0, true)
	if err != nil {
		return "", err
	}
	var a chatAnswer
	err = t.ch.c.do(ctx, r, func(resp *http.Response, body io.Reader) error {
		var err error
		a, err = readChat(resp, body, emit)
		if err != nil {
			return err
		}
		thought := cleanThought(a.text)
		switch {
		case thought != "":
			a.text = thought
			return nil
		case a.refusal != "":
			return &upstreamError{typ: "refusal", msg: "the model refused: " + clipText(a.refusal, 300)}
		case a.finish == "content_filter":
			return &upstreamError{typ: "content_filter", msg: "the answer was withheld by the upstream's content filter"}
		}
		return &upstreamError{typ: "empty", msg: "the model wrote an empty thought (finish_reason " + orNone(a.finish) + ")"}
	})
	if err != nil {
		return "", err
	}
	return a.text, nil
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}

var (
	fenceRe = regexp.MustCompile("(?s)^```[a-zA-Z]*\\s*(.*?)\\s*```$")
	labelRe = regexp.MustCompile(`(?i)^(?:\*\*)?(?:thought|description|band \d+(?: of \d+)?(?: \(rows [^)]*\))?|rows? \d+\s*[–-]\s*\d+)(?:\*\*)?\s*:\s*`)
)

// cleanThought makes a model's answer one thought line: no code fence, no
// "Description:" label, no surrounding quotes, single spaces. A twig row
// header ("rows 0 5 : …") is kept.
func cleanThought(s string) string {
	s = strings.TrimSpace(s)
	if m := fenceRe.FindStringSubmatch(s); m != nil {
		s = m[1]
	}
	s = textutil.OneLine(s)
	if !strings.HasPrefix(s, "rows ") || !strings.Contains(s, " : ") {
		s = labelRe.ReplaceAllString(s, "")
	}
	for _, q := range [][2]string{{`"`, `"`}, {"“", "”"}, {"'", "'"}} {
		if len(s) >= 2 && strings.HasPrefix(s, q[0]) && strings.HasSuffix(s, q[1]) {
			s = strings.TrimSpace(s[len(q[0]) : len(s)-len(q[1])])
		}
	}
	return s
}
