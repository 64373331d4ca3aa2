package protocol_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

// stripPNG stands for a strip's base64 PNG in the examples (the protocol
// carries it as a string; package canvas decodes it).
const stripPNG = "iVBORw0KGgoAAAANSUhEUgAAAQAAAAAQCAYAAAB…"

// examples holds one event of every type, as documented in docs/PROTOCOL.md (twig/2).
func examples() []protocol.Event {
	s := protocol.DefaultSettings()
	s.Bands, s.Seed = 3, 1
	row := []int{0, 0, 0, 0, 0, 0, 37, 41, 41, 38, 0, 0, 0, 0, 0, 0}
	final := make([]int, 256)
	copy(final[48:], row)
	ev := func(seq int64, ms int64, p protocol.Payload) protocol.Event {
		return protocol.Event{V: protocol.Version2, Type: p.EventType(), RunID: "5f3a9c0e12b4d678", Seq: seq, TMs: ms, Payload: p}
	}
	band0 := protocol.Rows{Start: 0, End: 96}
	plan := []protocol.Rows{band0, {Start: 96, End: 176}, {Start: 176, End: 256}}
	return []protocol.Event{
		ev(0, 0, &protocol.RunStarted{Prompt: "a red circle above a blue square", Settings: s, Backend: "twig-tiny", Grid: 16,
			Plan: plan, Width: 256, Height: 256}),
		ev(1, 0, &protocol.ThinkDecision{Row: 80, Think: true, Probability: 0.83, Source: "decider"}),
		ev(2, 0, &protocol.BandStarted{Band: 0, Rows: band0}),
		ev(3, 4, &protocol.ThoughtDelta{Band: 0, Text: "top: "}),
		ev(4, 31, &protocol.ThoughtDone{Band: 0, Text: "top: new red circle center", Tokens: 5}),
		ev(5, 33, &protocol.PlanReview{Band: 0, Attempt: 0, Accepted: false, Reason: "blue square not below red circle",
			Thought: "rows 0 5 : new small solid blue square at 1 4 ; new small solid red circle at 2 9", Tokens: 9, POk: 0.12}),
		ev(6, 35, &protocol.BandProgress{Band: 0, Round: 0, Rows: protocol.Rows{Start: 48, End: 64}, PNG: stripPNG, Tokens: row}),
		ev(7, 60, &protocol.BandDone{Band: 0, Round: 0, Rows: band0}),
		ev(8, 66, &protocol.Critique{Band: 0, Round: 0, Rows: band0, Score: 40, Parsed: true,
			Revision: "top: new red circle left", Verdict: protocol.VerdictRedraw, Reason: protocol.ReasonBelowThreshold, Raw: "40 | top: new red circle left"}),
		ev(9, 66, &protocol.BandRedrawn{Band: 0, Round: 1, Rows: band0, Thought: "top: new red circle left"}),
		ev(10, 70, &protocol.BudgetExhausted{Budget: protocol.BudgetThoughtTokens, Limit: 64, Band: 2,
			Action: "the thought was cut short; later bands are drawn without thoughts"}),
		ev(11, 240, &protocol.RunDone{PNG: stripPNG, Tokens: final, Thoughts: []string{"top: new red circle left", "middle: cont red circle left", "bottom: new blue square right"},
			Bands: plan,
			Stats: protocol.Stats{Bands: 3, ThoughtTokens: 17, ImageTokens: 352, PixelRows: 352, Critiques: 4, Revisions: 1, PlanReviews: 4, PlanRejections: 1, ReviewTokens: 18,
				Timings: protocol.Timings{ThinkMs: 60, PaintMs: 150, CritiqueMs: 20, TotalMs: 240}}}),
		ev(12, 12, &protocol.Error{Code: protocol.CodeCanceled, Message: "engine: band 1: run cancelled while painting: context canceled"}),
	}
}

