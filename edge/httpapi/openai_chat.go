package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	"io"
	"net/http"
	"slices"
	"strings"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// The chat convention (docs/PROTOCOL.md, "Chat completions"): a
// conversation is a run so far.
//
//   - the first user message's text is the prompt;
//   - the assistant messages, in order, are the thoughts of bands 0, 1, …;
//   - the last image in the conversation (an image_url data URL) is the
//     canvas so far; no image: nothing drawn yet;
//   - the model id picks the role: twig-critic critiques the last thought's
//     band, twig and twig-thinker write the next band's thought;
//   - the "twig" extension object overrides any of it exactly.
var chatFields = []string{"model", "messages", "stream", "stream_options", "seed", "max_tokens",
	"max_completion_tokens", "n", "user", "twig"}

// chatExt is the "twig" extension object of a chat request.
type chatExt struct {
	Role     string          `json:"role"`
	Prompt   *string         `json:"prompt"`
	Settings json.RawMessage `json:"settings"`
	Band     *int            `json:"band"`
	Rows     *protocol.Rows  `json:"rows"`
	Height   int             `json:"height"`
	Round    int             `json:"round"`
	Thought  *string         `json:"thought"`
	Thoughts *[]string       `json:"thoughts"`
	Canvas   []int           `json:"canvas"`
}

type chatMessage struct {
	role   string
	text   string
	images []string // data URLs
}

// chatQuery is a parsed chat request.
type chatQuery struct {
	model        string
	call         protocol.Call
	stream       bool
	includeUsage bool
	maxTokens    int // 0: no cap
	promptWords  int
}

func (a *apiHandler) chat(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.maxBody))
		return
	}
	// the address's in-flight slot before parsing, which decodes the
	// pictures: one address cannot have more decodes going than requests
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	tm, _ := a.tokenModel()
	q, aerr := parseChat(r.Context(), body, a.g.Backend(), tm, a.pictureLimits())
	if aerr != nil {
		aerr.write(w)
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.g.Limits().RunTimeout)
	defer cancel()
	id := "chatcmpl-" + RequestID(r.Context())
	c := chatCompletion{id: id, model: q.model, created: unixNow(), q: q}
	if q.stream {
		err = c.stream(ctx, w, a.g.Call, a.g.Limits())
	} else {
		err = c.whole(ctx, w, a.g.Call)
	}
	a.g.Logger().Info("chat completion", "request_id", RequestID(r.Context()), "role", q.call.Role, "band", q.call.Request.Band,
		"stream", q.stream, "code", codeOrOK(err))
}

// parseChat checks a chat request and maps it to a model call. tm is the
// backend as a token model, nil when it is not one.
func parseChat(ctx context.Context, body []byte, b engine.Backend, tm TokenModel, pl pictureLimits) (*chatQuery, *apiError) {
	m, aerr := checkFields(body, "chat completion", chatFields...)
	if aerr != nil {
		return nil, aerr
	}
	q := &chatQuery{}
	var rawMsgs []json.RawMessage
	var streamOpts json.RawMessage
	var seed *int64
	var n, maxTok, maxComp *int
	var user string
	var ext chatExt
	for _, f := range []struct {
		name string
		v    any
	}{{"model", &q.model}, {"messages", &rawMsgs}, {"stream", &q.stream}, {"stream_options", &streamOpts},
		{"seed", &seed}, {"n", &n}, {"max_tokens", &maxTok}, {"max_completion_tokens", &maxComp}, {"user", &user}} {
		if aerr := field(m, f.name, f.v); aerr != nil {
			return nil, aerr
		}
	}
	if raw, ok := m["twig"]; ok {
		if err := strict(raw, &ext); err != nil {
			return nil, badRequest("invalid_twig", "twig", "the twig extension: %s (fields: role, prompt, settings, band, rows, height, round, thought, thoughts, canvas)", textutil.OneLine(err.Error()))
		}
	}
	if streamOpts != nil {
		so, aerr := checkFields(streamOpts, "stream_options", "include_usage")
		if aerr != nil {
			return nil, aerr
		}
		if aerr := field(so, "include_usage", &q.includeUsage); aerr != nil {
			return nil, aerr
		}
		if !q.stream {
			return nil, badRequest("invalid_value", "stream_options", "stream_options needs stream: true")
		}
	}
	if n != nil && *n != 1 {
		return nil, badRequest("unsupported_value", "n", "n must be 1: twig writes one answer a request")
	}
	for _, mt := range []*int{maxTok, maxComp} {
		if mt != nil {
			if *mt < 1 {
				return nil, badRequest("invalid_value", "max_tokens", "max_tokens must be at least 1")
			}
			q.maxTokens = *mt
		}
	}
	role := protocol.RoleThink
	switch q.model {
	case ModelTwig, ModelThinker:
	case ModelCritic:
		role = protocol.RoleCritique
	case "":
		return nil, badRequest("missing_parameter", "model", "model is required: use %s (thinker) or %s (critic)", ModelTwig, ModelCritic)
	case ModelPainter:
		return nil, badRequest("model_not_supported", "model", "%s draws pictures: use POST /v1/images/edits or /v1/images/generations", ModelPainter)
	default:
		return nil, &apiError{status: http.StatusNotFound, code: "model_not_found", param: "model",
			msg: fmt.Sprintf("model %q does not exist: use %s", textutil.Clip(q.model, 60), strings.Join(ModelIDs(), ", "))}
	}
	switch ext.Role {
	case "":
	case protocol.RoleThink, protocol.RoleCritique:
		role = ext.Role
	default:
		return nil, badRequest("invalid_value", "twig.role", "twig.role %q: use think or critique (paint is /v1/images/edits)", textutil.Clip(ext.Role, 60))
	}
	msgs, aerr := parseMessages(rawMsgs)
	if aerr != nil {
		return nil, aerr
	}
	req, aerr := chatState(ctx, msgs, role, ext, b, tm, pl)
	if aerr != nil {
		return nil, aerr
	}
	if seed != nil {
		req.Settings.Seed = *seed
	}
	for _, msg := range msgs {
		q.promptWords += len(strings.Fields(msg.text))
	}
	q.call = protocol.Call{Role: role, Request: req}
	return q, nil
}

