package protocol_test

import (
	"encoding/json"
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

// messageExamples are the client messages docs/PROTOCOL.md shows.
func messageExamples() []protocol.Message {
	s := protocol.DefaultSettings()
	s.Seed = 1
	canvas := make([]int, 256)
	for i := 96; i < 256; i++ {
		canvas[i] = -1
	}
	return []protocol.Message{
		{ID: "r1", Body: &protocol.Start{Prompt: "a red circle above a blue square", Settings: s}},
		{ID: "r1", Body: &protocol.Cancel{}},
		{ID: "c7", Body: &protocol.Call{Role: protocol.RoleThink, Request: protocol.CallRequest{Prompt: "a red circle above a blue square",
			Settings: s, Band: 1, Rows: protocol.Rows{Start: 6, End: 11}, Thoughts: []string{"rows 0 5 : new small solid red circle at 1 6"}, Canvas: canvas}}},
		{ID: "c8", Body: &protocol.Call{Role: protocol.RoleCritique, Request: protocol.CallRequest{Prompt: "a lighthouse at dusk",
			Settings: s, Band: 0, Rows: protocol.Rows{Start: 0, End: 96}, Thoughts: []string{}, Width: 256, Height: 256, Grid: 16,
			Canvas: canvas, CanvasPNG: "data:image/png;base64,iVBORw0KGgo=", Thought: "the sky"}}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	for _, m := range messageExamples() {
		b, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		got, err := protocol.DecodeMessage(b)
		if err != nil {
			t.Fatalf("%s: %v", b, err)
		}
		m.V, m.Type = protocol.Version, m.Body.MessageType()
		if !reflect.DeepEqual(got, m) {
			t.Fatalf("round trip changed %s:\n%+v\n%+v", b, got, m)
		}
	}
}

func TestDecodeMessageDefaults(t *testing.T) {
	m, err := protocol.DecodeMessage([]byte(`{"v":"twig/2","type":"start","id":"a","prompt":"a red circle","settings":{"seed":5}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := protocol.DefaultSettings()
	want.Seed = 5
	if got := m.Body.(*protocol.Start).Settings; got != want {
		t.Fatalf("settings %+v, want %+v", got, want)
	}
	m, err = protocol.DecodeMessage([]byte(`{"v":"twig/2","type":"call","id":"c","role":"paint","request":{"prompt":"a red circle","rows":{"start":0,"end":6}}}`))
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Body.(*protocol.Call).Request.Settings; got != protocol.DefaultSettings() {
		t.Fatalf("call settings %+v, want the defaults", got)
	}
}

func TestDecodeMessageErrors(t *testing.T) {
	for _, tc := range []struct{ msg, code, id, says string }{
		{`nope`, protocol.CodeBadMessage, "", "not a JSON object"},
		{`{"type":"start","id":"a"}`, protocol.CodeBadVersion, "a", `no "v"`},
		{`{"v":"twig/9","type":"start","id":"a"}`, protocol.CodeBadVersion, "a", "twig/9"},
		{`{"v":"twig/2","id":"a"}`, protocol.CodeBadMessage, "a", `no "type"`},
		{`{"v":"twig/2","type":"go","id":"a"}`, protocol.CodeUnknownType, "a", "unknown message type"},
		{`{"v":"twig/2","type":"hello","id":"a"}`, protocol.CodeUnknownType, "a", "server event"},
		{`{"v":"twig/2","type":"start","id":""}`, protocol.CodeBadMessage, "", `no "id"`},
		{`{"v":"twig/2","type":"start","id":"` + strings.Repeat("x", 65) + `"}`, protocol.CodeBadMessage, "", "over the limit"},
		{`{"v":"twig/2","type":"start","id":"a","prompt":"p","extra":1}`, protocol.CodeBadMessage, "a", "extra"},
		{`{"v":"twig/2","type":"start","id":"a","prompt":"p","settings":{"bands":99}}`, protocol.CodeInvalidRequest, "a", "bands 99"},
		{`{"v":"twig/2","type":"start","id":"a","prompt":"p","settings":{"band":3}}`, protocol.CodeBadMessage, "a", "band"},
		{`{"v":"twig/2","type":"start","id":"a","prompt":"p"} {}`, protocol.CodeBadMessage, "", "not a JSON object"},
		{`{"v":"twig/2","type":"cancel","id":"a","prompt":"p"}`, protocol.CodeBadMessage, "a", "prompt"},
		{`{"v":"twig/2","type":"call","id":"a","role":"think","request":{"prompt":"p"}}`, protocol.CodeInvalidRequest, "a", "rows"},
		{`{"v":"twig/2","type":"call","id":"a","role":"sing","request":{"prompt":"p","rows":{"start":0,"end":1}}}`, protocol.CodeInvalidRequest, "a", "sing"},
	} {
		_, err := protocol.DecodeMessage([]byte(tc.msg))
		me, ok := errors.AsType[*protocol.MessageError](err)
		if !ok || me.Code != tc.code || me.ID != tc.id || !strings.Contains(me.Msg, tc.says) {
			t.Errorf("%s: got %v (%+v), want %s with id %q saying %q", tc.msg, err, me, tc.code, tc.id, tc.says)
		}
	}
}

func TestDecodeSettings(t *testing.T) {
	s, err := protocol.DecodeSettings(nil)
	if err != nil || s != protocol.DefaultSettings() {
		t.Fatalf("empty: %+v %v", s, err)
	}
	if _, err := protocol.DecodeSettings([]byte(`{"thresh":1}`)); err == nil {
		t.Fatal("unknown field accepted")
	}
	if _, err := protocol.DecodeSettings([]byte(`{"threshold":101}`)); err == nil {
		t.Fatal("out of range accepted")
	}
}

// FuzzDecodeMessage: DecodeMessage never panics; what it refuses is a
// *MessageError with a known code; what it accepts re-encodes to a message
// that decodes to the same.
func FuzzDecodeMessage(f *testing.F) {
	for _, m := range messageExamples() {
		b, _ := json.Marshal(m)
		f.Add(b)
	}
	codes := []string{protocol.CodeBadMessage, protocol.CodeBadVersion, protocol.CodeUnknownType, protocol.CodeInvalidRequest}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := protocol.DecodeMessage(b)
		if err != nil {
			me, ok := errors.AsType[*protocol.MessageError](err)
			if !ok || !slices.Contains(codes, me.Code) || me.Msg == "" {
				t.Fatalf("%q: error %v is not a MessageError with a known code", b, err)
			}
			return
		}
		out, err := json.Marshal(m)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode it: %v", b, err)
		}
		back, err := protocol.DecodeMessage(out)
		if err != nil {
			t.Fatalf("re-encoded %s does not decode: %v", out, err)
		}
		if !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip changed the message:\n%s\n%s", b, out)
		}
	})
}
