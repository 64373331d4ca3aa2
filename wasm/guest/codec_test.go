package guest

import (
	"encoding/json"
	"reflect"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/wasm/abi"
)

// odd is a string with every kind of byte a JSON encoder must escape.
const odd = "a \"quoted\" back\\slash\nnew\tline \x01\x1f é ✓ <&>"

func canvas() []int {
	c := make([]int, 256)
	for i := range c {
		c[i] = i%182 - 1
	}
	return c
}

// TestFieldCounts fails when a type the hand-written codec writes or reads
// gains a field: teach codec.go the field, then update the count here.
func TestFieldCounts(t *testing.T) {
	for _, tc := range []struct {
		v any
		n int
	}{
		{protocol.ThoughtDelta{}, 4}, {protocol.BandProgress{}, 7}, {protocol.ThinkDecision{}, 4},
		{protocol.BandStarted{}, 2}, {protocol.BandDone{}, 3}, {protocol.ThoughtDone{}, 6},
		{protocol.Critique{}, 10}, {protocol.RunDone{}, 5}, {protocol.Stats{}, 11}, {protocol.Rows{}, 2},
		{protocol.CallRequest{}, 15}, {protocol.RejectedPlan{}, 2}, {protocol.CritiqueResult{}, 5},
		{protocol.ReviewResult{}, 3}, {abi.Message{}, 11}, {protocol.RunStarted{}, 7}, {protocol.BandRedrawn{}, 4}, {protocol.BudgetExhausted{}, 4},
		{protocol.Error{}, 2}, {engine.Settings{}, 10}, {engine.RunSpec{}, 4}, {abi.RunInput{}, 3}, {abi.BackendInfo{}, 2},
		{abi.Roles{}, 5},
	} {
		if n := reflect.TypeOf(tc.v).NumField(); n != tc.n {
			t.Errorf("%T has %d fields, the guest's codec knows %d: update wasm/guest/codec.go", tc.v, n, tc.n)
		}
	}
}

// TestEventsEncodeLikeEncodingJSON: every event decodes the same from the
// hand-written encoding as from encoding/json's.
func TestEventsEncodeLikeEncodingJSON(t *testing.T) {
	rows := protocol.Rows{Start: 3, End: -1}
	for _, p := range []protocol.Payload{
		&protocol.RunStarted{Prompt: odd, Settings: engine.DefaultSettings(), Backend: "b", Grid: 16, Plan: []protocol.Rows{rows}},
		&protocol.ThinkDecision{Row: 4, Think: true, Probability: 0.1234567890123, Source: "decider"},
		&protocol.ThinkDecision{Probability: 1e-9},
		&protocol.BandStarted{Band: 1, Rows: rows},
		&protocol.ThoughtDelta{Band: 2, Text: odd},
		&protocol.ThoughtDelta{Band: 2, Text: "x", Coalesced: 3},
		&protocol.ThoughtDelta{Band: 2, Text: "x", Attempt: 2},
		&protocol.ThoughtDone{Band: 2, Text: odd, Tokens: 7, Attempt: 1},
		&protocol.PlanReview{Band: 1, Attempt: 1, Reason: odd, Thought: odd, Tokens: 4, Final: true},
		&protocol.ThoughtDone{Band: 2, Text: odd, Tokens: 7, EndRow: 9, Truncated: true},
		&protocol.ThoughtDone{},
		&protocol.BandProgress{Band: 1, Round: 1, Row: 5, Tokens: []int{0, 1, 9, 10, 99, 100, 180, 999, 1000, -1, -12}},
		&protocol.BandProgress{},
		&protocol.BandProgress{Band: 1, Round: 1, Rows: protocol.Rows{Start: 16, End: 32}, PNG: "iVBORw0KGgo=", Tokens: []int{0, 1, 180}},
		&protocol.BandProgress{Rows: protocol.Rows{Start: 0, End: 1024}, PNG: "iVBORw0KGgo="},
		&protocol.RunDone{PNG: "iVBORw0KGgo=", Stats: protocol.Stats{PixelRows: 5}},
		&protocol.BandProgress{Band: 0, Row: 2, Tokens: []int{1}, Pixels: &protocol.Rows{Start: 128, End: 192}, PNG: "iVBORw0KGgo="},
		&protocol.RunStarted{Prompt: "p", Grid: 16, Width: 1024, Height: 768},
		&protocol.BandDone{Band: 1, Round: 2, Rows: rows},
		&protocol.Critique{Band: 1, Round: 1, Rows: rows, Score: 40, Parsed: true, Revision: odd, Verdict: "redraw", Reason: "below_threshold", Raw: odd, Tokens: 17},
		&protocol.Critique{},
		&protocol.BandRedrawn{Band: 1, Round: 1, Rows: rows, Thought: odd},
		&protocol.BudgetExhausted{Budget: "revisions", Limit: 1, Band: 2, Action: odd},
		&protocol.RunDone{Tokens: canvas(), Thoughts: []string{odd, ""}, Bands: []protocol.Rows{rows, rows},
			Stats: protocol.Stats{Bands: 2, ThoughtTokens: 3, ImageTokens: 4, Critiques: 5, Unparsed: 6, Revisions: 7,
				PlanReviews: 8, PlanRejections: 9, ReviewTokens: 10}},
		&protocol.RunDone{},
		&protocol.Error{Code: "painter_failed", Message: odd},
	} {
		ev := protocol.Event{RunID: "r\"1", Seq: 12, TMs: 34, Payload: p}
		fast, err := appendEvent(nil, ev)
		if err != nil {
			t.Fatal(err)
		}
		slow, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if a, b := redecode(t, fast), redecode(t, slow); a != b {
			t.Errorf("%s:\nhand-written: %s\nencoding/json: %s", p.EventType(), a, b)
		}
	}
}