func parseMessages(raw []json.RawMessage) ([]chatMessage, *apiError) {
	if len(raw) == 0 {
		return nil, badRequest("missing_parameter", "messages", "messages is required: at least one user message holding the prompt")
	}
	var out []chatMessage
	for i, rm := range raw {
		param := fmt.Sprintf("messages[%d]", i)
		m, aerr := checkFields(rm, param, "role", "content", "name", "refusal", "annotations", "audio", "tool_calls", "function_call")
		if aerr != nil {
			return nil, aerr
		}
		for _, k := range []string{"audio", "tool_calls", "function_call"} {
			if v, ok := m[k]; ok && string(v) != "[]" {
				return nil, badRequest("unsupported_parameter", param+"."+k, "%s.%s is not supported: twig has no tools or audio", param, k)
			}
		}
		var msg chatMessage
		if aerr := field(m, "role", &msg.role); aerr != nil {
			return nil, aerr
		}
		switch msg.role {
		case "system", "developer", "user", "assistant":
		default:
			return nil, badRequest("invalid_value", param+".role", "%s.role %q is not supported: use system, developer, user or assistant", param, textutil.Clip(msg.role, 60))
		}
		content := m["content"]
		var s string
		if err := json.Unmarshal(content, &s); err == nil || content == nil {
			msg.text = s
		} else {
			var parts []json.RawMessage
			if err := json.Unmarshal(content, &parts); err != nil {
				return nil, badRequest("invalid_type", param+".content", "%s.content must be a string or an array of parts", param)
			}
			for j, rp := range parts {
				pp := fmt.Sprintf("%s.content[%d]", param, j)
				pm, aerr := checkFields(rp, pp, "type", "text", "image_url")
				if aerr != nil {
					return nil, aerr
				}
				var typ string
				field(pm, "type", &typ)
				switch typ {
				case "text":
					var t string
					if aerr := field(pm, "text", &t); aerr != nil {
						return nil, aerr
					}
					if msg.text != "" {
						msg.text += "\n"
					}
					msg.text += t
				case "image_url":
					var iu struct {
						URL    string `json:"url"`
						Detail string `json:"detail"`
					}
					if err := strict(pm["image_url"], &iu); err != nil {
						return nil, badRequest("invalid_type", pp+".image_url", "%s.image_url: %s (fields: url, detail)", pp, textutil.OneLine(err.Error()))
					}
					msg.images = append(msg.images, iu.URL)
				default:
					return nil, badRequest("unsupported_value", pp+".type", "%s.type %q is not supported: use text or image_url", pp, textutil.Clip(typ, 60))
				}
			}
		}
		out = append(out, msg)
	}
	return out, nil
}

