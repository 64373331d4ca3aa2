package guest

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// Hand-written JSON for the guest's hot paths. encoding/json is reflection
// and a fresh instance starts with its caches cold; in wasm (and under the
// sandbox's termination checks) that made the guest's orchestration cost as
// much as the model. The encodings here are plain JSON that any decoder
// reads the same as encoding/json's; codec_test.go checks that they decode
// to the same values, and that the types have not grown fields they miss.

// appendString appends s as a JSON string. Bytes that are not valid UTF-8
// are left for the decoder to replace, as encoding/json's encoder would.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

func appendInts(b []byte, v []int) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range v {
		if i > 0 {
			b = append(b, ',')
		}
		// Image tokens are small: write their digits inline (a call per
		// number is a cost in wasm).
		switch {
		case x >= 0 && x < 10:
			b = append(b, byte('0'+x))
		case x >= 10 && x < 100:
			b = append(b, byte('0'+x/10), byte('0'+x%10))
		case x >= 100 && x < 1000:
			b = append(b, byte('0'+x/100), byte('0'+x/10%10), byte('0'+x%10))
		default:
			b = strconv.AppendInt(b, int64(x), 10)
		}
	}
	return append(b, ']')
}

func appendRows(b []byte, r protocol.Rows) []byte {
	b = append(b, `{"start":`...)
	b = strconv.AppendInt(b, int64(r.Start), 10)
	b = append(b, `,"end":`...)
	b = strconv.AppendInt(b, int64(r.End), 10)
	return append(b, '}')
}

// field appends ,"name": (or "name": first in an object).
func field(b []byte, name string) []byte {
	if b[len(b)-1] != '{' {
		b = append(b, ',')
	}
	b = append(b, '"')
	b = append(b, name...)
	return append(b, '"', ':')
}

func intField(b []byte, name string, v int) []byte {
	return strconv.AppendInt(field(b, name), int64(v), 10)
}

func boolField(b []byte, name string, v bool) []byte {
	return strconv.AppendBool(field(b, name), v)
}

// appendEvent appends ev as one protocol JSON object; the frequent payload
// types by hand, the others through encoding/json.
func appendEvent(b []byte, ev protocol.Event) ([]byte, error) {
	head := func(typ string) {
		b = append(b, `{"v":"`+protocol.Version+`","type":"`...)
		b = append(b, typ...)
		b = appendString(append(b, `","run_id":`...), ev.RunID)
		b = strconv.AppendInt(append(b, `,"seq":`...), ev.Seq, 10)
		b = strconv.AppendInt(append(b, `,"t_ms":`...), ev.TMs, 10)
	}
	switch p := ev.Payload.(type) {
	case *protocol.ThoughtDelta:
		head(protocol.TypeThoughtDelta)
		b = intField(b, "band", p.Band)
		b = appendString(field(b, "text"), p.Text)
		if p.Coalesced != 0 {
			b = intField(b, "coalesced", p.Coalesced)
		}
	case *protocol.BandProgress:
		head(protocol.TypeBandProgress)
		b = intField(b, "band", p.Band)
		b = intField(b, "round", p.Round)
		b = intField(b, "row", p.Row)
		b = appendInts(field(b, "tokens"), p.Tokens)
	case *protocol.ThinkDecision:
		head(protocol.TypeThinkDecision)
		b = intField(b, "row", p.Row)
		b = boolField(b, "think", p.Think)
		b = strconv.AppendFloat(field(b, "probability"), p.Probability, 'g', -1, 64)
		b = appendString(field(b, "source"), p.Source)
	case *protocol.BandStarted:
		head(protocol.TypeBandStarted)
		b = intField(b, "band", p.Band)
		b = appendRows(field(b, "rows"), p.Rows)
	case *protocol.BandDone:
		head(protocol.TypeBandDone)
		b = intField(b, "band", p.Band)
		b = intField(b, "round", p.Round)
		b = appendRows(field(b, "rows"), p.Rows)
	case *protocol.ThoughtDone:
		head(protocol.TypeThoughtDone)
		b = intField(b, "band", p.Band)
		b = appendString(field(b, "text"), p.Text)
		b = intField(b, "tokens", p.Tokens)
		b = intField(b, "end_row", p.EndRow)
		b = boolField(b, "truncated", p.Truncated)
	case *protocol.Critique:
		head(protocol.TypeCritique)
		b = intField(b, "band", p.Band)
		b = intField(b, "round", p.Round)
		b = appendRows(field(b, "rows"), p.Rows)
		b = intField(b, "score", p.Score)
		b = boolField(b, "parsed", p.Parsed)
		b = appendString(field(b, "revision"), p.Revision)
		b = appendString(field(b, "verdict"), p.Verdict)
		b = appendString(field(b, "reason"), p.Reason)
		b = appendString(field(b, "raw"), p.Raw)
	case *protocol.RunDone:
		head(protocol.TypeRunDone)
		b = appendInts(field(b, "tokens"), p.Tokens)
		b = appendStrings(field(b, "thoughts"), p.Thoughts)
		if p.Bands == nil {
			b = append(field(b, "bands"), "null"...)
		} else {
			b = append(field(b, "bands"), '[')
			for i, r := range p.Bands {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendRows(b, r)
			}
			b = append(b, ']')
		}
		st := &p.Stats
		b = append(field(b, "stats"), '{')
		b = intField(b, "bands", st.Bands)
		b = intField(b, "thought_tokens", st.ThoughtTokens)
		b = intField(b, "image_tokens", st.ImageTokens)
		b = intField(b, "critiques", st.Critiques)
		b = intField(b, "unparsed", st.Unparsed)
		b = intField(b, "revisions", st.Revisions)
		// The host stamps the timings: the guest has no clock.
		b = append(b, '}')
	default:
		// Rare events (run_started, band_redrawn, budget_exhausted, error).
		// MarshalJSON directly: json.Marshal would re-scan its output.
		data, err := ev.MarshalJSON()
		return append(b, data...), err
	}
	return append(b, '}'), nil
}

