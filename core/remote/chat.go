package remote

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// The OpenAI chat completions wire format (the parts twig uses).

type chatRequest struct {
	Model     string        `json:"model"`
	Messages  []chatMessage `json:"messages"`
	Stream    bool          `json:"stream,omitempty"`
	Seed      *int64        `json:"seed,omitempty"`
	MaxTokens int           `json:"max_tokens,omitempty"`
	// Twig is twig's extension object, sent only to twig models (ids
	// "twig…"): the exact state, so a twig server needs no guessing.
	Twig *twigExt `json:"twig,omitempty"`
}

// chatMessage's Content is a string or a list of chatParts.
type chatMessage struct {
	Role    string `json:"role"`
	Content any    `json:"content"`
}

type chatPart struct {
	Type     string     `json:"type"`
	Text     string     `json:"text,omitempty"`
	ImageURL *chatImage `json:"image_url,omitempty"`
}

type chatImage struct {
	URL string `json:"url"`
}

// twigExt is the "twig" object of a chat request to a twig server
// (docs/PROTOCOL.md, "Chat completions").
type twigExt struct {
	Role     string            `json:"role"`
	Prompt   string            `json:"prompt"`
	Settings protocol.Settings `json:"settings"`
	Band     int               `json:"band"`
	Rows     protocol.Rows     `json:"rows"`
	// Height is the canvas's height in pixels: Rows are its pixel rows.
	Height   int      `json:"height,omitempty"`
	Round    int      `json:"round,omitempty"`
	Thought  *string  `json:"thought,omitempty"`
	Thoughts []string `json:"thoughts"`
}

// chatChunk is one "data:" event of a streamed answer (or, with Message,
// a whole chat.completion object).
type chatChunk struct {
	Choices []struct {
		Index        int          `json:"index"`
		Delta        *chatContent `json:"delta"`
		Message      *chatContent `json:"message"`
		FinishReason *string      `json:"finish_reason"`
	} `json:"choices"`
	Error json.RawMessage `json:"error"`
}

type chatContent struct {
	Content json.RawMessage `json:"content"` // a string, null, or a list of text parts
	Refusal *string         `json:"refusal"`
}