// v1Lines are twig/1 events as twig/1 builds wrote them (docs/PROTOCOL.md
// before twig/2): old traces still decode, keep their version and their
// twig/1 fields, and re-encode byte for byte.
var v1Lines = []string{
	`{"v":"twig/1","type":"run_started","run_id":"5f3a9c0e12b4d678","seq":0,"t_ms":0,"prompt":"a red circle above a blue square","settings":{"bands":3,"adaptive":false,"think":true,"reflect":true,"threshold":90,"max_revisions":1,"max_thought_tokens":0,"max_revisions_total":0,"seed":1,"plan_attempts":3},"backend":"twig-tiny","grid":16,"plan":[{"start":0,"end":6},{"start":6,"end":11},{"start":11,"end":16}]}`,
	`{"v":"twig/1","type":"band_progress","run_id":"5f3a9c0e12b4d678","seq":6,"t_ms":35,"band":0,"round":0,"row":3,"tokens":[0,0,0,0,0,0,37,41,41,38,0,0,0,0,0,0]}`,
	`{"v":"twig/1","type":"band_progress","run_id":"5f3a9c0e12b4d678","seq":6,"t_ms":35,"band":0,"round":0,"row":2,"tokens":[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1],"pixels":{"start":128,"end":192},"png":"iVBORw0KGgo="}`,
	`{"v":"twig/1","type":"run_done","run_id":"5f3a9c0e12b4d678","seq":11,"t_ms":240,"tokens":[0,1],"thoughts":["a"],"bands":[{"start":0,"end":16}],"stats":{"bands":1,"thought_tokens":1,"image_tokens":256,"critiques":0,"unparsed":0,"revisions":0,"timings":{"think_ms":0,"paint_ms":0,"critique_ms":0,"decide_ms":0,"total_ms":0}}}`,
}

// TestReadsTwig1: twig/1 lines decode with their version and fields.
func TestReadsTwig1(t *testing.T) {
	for _, l := range v1Lines {
		ev, err := protocol.Decode([]byte(l))
		if err != nil {
			t.Fatalf("%s: %v", l, err)
		}
		if ev.V != protocol.Version1 {
			t.Errorf("%s decoded as %q", l, ev.V)
		}
		if p, ok := ev.Payload.(*protocol.BandProgress); ok && (len(p.Tokens) != 16 || p.Row == 0 && p.Tokens[6] != 37) {
			t.Errorf("%s decoded as %+v", l, p)
		}
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != l {
			t.Errorf("%s: re-encoded as %s", l, b)
		}
	}
}

func TestExamplesCoverEveryType(t *testing.T) {
	var got []string
	for _, ev := range examples() {
		got = append(got, ev.Type)
	}
	if !slices.Equal(got, protocol.Types()) {
		t.Errorf("examples %v, want every type %v", got, protocol.Types())
	}
}

func TestRoundTrip(t *testing.T) {
	for _, ev := range examples() {
		b, err := json.Marshal(ev)
		if err != nil {
			t.Fatal(err)
		}
		back, err := protocol.Decode(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		if !reflect.DeepEqual(back, ev) {
			t.Errorf("round trip of %s\n got %+v\nwant %+v", b, back.Payload, ev.Payload)
		}
		if !bytes.HasPrefix(b, []byte(`{"v":"twig/2","type":"`+ev.Type+`",`)) {
			t.Errorf("%s does not begin with v and type", b)
		}
	}
}

// TestPayloadFieldsDoNotShadowEnvelope: a flat encoding needs disjoint names.
func TestPayloadFieldsDoNotShadowEnvelope(t *testing.T) {
	for _, ev := range examples() {
		b, _ := json.Marshal(ev.Payload)
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"v", "type", "run_id", "seq", "t_ms"} {
			if _, ok := m[k]; ok {
				t.Errorf("%s payload has the envelope field %q", ev.Type, k)
			}
		}
	}
}