func appendStrings(b []byte, v []string) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, s := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendString(b, s)
	}
	return append(b, ']')
}

// requestEncoder encodes role requests; the run's settings are encoded once.
type requestEncoder struct {
	settings     engine.Settings
	settingsJSON []byte
}

// appendState appends a request's common fields, without braces.
func (e *requestEncoder) appendState(b []byte, st *engine.State) ([]byte, error) {
	if e.settingsJSON == nil || st.Settings != e.settings {
		data, err := json.Marshal(st.Settings)
		if err != nil {
			return b, err
		}
		e.settings, e.settingsJSON = st.Settings, data
	}
	b = appendString(field(b, "prompt"), st.Prompt)
	b = append(field(b, "settings"), e.settingsJSON...)
	b = intField(b, "band", st.Band)
	b = appendRows(field(b, "rows"), st.Rows)
	// The canvas is left out: the host keeps it from the run's events
	// (band_progress, band_redrawn), which the engine emits before every
	// request that depends on them (see abi.State).
	return appendStrings(field(b, "thoughts"), st.Thoughts), nil
}

// appendRequest appends a role request: the engine's request types by
// hand, anything else (the start's RunSpec) through encoding/json.
func (e *requestEncoder) appendRequest(b []byte, req any) ([]byte, error) {
	b = append(b, '{')
	var err error
	switch q := req.(type) {
	case engine.ThinkRequest:
		b, err = e.appendState(b, &q.State)
	case engine.PaintRequest:
		b, err = e.appendState(b, &q.State)
		b = intField(b, "round", q.Round)
		b = appendString(field(b, "thought"), q.Thought)
	case engine.CritiqueRequest:
		b, err = e.appendState(b, &q.State)
		b = intField(b, "round", q.Round)
		b = appendString(field(b, "thought"), q.Thought)
	case engine.DecideRequest:
		b, err = e.appendState(b, &q.State)
		b = intField(b, "row", q.Row)
		b = appendString(field(b, "thought"), q.Thought)
	default:
		data, err := json.Marshal(req)
		return append(b[:len(b)-1], data...), err
	}
	return append(b, '}'), err
}