// chatState builds the call's state from the conversation and the extension.
func chatState(ctx context.Context, msgs []chatMessage, role string, ext chatExt, b engine.Backend, tm TokenModel, pl pictureLimits) (protocol.CallRequest, *apiError) {
	var req protocol.CallRequest
	var err error
	if req.Settings, err = protocol.DecodeSettings(ext.Settings); err != nil {
		return req, badRequest("invalid_value", "twig.settings", "twig.%v", err)
	}
	// prompt, thoughts, picture
	var thoughts []string
	c := chatPicture{}
	for i, m := range msgs {
		switch m.role {
		case "user":
			if req.Prompt == "" {
				req.Prompt = strings.TrimSpace(m.text)
			}
		case "assistant":
			thoughts = append(thoughts, strings.TrimSpace(m.text))
		}
		if len(m.images) > 0 {
			c.url, c.param = m.images[len(m.images)-1], fmt.Sprintf("messages[%d].content", i)
		}
	}
	if ext.Prompt != nil {
		req.Prompt = *ext.Prompt
	}
	if strings.TrimSpace(req.Prompt) == "" {
		return req, badRequest("missing_prompt", "messages", "no prompt: the first user message's text is what to draw")
	}
	th := ""
	if role == protocol.RoleCritique {
		if ext.Thought != nil {
			th = *ext.Thought
		} else if len(thoughts) > 0 {
			th, thoughts = thoughts[len(thoughts)-1], thoughts[:len(thoughts)-1]
		} else if ext.Thoughts == nil {
			return req, badRequest("missing_thought", "messages", "a critique needs the band's thought: the last assistant message (or twig.thought)")
		}
	}
	if ext.Thoughts != nil {
		thoughts = *ext.Thoughts
	}
	req.Thoughts = thoughts
	req.Thought = th
	req.Round = ext.Round
	req.Band = len(thoughts)
	if ext.Band != nil {
		req.Band = *ext.Band
	}
	// rows: pixel rows of the painter's canvas (a token model's 256×256,
	// a remote image model's own size): the extension's, a token model's
	// reading of the critiqued thought's header, or the schedule
	g := engine.TokenGeometry
	if tm == nil {
		g = Geometry(b)
	}
	switch {
	case ext.Rows != nil:
		req.Rows = *ext.Rows
		if h := ext.Height; h > 0 && h != g.Height {
			// the caller's canvas is another size: its rows, on this one
			req.Rows.Start = req.Rows.Start * g.Height / h
			if req.Rows.End > 0 {
				req.Rows.End = (req.Rows.End*g.Height + h - 1) / h
			}
		}
	default:
		if tm != nil && role == protocol.RoleCritique {
			if r0, r1, ok := tm.ThoughtRows(th); ok {
				req.Rows = protocol.Rows{Start: r0 * g.Unit, End: r1 * g.Unit}
				break
			}
		}
		k := req.Settings.Bands
		if k == 0 && b != nil {
			k = b.DefaultBands()
		}
		plan := engine.Schedule(max(k, 1), g)
		if req.Band < 0 || req.Band >= len(plan) {
			return req, badRequest("invalid_value", "messages", "band %d is past the %d bands of the schedule: the conversation has more assistant thoughts than bands (set twig.settings.bands or twig.rows)", req.Band, len(plan))
		}
		req.Rows = plan[req.Band]
	}
	// canvas
	var aerr *apiError
	switch {
	case ext.Canvas != nil:
		// the caller's token view, as sent
		tg := engine.TokenGeometry
		req.Canvas = ext.Canvas
		req.Width, req.Height, req.Grid = tg.Width, tg.Height, tg.Grid
	case tm != nil:
		aerr = c.tokens(ctx, &req, role, tm, pl)
	default:
		aerr = c.pixels(ctx, &req, role, g, pl)
	}
	if aerr != nil {
		return req, aerr
	}
	if _, err := rolecall.Decode(protocol.Call{Role: role, Request: req}, nil); err != nil {
		return req, badRequest("invalid_value", "twig", "%v", err)
	}
	return req, nil
}

// chatPicture is the conversation's last picture: a data URL and where it was.
type chatPicture struct{ url, param string }

// tokens sets req's canvas to a token model's view of the picture, cut to
// what the role may see: the rows before the band (think) or up to its end
// (critique), in token rows.
func (c chatPicture) tokens(ctx context.Context, req *protocol.CallRequest, role string, tm TokenModel, pl pictureLimits) *apiError {
	g := engine.TokenGeometry
	n := g.Grid * g.Grid
	if c.url != "" {
		if aerr := decodeDataURL(ctx, pl, c.url, c.param, func(img image.Image) { req.Canvas = tm.TokensOf(img) }); aerr != nil {
			return aerr
		}
	} else {
		req.Canvas = slices.Repeat([]int{-1}, n)
	}
	if len(req.Canvas) == n {
		start, end := req.Rows.Start/g.Unit, (req.Rows.End+g.Unit-1)/g.Unit
		from := start
		if role == protocol.RoleCritique && req.Rows.End > 0 {
			from = end
			for i := start * g.Grid; i < end*g.Grid && i < len(req.Canvas); i++ {
				if req.Canvas[i] < 0 {
					return badRequest("invalid_image", c.param, "the picture does not show rows %d–%d of the band to critique: send the canvas with the band drawn", start, end-1)
				}
			}
		}
		for i := max(from, 0) * g.Grid; i < len(req.Canvas); i++ {
			req.Canvas[i] = -1
		}
	}
	req.Width, req.Height, req.Grid = g.Width, g.Height, g.Grid
	return nil
}

