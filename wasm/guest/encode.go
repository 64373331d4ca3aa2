package guest

import (
	"encoding/json"
	"strconv"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
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
		if p.Attempt != 0 {
			b = intField(b, "attempt", p.Attempt)
		}
	case *protocol.BandProgress:
		head(protocol.TypeBandProgress)
		b = intField(b, "band", p.Band)
		b = intField(b, "round", p.Round)
		if p.Rows.End != 0 { // twig/2 (protocol.BandProgress.MarshalJSON)
			b = appendRows(field(b, "rows"), p.Rows)
			b = appendString(field(b, "png"), p.PNG)
			if len(p.Tokens) > 0 {
				b = appendInts(field(b, "tokens"), p.Tokens)
			}
			break
		}
		b = intField(b, "row", p.Row)
		b = appendInts(field(b, "tokens"), p.Tokens)
		if p.Pixels != nil { // a real picture's rows (never a sandboxed run's: the host refuses them)
			b = appendRows(field(b, "pixels"), *p.Pixels)
		}
		if p.PNG != "" {
			b = appendString(field(b, "png"), p.PNG)
		}
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
		if p.Attempt != 0 {
			b = intField(b, "attempt", p.Attempt)
		}
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
		if p.Tokens > 0 {
			b = intField(b, "tokens", p.Tokens)
		}
	case *protocol.RunDone:
		head(protocol.TypeRunDone)
		if p.PNG != "" {
			b = appendString(field(b, "png"), p.PNG)
		}
		if len(p.Tokens) > 0 {
			b = appendInts(field(b, "tokens"), p.Tokens)
		}
		b = appendStrings(field(b, "thoughts"), p.Thoughts)
		b = appendRowsList(field(b, "bands"), p.Bands)
		st := &p.Stats
		b = append(field(b, "stats"), '{')
		b = intField(b, "bands", st.Bands)
		b = intField(b, "thought_tokens", st.ThoughtTokens)
		b = intField(b, "image_tokens", st.ImageTokens)
		if st.PixelRows != 0 {
			b = intField(b, "pixel_rows", st.PixelRows)
		}
		b = intField(b, "critiques", st.Critiques)
		b = intField(b, "unparsed", st.Unparsed)
		b = intField(b, "revisions", st.Revisions)
		if st.PlanReviews != 0 {
			b = intField(b, "plan_reviews", st.PlanReviews)
		}
		if st.PlanRejections != 0 {
			b = intField(b, "plan_rejections", st.PlanRejections)
		}
		if st.ReviewTokens != 0 {
			b = intField(b, "review_tokens", st.ReviewTokens)
		}
		// The host stamps the timings: the guest has no clock.
		b = append(b, '}')
	case *protocol.RunStarted:
		head(protocol.TypeRunStarted)
		b = appendString(field(b, "prompt"), p.Prompt)
		b = appendSettings(field(b, "settings"), p.Settings)
		if p.Backend != "" {
			b = appendString(field(b, "backend"), p.Backend)
		}
		if p.Grid != 0 {
			b = intField(b, "grid", p.Grid)
		}
		if len(p.Plan) > 0 {
			b = appendRowsList(field(b, "plan"), p.Plan)
		}
		if p.Width != 0 {
			b = intField(b, "width", p.Width)
		}
		if p.Height != 0 {
			b = intField(b, "height", p.Height)
		}
	case *protocol.BandRedrawn:
		head(protocol.TypeBandRedrawn)
		b = intField(b, "band", p.Band)
		b = intField(b, "round", p.Round)
		b = appendRows(field(b, "rows"), p.Rows)
		b = appendString(field(b, "thought"), p.Thought)
	case *protocol.BudgetExhausted:
		head(protocol.TypeBudgetExhausted)
		b = appendString(field(b, "budget"), p.Budget)
		b = intField(b, "limit", p.Limit)
		b = intField(b, "band", p.Band)
		b = appendString(field(b, "action"), p.Action)
	case *protocol.Error:
		head(protocol.TypeError)
		b = appendString(field(b, "code"), p.Code)
		b = appendString(field(b, "message"), p.Message)
	default:
		// A type this codec does not know. MarshalJSON directly:
		// json.Marshal would re-scan its output.
		data, err := ev.MarshalJSON()
		return append(b, data...), err
	}
	return append(b, '}'), nil
}

func appendRowsList(b []byte, v []protocol.Rows) []byte {
	if v == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, r := range v {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendRows(b, r)
	}
	return append(b, ']')
}

func appendSettings(b []byte, s engine.Settings) []byte {
	b = append(b, '{')
	b = intField(b, "bands", s.Bands)
	b = boolField(b, "adaptive", s.Adaptive)
	b = boolField(b, "think", s.Think)
	b = boolField(b, "reflect", s.Reflect)
	b = intField(b, "threshold", s.Threshold)
	b = intField(b, "max_revisions", s.MaxRevisions)
	b = intField(b, "max_thought_tokens", s.MaxThoughtTokens)
	b = intField(b, "max_revisions_total", s.MaxRevisionsTotal)
	b = strconv.AppendInt(field(b, "seed"), s.Seed, 10)
	b = intField(b, "plan_attempts", s.PlanAttempts)
	return append(b, '}')
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

// requestEncoder encodes role requests: twig/1 call requests
// (protocol.CallRequest) and the start's RunSpec.
type requestEncoder struct{}

// appendRequest appends a role request (or the start's RunSpec).
func (e *requestEncoder) appendRequest(b []byte, req any) ([]byte, error) {
	b = append(b, '{')
	switch q := req.(type) {
	case protocol.CallRequest:
		b = appendString(field(b, "prompt"), q.Prompt)
		b = appendSettings(field(b, "settings"), q.Settings)
		b = intField(b, "band", q.Band)
		b = appendRows(field(b, "rows"), q.Rows)
		if q.Width != 0 {
			b = intField(b, "width", q.Width)
		}
		if q.Height != 0 {
			b = intField(b, "height", q.Height)
		}
		if q.Grid != 0 {
			b = intField(b, "grid", q.Grid)
		}
		// The canvas is left out: the host keeps it from the run's events
		// (band_progress, band_redrawn), which the engine emits before every
		// request that depends on them (see abi's roles).
		b = appendStrings(field(b, "thoughts"), q.Thoughts)
		if q.Round != 0 {
			b = intField(b, "round", q.Round)
		}
		if q.Thought != "" {
			b = appendString(field(b, "thought"), q.Thought)
		}
		if q.Row != 0 {
			b = intField(b, "row", q.Row)
		}
		if q.Attempt != 0 {
			b = intField(b, "attempt", q.Attempt)
		}
		if len(q.Rejected) > 0 {
			b = append(field(b, "rejected"), '[')
			for i, p := range q.Rejected {
				if i > 0 {
					b = append(b, ',')
				}
				b = appendString(append(b, `{"thought":`...), p.Thought)
				b = appendString(append(b, `,"reason":`...), p.Reason)
				b = append(b, '}')
			}
			b = append(b, ']')
		}
	case engine.RunSpec:
		b = appendString(field(b, "prompt"), q.Prompt)
		b = strconv.AppendInt(field(b, "seed"), q.Seed, 10)
		b = appendSettings(field(b, "settings"), q.Settings)
		if q.RunID != "" {
			b = appendString(field(b, "run_id"), q.RunID)
		}
	default:
		data, err := json.Marshal(req)
		return append(b[:len(b)-1], data...), err
	}
	return append(b, '}'), nil
}