// text returns the content's text.
func (c *chatContent) text() string {
	if c == nil || len(c.Content) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(c.Content, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	json.Unmarshal(c.Content, &parts)
	var b strings.Builder
	for _, p := range parts {
		b.WriteString(p.Text)
	}
	return b.String()
}

// chatAnswer is what a chat call returned.
type chatAnswer struct {
	text, refusal, finish string
	deltas                int
}

// chatClient is what the thinker and the critic share: one upstream, the
// templates, and how pictures are sent.
type chatClient struct {
	c   caller
	tpl *Templates
	ext bool // send the twig extension object
}

func newChatClient(role string, ep Endpoint, o Options, tpl *Templates) (chatClient, error) {
	if err := ep.check(role); err != nil {
		return chatClient{}, err
	}
	if tpl == nil {
		tpl = DefaultTemplates()
	}
	twig := isTwigModel(ep.Model)
	if twig && o.ImageSide == 0 {
		o.ImageSide = tokens.PxSize // a twig server reads its native size best and fastest
	}
	return chatClient{c: caller{role: role, ep: ep, o: o.withDefaults()}, tpl: tpl, ext: twig}, nil
}

// isTwigModel reports whether a model id is one of a twig server's.
func isTwigModel(id string) bool { return id == "twig" || strings.HasPrefix(id, "twig-") }

// messages lays out a chat request (see templates.tmpl): system, the
// user's request, the earlier thoughts as the assistant's, then the
// picture so far with the role's instruction.
func (ch *chatClient) messages(role string, st engine.State, thought string, round int) ([]chatMessage, error) {
	d := data(role, st, thought, round)
	var sys, prompt, ask string
	var err error
	for _, x := range []struct {
		name string
		out  *string
	}{{role + ".system", &sys}, {"prompt.user", &prompt}, {role + ".user", &ask}} {
		if *x.out, err = ch.tpl.render(x.name, d); err != nil {
			return nil, fmt.Errorf("remote: %s: %w", ch.c.role, err)
		}
	}
	msgs := []chatMessage{{Role: "system", Content: sys}, {Role: "user", Content: prompt}}
	for _, t := range d.Thoughts {
		msgs = append(msgs, chatMessage{Role: "assistant", Content: t})
	}
	if role == "critique" {
		msgs = append(msgs, chatMessage{Role: "assistant", Content: thought})
	}
	parts := []chatPart{{Type: "text", Text: ask}}
	if c := st.Canvas; c != nil && c.AnyPainted() {
		var u string
		var err error
		if c.Grid == tokens.Grid && c.AllTokens() {
			// The embedded model's canvas: its token picture, crisp (PNG) at ImageSide.
			u, err = dataURL(c.Tokens, ch.c.o.ImageSide)
		} else {
			u, err = pictureDataURL(c, ch.c.o.ImageSide)
		}
		if err != nil {
			return nil, err
		}
		parts = append(parts, chatPart{Type: "image_url", ImageURL: &chatImage{URL: u}})
	}
	return append(msgs, chatMessage{Role: "user", Content: parts}), nil
}

// request builds the body of a chat call.
func (ch *chatClient) request(role string, st engine.State, thought string, round int, stream bool) (request, error) {
	msgs, err := ch.messages(role, st, thought, round)
	if err != nil {
		return request{}, err
	}
	cr := chatRequest{Model: ch.c.ep.Model, Messages: msgs, Stream: stream}
	if st.Settings.Seed != 0 {
		seed := st.Settings.Seed
		cr.Seed = &seed
	}
	if ch.ext {
		x := &twigExt{Role: role, Prompt: st.Prompt, Settings: st.Settings, Band: st.Band, Rows: st.Rows, Round: round, Thoughts: d0(st.Thoughts)}
		if st.Canvas != nil {
			x.Height = st.Canvas.H
		}
		if role == "critique" {
			x.Thought = &thought
		}
		cr.Twig = x
	}
	body, err := json.Marshal(cr)
	if err != nil {
		return request{}, err
	}
	accept := "application/json"
	if stream {
		accept = "text/event-stream"
	}
	return request{op: "chat completion", path: "/chat/completions", contentType: "application/json", accept: accept,
		body: func() (io.Reader, error) { return bytes.NewReader(body), nil }, limit: ch.c.o.MaxResponseBytes}, nil
}

func d0(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// readChat reads a chat answer: a stream of chunks when the server sends
// text/event-stream (onDelta sees each piece of content), else one
// chat.completion object.
func readChat(resp *http.Response, body io.Reader, onDelta func(string)) (chatAnswer, error) {
	var a chatAnswer
	mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if mt != "text/event-stream" {
		b, err := io.ReadAll(body)
		if err != nil {
			return a, err
		}
		var c chatChunk
		if err := json.Unmarshal(b, &c); err != nil {
			return a, fmt.Errorf("the answer is not a chat completion object: %w", err)
		}
		if err := a.add(c, onDelta); err != nil {
			return a, err
		}
		if len(c.Choices) == 0 {
			return a, errors.New("the chat completion has no choices")
		}
		return a, nil
	}
	sse := newSSEReader(body)
	for {
		ev, err := sse.next()
		switch {
		case err == io.EOF:
			if a.finish == "" {
				return a, errTruncated
			}
			return a, nil
		case err != nil:
			return a, err
		case string(bytes.TrimSpace(ev)) == "[DONE]":
			return a, nil
		}
		var c chatChunk
		if err := json.Unmarshal(ev, &c); err != nil {
			return a, fmt.Errorf("a stream chunk is not JSON: %w", err)
		}
		if err := a.add(c, onDelta); err != nil {
			return a, err
		}
	}
}

// add takes in one chunk (or completion object): choice 0's content,
// refusal and finish reason, or an error the server put in the stream.
func (a *chatAnswer) add(c chatChunk, onDelta func(string)) error {
	if len(c.Error) > 0 && string(c.Error) != "null" {
		typ, code, msg := errorBody(append(append([]byte(`{"error":`), c.Error...), '}'))
		return &upstreamError{typ: typ, code: code, msg: msg}
	}
	for _, ch := range c.Choices {
		if ch.Index != 0 {
			continue
		}
		part := ch.Delta
		if part == nil {
			part = ch.Message
		}
		if t := part.text(); t != "" {
			a.text += t
			a.deltas++
			if onDelta != nil {
				onDelta(t)
			}
		}
		if part != nil && part.Refusal != nil {
			a.refusal += *part.Refusal
		}
		if ch.FinishReason != nil && *ch.FinishReason != "" {
			a.finish = *ch.FinishReason
		}
	}
	return nil
}