// pixels sets req's canvas to the picture's pixels at the painter's size
// g, cut to what the role may see: the pixel rows before the band (think)
// or up to its end (critique; the band must be drawn: not transparent).
func (c chatPicture) pixels(ctx context.Context, req *protocol.CallRequest, role string, g engine.Geometry, pl pictureLimits) *apiError {
	req.Width, req.Height, req.Grid = g.Width, g.Height, g.Grid
	if c.url == "" {
		return nil // nothing drawn yet
	}
	var pic *canvas.Canvas
	var err error
	if aerr := decodeDataURL(ctx, pl, c.url, c.param, func(img image.Image) { pic, err = canvas.FromImage(img, g.Width, g.Height) }); aerr != nil {
		return aerr
	}
	if err != nil {
		return badRequest("invalid_image", c.param, "%s: %s", c.param, textutil.OneLine(err.Error()))
	}
	from := req.Rows.Start
	if role == protocol.RoleCritique && req.Rows.End > 0 {
		from = req.Rows.End
		for y := max(req.Rows.Start, 0); y < min(req.Rows.End, pic.H); y++ {
			if !pic.Painted[y] {
				return badRequest("invalid_image", c.param, "the picture does not show pixel rows %d–%d of the band to critique (row %d is transparent) on the painter's %d×%d canvas: send the canvas with the band drawn", req.Rows.Start, req.Rows.End-1, y, g.Width, g.Height)
			}
		}
	}
	if from >= 0 {
		clearFrom(pic, from)
	}
	if pic.AnyPainted() {
		url, err := pic.DataURL()
		if err != nil {
			return &apiError{status: http.StatusInternalServerError, code: protocol.CodeInternal, msg: textutil.OneLine(err.Error())}
		}
		req.CanvasPNG = url
	}
	return nil
}

// TokenRequest is a call request written in the embedded model's token
// rows (the OpenAI-compatible endpoints' twig extension speaks them) as
// twig/2 has it: pixel rows of engine.TokenGeometry's canvas, the tokens
// its token view.
func TokenRequest(r protocol.CallRequest) protocol.CallRequest {
	g := engine.TokenGeometry
	r.Width, r.Height, r.Grid = g.Width, g.Height, g.Grid
	r.Rows.Start *= g.Unit
	if r.Rows.End > 0 {
		r.Rows.End *= g.Unit
	}
	r.Row *= g.Unit
	return r
}

// chatCompletion answers one chat request.
type chatCompletion struct {
	id      string
	model   string
	created int64
	q       *chatQuery
}

// caller plays one model call (Gateway.Call: counted, behind the gateway's
// model slots).
type caller func(context.Context, protocol.Call, func(protocol.Payload) error) (*protocol.CallDone, error)

// errLength stops a think call at max_tokens.
var errLength = errors.New("edge: max_tokens reached")

// run plays the call; each thought token goes to onDelta as the model
// writes it (on the model's goroutine), up to max_tokens. It returns the
// result (nil when cut at max_tokens), the finish reason and the number of
// thought tokens.
func (c *chatCompletion) run(ctx context.Context, call caller, onDelta func(string) error) (*protocol.CallDone, string, int, error) {
	tokens := 0
	done, err := call(ctx, c.q.call, func(p protocol.Payload) error {
		d, ok := p.(*protocol.CallDelta)
		if !ok {
			return nil
		}
		if c.q.maxTokens > 0 && tokens >= c.q.maxTokens {
			return errLength
		}
		tokens++
		return onDelta(d.Text)
	})
	if errors.Is(err, errLength) {
		return nil, "length", tokens, nil
	}
	if err != nil {
		return nil, "", 0, err
	}
	if done.Thought != nil {
		tokens = done.Thought.Tokens
	}
	return done, "stop", tokens, nil
}