// decodeMessage decodes a host message: the common shapes by hand, the rest
// (and anything unexpected) through encoding/json.
func decodeMessage(data []byte, m *abi.Message) error {
	*m = abi.Message{}
	if p := (parser{data: data}); p.message(m) && p.end() {
		return nil
	}
	*m = abi.Message{}
	return json.Unmarshal(data, m)
}

// parser reads the JSON the host writes for abi.Message: objects of known
// keys, strings without escapes, integers, true/false, int arrays. Anything
// else makes it give up (the caller falls back to encoding/json).
type parser struct {
	data []byte
	i    int
}

func (p *parser) ws() {
	for p.i < len(p.data) && (p.data[p.i] == ' ' || p.data[p.i] == '\n' || p.data[p.i] == '\t' || p.data[p.i] == '\r') {
		p.i++
	}
}

func (p *parser) eat(c byte) bool {
	p.ws()
	if p.i < len(p.data) && p.data[p.i] == c {
		p.i++
		return true
	}
	return false
}

func (p *parser) end() bool { p.ws(); return p.i == len(p.data) }

func (p *parser) str() (string, bool) {
	if !p.eat('"') {
		return "", false
	}
	start := p.i
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			return string(p.data[start : p.i-1]), true
		case c == '\\' || c < 0x20:
			return "", false
		}
		p.i++
	}
	return "", false
}

func (p *parser) int() (int, bool) {
	p.ws()
	start := p.i
	if p.i < len(p.data) && p.data[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	if p.i < len(p.data) && (p.data[p.i] == '.' || p.data[p.i] == 'e' || p.data[p.i] == 'E') {
		return 0, false
	}
	n, err := strconv.Atoi(string(p.data[start:p.i]))
	return n, err == nil
}

func (p *parser) float() (float64, bool) {
	p.ws()
	start := p.i
	for p.i < len(p.data) && strings.IndexByte("+-.0123456789eE", p.data[p.i]) >= 0 {
		p.i++
	}
	f, err := strconv.ParseFloat(string(p.data[start:p.i]), 64)
	return f, err == nil
}

func (p *parser) bool() (bool, bool) {
	p.ws()
	for _, lit := range []string{"true", "false"} {
		if len(p.data)-p.i >= len(lit) && string(p.data[p.i:p.i+len(lit)]) == lit {
			p.i += len(lit)
			return lit == "true", true
		}
	}
	return false, false
}

func (p *parser) ints() ([]int, bool) {
	if !p.eat('[') {
		return nil, false
	}
	out := []int{}
	if p.eat(']') {
		return out, true
	}
	for {
		n, ok := p.int()
		if !ok {
			return nil, false
		}
		out = append(out, n)
		if p.eat(']') {
			return out, true
		}
		if !p.eat(',') {
			return nil, false
		}
	}
}

// object reads an object, calling val for each key; val reads the value.
func (p *parser) object(val func(key string) bool) bool {
	if !p.eat('{') {
		return false
	}
	if p.eat('}') {
		return true
	}
	for {
		k, ok := p.str()
		if !ok || !p.eat(':') || !val(k) {
			return false
		}
		if p.eat('}') {
			return true
		}
		if !p.eat(',') {
			return false
		}
	}
}

func (p *parser) message(m *abi.Message) bool {
	return p.object(func(k string) (ok bool) {
		switch k {
		case "type":
			m.Type, ok = p.str()
		case "text":
			m.Text, ok = p.str()
		case "message":
			m.Message, ok = p.str()
		case "end":
			m.End, ok = p.int()
		case "row":
			m.Row, ok = p.int()
		case "tokens":
			m.Tokens, ok = p.ints()
		case "think":
			m.Think, ok = p.bool()
		case "probability":
			m.Probability, ok = p.float()
		case "critique":
			c := &engine.Critique{}
			m.Critique = c
			ok = p.object(func(k string) (ok bool) {
				switch k {
				case "score":
					c.Score, ok = p.int()
				case "parsed":
					c.Parsed, ok = p.bool()
				case "revision":
					c.Revision, ok = p.str()
				case "raw":
					c.Raw, ok = p.str()
				}
				return ok
			})
		}
		return ok
	})
}