func redecode(t *testing.T, line []byte) string {
	t.Helper()
	ev, err := protocol.Decode(line)
	if err != nil {
		t.Fatalf("%v: %s", err, line)
	}
	out, err := json.Marshal(ev)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}

// TestRequestsEncodeLikeEncodingJSON: the host decodes the same request
// from the hand-written encoding as from encoding/json's, for the call of
// every role (rolecall's encoding of the engine's requests).
func TestRequestsEncodeLikeEncodingJSON(t *testing.T) {
	st := engine.State{Prompt: odd, Settings: engine.DefaultSettings(), Band: 2, Rows: protocol.Rows{Start: 6, End: 11},
		Thoughts: []string{odd, ""}, Canvas: canvas()}
	rej := []engine.RejectedPlan{{Thought: odd, Reason: odd}, {Thought: "b", Reason: ""}}
	var e requestEncoder
	for _, tc := range []struct {
		req any
		out func() any
	}{
		{rolecall.ThinkCall(engine.ThinkRequest{State: st}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.ThinkCall(engine.ThinkRequest{}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.ThinkCall(engine.ThinkRequest{State: st, Attempt: 2, Rejected: rej}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.ReviewCall(engine.ReviewRequest{State: st, Thought: odd, Attempt: 2, Rejected: rej}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.PaintCall(engine.PaintRequest{State: st, Round: 1, Thought: odd}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.CritiqueCall(engine.CritiqueRequest{State: st, Round: 1, Thought: odd}).Request, func() any { return new(protocol.CallRequest) }},
		{rolecall.DecideCall(engine.DecideRequest{State: st, Row: 7, Thought: odd}).Request, func() any { return new(protocol.CallRequest) }},
		{engine.RunSpec{Prompt: odd, Seed: 3, Settings: st.Settings, RunID: "x"}, func() any { return new(engine.RunSpec) }},
	} {
		fast, err := e.appendRequest(nil, tc.req)
		if err != nil {
			t.Fatal(err)
		}
		slow, _ := json.Marshal(tc.req)
		a, b := tc.out(), tc.out()
		if err := json.Unmarshal(fast, a); err != nil {
			t.Fatalf("%T: %v: %s", tc.req, err, fast)
		}
		if err := json.Unmarshal(slow, b); err != nil {
			t.Fatal(err)
		}
		if r, ok := b.(*protocol.CallRequest); ok {
			r.Canvas = nil // the hand-written requests leave the canvas to the host
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("%T:\nhand-written: %s\nencoding/json: %s", tc.req, fast, slow)
		}
	}
}

// TestMessagesDecodeLikeEncodingJSON: every message the host writes
// decodes the same by hand as through encoding/json.
func TestMessagesDecodeLikeEncodingJSON(t *testing.T) {
	for _, m := range []abi.Message{
		{Type: abi.MsgDelta, Text: "red "},
		{Type: abi.MsgDelta, Text: odd},
		{Type: abi.MsgSetEnd, End: 9},
		{Type: abi.MsgRow, Row: 3, Tokens: canvas()[:16]},
		{Type: abi.MsgDone},
		{Type: abi.MsgDone, Text: "rows 0 5 : red"},
		{Type: abi.MsgDone, Critique: &protocol.CritiqueResult{Score: 40, Parsed: true, Revision: "x", Raw: "y", Tokens: 9}},
		{Type: abi.MsgDone, Critique: &protocol.CritiqueResult{}},
		{Type: abi.MsgDone, Review: &protocol.ReviewResult{Accepted: false, Reason: odd, Tokens: 7}},
		{Type: abi.MsgDone, Review: &protocol.ReviewResult{Accepted: true}},
		{Type: abi.MsgDone, Roles: &abi.Roles{Thinker: true, Critic: true, Reviewer: true}},
		{Type: abi.MsgDone, Think: true, Probability: 0.73},
		{Type: abi.MsgDone, Probability: 1e-7},
		{Type: abi.MsgDone, Roles: &abi.Roles{Thinker: true, Painter: true}},
		{Type: abi.MsgError, Message: odd},
	} {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		var got abi.Message
		if err := decodeMessage(data, &got); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s decoded as %+v", data, got)
		}
	}
}

func FuzzDecodeMessage(f *testing.F) {
	for _, s := range []string{`{"type":"delta","text":"a"}`, `{"type":"row","row":1,"tokens":[1,2]}`,
		`{"type":"done","critique":{"score":1,"parsed":true}}`, `{"type":"done","think":true,"probability":0.5}`,
		`{"type":"done","review":{"accepted":false,"reason":"no room","tokens":4}}`, `{`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var fast, slow abi.Message
		err := decodeMessage(data, &fast)
		if json.Unmarshal(data, &slow) == nil && err == nil && !reflect.DeepEqual(fast, slow) {
			t.Fatalf("%q: hand-written %+v, encoding/json %+v", data, fast, slow)
		}
	})
}