// critiqueContent is a critique's answer: JSON with the score (null when
// unreadable), the revision and the critic's description of the band.
func critiqueContent(done *protocol.CallDone) (string, int) {
	cr := done.Critique
	var score any = cr.Score
	if !cr.Parsed {
		score = nil
	}
	b, _ := json.Marshal(map[string]any{"score": score, "revision": cr.Revision, "description": cr.Raw})
	return string(b), len(strings.Fields(cr.Revision)) + len(strings.Fields(cr.Raw))
}

// spacer turns the model's tokens ("word ") into chat text with spaces
// before words, never trailing: the streamed pieces add up to the content.
type spacer struct {
	pending string
	started bool
}

func (s *spacer) next(delta string) string {
	text := s.pending + delta
	trimmed := strings.TrimRight(text, " \n\t")
	s.pending = text[len(trimmed):]
	if !s.started {
		trimmed = strings.TrimLeft(trimmed, " \n\t")
	}
	if trimmed != "" {
		s.started = true
	}
	return trimmed
}

func (c *chatCompletion) usage(completion int) map[string]int {
	return map[string]int{"prompt_tokens": c.q.promptWords, "completion_tokens": completion, "total_tokens": c.q.promptWords + completion}
}

func (c *chatCompletion) ext(done *protocol.CallDone) map[string]any {
	r := c.q.call.Request
	return map[string]any{"role": c.q.call.Role, "band": r.Band, "rows": r.Rows, "round": r.Round, "result": done}
}

func (c *chatCompletion) whole(ctx context.Context, w http.ResponseWriter, call caller) error {
	var sb strings.Builder
	var sp spacer
	done, finish, completion, err := c.run(ctx, call, func(d string) error {
		sb.WriteString(sp.next(d))
		return nil
	})
	if err != nil {
		code := gateway.ErrorCode(err)
		writeAPIError(w, statusOf(code), code, "", textutil.OneLine(err.Error()))
		return err
	}
	content := sb.String()
	if done != nil && done.Critique != nil {
		content, completion = critiqueContent(done)
	}
	writeJSON(w, http.StatusOK, map[string]any{
		"id": c.id, "object": "chat.completion", "created": c.created, "model": c.model,
		"system_fingerprint": protocol.Version,
		"choices": []any{map[string]any{"index": 0, "finish_reason": finish, "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": content, "refusal": nil}}},
		"usage": c.usage(completion),
		"twig":  c.ext(done),
	})
	return nil
}

func (c *chatCompletion) chunk(delta map[string]any, finish any) map[string]any {
	return map[string]any{"id": c.id, "object": "chat.completion.chunk", "created": c.created, "model": c.model,
		"system_fingerprint": protocol.Version,
		"choices":            []any{map[string]any{"index": 0, "delta": delta, "logprobs": nil, "finish_reason": finish}}}
}

// stream answers with server-sent chunks: the model's tokens go through a
// relay, so a slow client never holds the model.
func (c *chatCompletion) stream(ctx context.Context, w http.ResponseWriter, call caller, l gateway.Limits) error {
	out := startSSE(w)
	if err := out.send(c.chunk(map[string]any{"role": "assistant", "content": ""}, nil)); err != nil {
		return err
	}
	var sp spacer
	rel := gateway.NewRelay(l, func(ev protocol.Event) error {
		d, ok := ev.Payload.(*protocol.CallDelta)
		if !ok {
			return nil
		}
		if text := sp.next(d.Text); text != "" {
			return out.send(c.chunk(map[string]any{"content": text}, nil))
		}
		return nil
	})
	st := gateway.NewStream(c.id)
	done, finish, completion, err := c.run(ctx, call, func(d string) error {
		return rel.Push(st.Event(&protocol.CallDelta{Text: d}))
	})
	if werr := rel.Finish(); werr != nil {
		// the client is gone or too slow: that is why the call ended when it
		// failed too (its deltas had nowhere to go)
		return werr
	}
	if err != nil {
		code := gateway.ErrorCode(err)
		out.send(map[string]any{"error": map[string]any{"message": textutil.OneLine(err.Error()), "type": "server_error", "param": nil, "code": code}})
		return err
	}
	if done != nil && done.Critique != nil {
		var content string
		content, completion = critiqueContent(done)
		if err := out.send(c.chunk(map[string]any{"content": content}, nil)); err != nil {
			return err
		}
	}
	last := c.chunk(map[string]any{}, finish)
	last["twig"] = c.ext(done)
	out.send(last)
	if c.q.includeUsage {
		u := c.chunk(nil, nil)
		u["choices"] = []any{}
		u["usage"] = c.usage(completion)
		out.send(u)
	}
	return out.raw([]byte("[DONE]"))
}
