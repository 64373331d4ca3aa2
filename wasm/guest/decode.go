package guest

import (
	"encoding/json"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// The decoding half of the guest's hand-written JSON (see encode.go): what
// the host writes, read without reflection, with encoding/json as the
// fallback for anything unexpected.

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
	start, ascii := p.i, true
	for p.i < len(p.data) {
		switch c := p.data[p.i]; {
		case c == '"':
			p.i++
			v := p.data[start : p.i-1]
			if !ascii && !utf8.Valid(v) {
				return "", false // encoding/json replaces bad bytes with U+FFFD
			}
			return string(v), true
		case c == '\\' || c < 0x20:
			return "", false
		case c >= 0x80:
			ascii = false
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

func (p *parser) int64() (int64, bool) {
	p.ws()
	start := p.i
	if p.i < len(p.data) && p.data[p.i] == '-' {
		p.i++
	}
	for p.i < len(p.data) && p.data[p.i] >= '0' && p.data[p.i] <= '9' {
		p.i++
	}
	n, err := strconv.ParseInt(string(p.data[start:p.i]), 10, 64)
	return n, err == nil && (p.i == len(p.data) || strings.IndexByte(".eE", p.data[p.i]) < 0)
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
		case "roles":
			r := &abi.Roles{}
			m.Roles = r
			ok = p.object(func(k string) (ok bool) {
				switch k {
				case "thinker":
					r.Thinker, ok = p.bool()
				case "painter":
					r.Painter, ok = p.bool()
				case "critic":
					r.Critic, ok = p.bool()
				case "decider":
					r.Decider, ok = p.bool()
				case "reviewer":
					r.Reviewer, ok = p.bool()
				}
				return ok
			})
		case "review":
			v := &protocol.ReviewResult{}
			m.Review = v
			ok = p.object(func(k string) (ok bool) {
				switch k {
				case "accepted":
					v.Accepted, ok = p.bool()
				case "reason":
					v.Reason, ok = p.str()
				case "tokens":
					v.Tokens, ok = p.int()
				}
				return ok
			})
		case "critique":
			c := &protocol.CritiqueResult{}
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
				case "tokens":
					c.Tokens, ok = p.int()
				}
				return ok
			})
		}
		return ok
	})
}

// settings reads Settings, starting from the defaults as its UnmarshalJSON does.
func (p *parser) settings(s *engine.Settings) bool {
	*s = engine.DefaultSettings()
	return p.object(func(k string) (ok bool) {
		switch k {
		case "bands":
			s.Bands, ok = p.int()
		case "adaptive":
			s.Adaptive, ok = p.bool()
		case "think":
			s.Think, ok = p.bool()
		case "reflect":
			s.Reflect, ok = p.bool()
		case "threshold":
			s.Threshold, ok = p.int()
		case "max_revisions":
			s.MaxRevisions, ok = p.int()
		case "max_thought_tokens":
			s.MaxThoughtTokens, ok = p.int()
		case "max_revisions_total":
			s.MaxRevisionsTotal, ok = p.int()
		case "seed":
			s.Seed, ok = p.int64()
		case "plan_attempts":
			s.PlanAttempts, ok = p.int()
		}
		return ok
	})
}

// decodeRunInput decodes twig_run's input: by hand, or through
// encoding/json when it holds anything the parser does not read.
func decodeRunInput(data []byte, in *abi.RunInput) error {
	*in = abi.RunInput{}
	p := parser{data: data}
	ok := p.object(func(k string) (ok bool) {
		switch k {
		case "abi":
			in.ABI, ok = p.int()
		case "spec":
			sp := &in.Spec
			ok = p.object(func(k string) (ok bool) {
				switch k {
				case "prompt":
					sp.Prompt, ok = p.str()
				case "seed":
					sp.Seed, ok = p.int64()
				case "settings":
					ok = p.settings(&sp.Settings)
				case "run_id":
					sp.RunID, ok = p.str()
				}
				return ok
			})
		case "backend":
			ok = p.object(func(k string) (ok bool) {
				switch k {
				case "name":
					in.Backend.Name, ok = p.str()
				case "default_bands":
					in.Backend.DefaultBands, ok = p.int()
				}
				return ok
			})
		}
		return ok
	})
	if ok && p.end() {
		return nil
	}
	*in = abi.RunInput{}
	return json.Unmarshal(data, in)
}