func TestDecodeTolerance(t *testing.T) {
	// Unknown fields are ignored.
	ev, err := protocol.Decode([]byte(`{"v":"twig/1","type":"thought_delta","run_id":"r","seq":3,"t_ms":1,"band":2,"text":"hi","mood":"calm","extra":{"a":[1]}}`))
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := ev.Payload.(*protocol.ThoughtDelta); !ok || d.Band != 2 || d.Text != "hi" || ev.Seq != 3 {
		t.Errorf("decoded %+v %+v", ev, ev.Payload)
	}
	// Unknown types decode as *Unknown.
	ev, err = protocol.Decode([]byte(`{"v":"twig/1","type":"hologram","run_id":"r","seq":4}`))
	if u, ok := ev.Payload.(*protocol.Unknown); err != nil || !ok || u.Type != "hologram" || len(u.Raw) == 0 {
		t.Errorf("unknown type: %v %+v", err, ev.Payload)
	}
	// Settings left out keep their defaults.
	ev, err = protocol.Decode([]byte(`{"v":"twig/1","type":"run_started","run_id":"r","seq":0,"prompt":"p","settings":{"bands":4}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.DefaultSettings()
	want.Bands = 4
	if got := ev.Payload.(*protocol.RunStarted).Settings; got != want {
		t.Errorf("settings %+v, want %+v", got, want)
	}
}

func TestDecodeRejects(t *testing.T) {
	for _, tc := range []struct {
		line, msg string
		version   bool
	}{
		{`{"v":"twig/9","type":"thought_delta"}`, `speaks "twig/9", this build reads "twig/1" and "twig/2"`, true},
		{`{"type":"thought_delta"}`, `no "v" field`, true},
		{`{"v":"twig/1"}`, `no "type" field`, false},
		{`{"v":"twig/1","type":"thought_delta","band":"two"}`, "bad thought_delta event", false},
		{`[1,2]`, "not a twig event", false},
		{`{"v":`, "not a twig event", false},
	} {
		_, err := protocol.Decode([]byte(tc.line))
		if err == nil || !strings.Contains(err.Error(), tc.msg) || errors.Is(err, protocol.ErrVersion) != tc.version {
			t.Errorf("%s: err %v, want %q (version %v)", tc.line, err, tc.msg, tc.version)
		}
	}
}

func TestEncodeRejects(t *testing.T) {
	if _, err := json.Marshal(protocol.Event{}); err == nil {
		t.Error("an event without payload encoded")
	}
	if _, err := json.Marshal(protocol.Event{Payload: &protocol.Unknown{Type: "x"}}); err == nil {
		t.Error("an unknown event encoded")
	}
}

func TestJSONL(t *testing.T) {
	var buf bytes.Buffer
	w := protocol.NewWriter(&buf)
	for _, ev := range examples() {
		if err := w.Write(ev); err != nil {
			t.Fatal(err)
		}
	}
	if n := bytes.Count(buf.Bytes(), []byte("\n")); n != len(examples()) {
		t.Fatalf("%d lines", n)
	}
	in := "\n" + buf.String() + "\n  \n"
	got, err := protocol.ReadAll(strings.NewReader(in))
	if err != nil || !reflect.DeepEqual(got, examples()) {
		t.Fatalf("read back %d events: %v", len(got), err)
	}
	r := protocol.NewReader(strings.NewReader(buf.String() + `{"v":"twig/9","type":"x"}` + "\n"))
	for range examples() {
		if _, err := r.Next(); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), fmt.Sprintf("line %d", len(examples())+1)) {
		t.Errorf("bad line: %v", err)
	}
	if _, err := protocol.NewReader(strings.NewReader("")).Next(); err != io.EOF {
		t.Errorf("empty stream: %v", err)
	}
}

func TestSettingsValidate(t *testing.T) {
	if err := protocol.DefaultSettings().Validate(); err != nil {
		t.Fatal(err)
	}
	for _, mod := range []func(*protocol.Settings){
		func(s *protocol.Settings) { s.Bands = -1 },
		func(s *protocol.Settings) { s.Bands = 17 },
		func(s *protocol.Settings) { s.Threshold = 101 },
		func(s *protocol.Settings) { s.Threshold = -1 },
		func(s *protocol.Settings) { s.MaxRevisions = -1 },
		func(s *protocol.Settings) { s.MaxThoughtTokens = -1 },
		func(s *protocol.Settings) { s.MaxRevisionsTotal = -1 },
	} {
		s := protocol.DefaultSettings()
		mod(&s)
		if s.Validate() == nil {
			t.Errorf("%+v validated", s)
		}
	}
}

// TestDocs checks docs/PROTOCOL.md: one example line per event type, each
// byte-identical to what this build encodes for it.
func TestDocs(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	lines := regexp.MustCompile(`(?m)^\{"v":"twig/2".*\}$`).FindAll(doc, -1)
	byType := map[string][]byte{}
	for _, l := range lines {
		ev, err := protocol.Decode(l)
		if err != nil {
			t.Errorf("docs line %s: %v", l, err)
			continue
		}
		byType[ev.Type] = l
	}
	for _, ev := range examples() {
		want, _ := json.Marshal(ev)
		if got := byType[ev.Type]; !bytes.Equal(got, want) {
			t.Errorf("docs/PROTOCOL.md example of %s is\n%s\nwant\n%s", ev.Type, got, want)
		}
		if !bytes.Contains(doc, []byte("### "+ev.Type)) {
			t.Errorf("docs/PROTOCOL.md has no section ### %s", ev.Type)
		}
	}
}
