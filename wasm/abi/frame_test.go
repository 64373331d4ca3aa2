package abi

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// fill sets every field reachable from v (a pointer) to a value that is
// not its zero, different from field to field: a frame schema that
// misses a field (say one added to a protocol type later) loses it in a
// round trip, and the round-trip tests fail naming the type.
func fill(v reflect.Value, n *int) {
	*n++
	switch v.Kind() {
	case reflect.Pointer:
		v.Set(reflect.New(v.Type().Elem()))
		fill(v.Elem(), n)
	case reflect.Struct:
		for i := range v.NumField() {
			if !v.Type().Field(i).IsExported() {
				continue // not on the wire (a native event's PNG source)
			}
			fill(v.Field(i), n)
		}
	case reflect.Uint8:
		v.SetUint(uint64(*n))
	case reflect.Int, reflect.Int64:
		v.SetInt(int64(*n) * -37) // negative too: zig-zag
	case reflect.Bool:
		v.SetBool(true)
	case reflect.Float64:
		v.SetFloat(float64(*n) + 0.1234567890123)
	case reflect.String:
		v.SetString(strings.Repeat("é\"\x00✓", *n%5+1))
	case reflect.Slice:
		s := reflect.MakeSlice(v.Type(), 3, 3)
		for i := range 3 {
			fill(s.Index(i), n)
		}
		v.Set(s)
	default:
		panic("fill: a field of kind " + v.Kind().String() + ": teach fill and the frame codec")
	}
}

func filled[T any]() *T {
	v := new(T)
	n := 0
	fill(reflect.ValueOf(v).Elem(), &n)
	return v
}

func TestEventFramesRoundTrip(t *testing.T) {
	for code := byte(1); ; code++ {
		p := newEvent(code)
		if p == nil {
			if code <= EventError {
				t.Fatalf("no payload for event code %d", code)
			}
			break
		}
		for _, form := range []string{"zero", "filled"} {
			if form == "filled" {
				n := 0
				fill(reflect.ValueOf(p).Elem(), &n)
			}
			frame, ok := AppendEvent([]byte("keep"), p)
			if !ok || string(frame[:4]) != "keep" || frame[4] != code {
				t.Fatalf("%s: AppendEvent = %q, %v", p.EventType(), frame, ok)
			}
			got, err := DecodeEvent(frame[4:])
			if err != nil {
				t.Fatalf("%s (%s): %v", p.EventType(), form, err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Errorf("%s (%s) does not round-trip: a field the frame schema misses?\n got %+v\nwant %+v", p.EventType(), form, got, p)
			}
			// Every truncation is an error, never a panic or a shorter event.
			for i := 1; i < len(frame)-4; i++ {
				if _, err := DecodeEvent(frame[4 : 4+i]); !errors.Is(err, ErrFrame) {
					t.Fatalf("%s cut to %d bytes: err = %v", p.EventType(), i, err)
				}
			}
		}
	}
}

// TestEveryEventTypeHasACode: events of every type this build's protocol
// knows travel as frames (the JSON fallback is for types newer than this
// table).
func TestEveryEventTypeHasACode(t *testing.T) {
	for _, typ := range protocol.Types() {
		ev, err := protocol.Decode([]byte(`{"v":"` + protocol.Version + `","type":"` + typ + `","run_id":"r","seq":0,"t_ms":0}`))
		if err != nil {
			t.Fatal(err)
		}
		if eventCode(ev.Payload) == 0 {
			t.Errorf("%s has no event code", typ)
		}
	}
	if _, ok := AppendEvent(nil, &protocol.Unknown{Type: "x"}); ok {
		t.Error("an unknown payload got a frame")
	}
}

// TestNilAndEmptyListsStayApart: null and [] are different JSON, so a
// frame keeps them apart (a sandboxed run's events equal a native run's).
func TestNilAndEmptyListsStayApart(t *testing.T) {
	for _, p := range []*protocol.RunDone{{}, {Tokens: []int{}, Thoughts: []string{}, Bands: []protocol.Rows{}}} {
		frame, _ := AppendEvent(nil, p)
		got, err := DecodeEvent(frame)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%#v came back as %#v (%v)", p, got, err)
		}
	}
}

func TestNumbers(t *testing.T) {
	for _, v := range []int{0, 1, -1, 63, 64, -64, -65, 127, 128, 255, 1 << 20, -(1 << 40), math.MaxInt, math.MinInt} {
		p := &protocol.BandProgress{Band: v, Tokens: []int{v, -v, v}}
		frame, _ := AppendEvent(nil, p)
		got, err := DecodeEvent(frame)
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Errorf("%d came back as %+v (%v)", v, got, err)
		}
	}
}

func TestMessageFramesRoundTrip(t *testing.T) {
	full := filled[Message]()
	for _, m := range []Message{
		{Type: MsgDelta, Text: "a thought"},
		{Type: MsgSetEnd, End: 9},
		{Type: MsgRow, Row: 3, Tokens: []int{0, 180, -1, 17}},
		{Type: MsgDone, Text: full.Text, Critique: full.Critique, Review: full.Review, Think: true,
			Probability: full.Probability, Roles: full.Roles},
		{Type: MsgDone},
		{Type: MsgError, Message: "the role failed"},
		{Type: MsgError, Message: "unknown word", Code: protocol.CodeInvalidRequest},
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 64, End: 128}, PNG: "iVBORw0KGgo=", Tokens: []int{3, 4}, Pix: []byte{1, 2, 3, 4}},
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 0, End: 768}, PNG: "iVBORw0KGgo="},
	} {
		frame := AppendMessage(nil, &m)
		var got Message
		if err := DecodeMessage(frame, &got); err != nil {
			t.Fatalf("%s: %v", m.Type, err)
		}
		if !reflect.DeepEqual(got, m) {
			t.Errorf("%s does not round-trip:\n got %+v\nwant %+v", m.Type, got, m)
		}
	}
	// The fields of each type are all the Message has: a new field must be
	// given a place in a frame.
	if n := reflect.TypeFor[Message]().NumField(); n != 15 {
		t.Errorf("Message has %d fields, the frames carry 15: teach frame.go the new one", n)
	}
	for _, bad := range [][]byte{nil, {0}, {7}, {'{'}, {msgCodeDelta}, {msgCodeDelta, 5, 'a'}, {msgCodeSetEnd, 2, 0}} {
		var m Message
		if err := DecodeMessage(bad, &m); !errors.Is(err, ErrFrame) {
			t.Errorf("DecodeMessage(%q) = %v, want ErrFrame", bad, err)
		}
	}
}

func TestRequestFramesRoundTrip(t *testing.T) {
	for _, q := range []*protocol.CallRequest{{}, filled[protocol.CallRequest]()} {
		var got protocol.CallRequest
		if err := DecodeRequest(AppendRequest(nil, q), &got); err != nil || !reflect.DeepEqual(&got, q) {
			t.Errorf("request does not round-trip (%v):\n got %+v\nwant %+v", err, got, *q)
		}
	}
	for _, s := range []*engine.RunSpec{{}, filled[engine.RunSpec]()} {
		var got engine.RunSpec
		if err := DecodeSpec(AppendSpec(nil, s), &got); err != nil || !reflect.DeepEqual(&got, s) {
			t.Errorf("spec does not round-trip (%v):\n got %+v\nwant %+v", err, got, *s)
		}
	}
	for _, in := range []*RunInput{{}, filled[RunInput]()} {
		var got RunInput
		if err := DecodeInput(AppendInput(nil, in), &got); err != nil || !reflect.DeepEqual(&got, in) {
			t.Errorf("input does not round-trip (%v):\n got %+v\nwant %+v", err, got, *in)
		}
	}
}

// TestFramesAreSmall: the point of the framing. A thought token's event
// and message, and a row's, against the JSON they replace.
func TestFramesAreSmall(t *testing.T) {
	row := make([]int, 16)
	for i := range row {
		row[i] = 100 + i
	}
	for _, p := range []protocol.Payload{
		&protocol.ThoughtDelta{Band: 1, Text: " circle"},
		&protocol.BandProgress{Band: 1, Round: 0, Row: 7, Tokens: row},
	} {
		frame, _ := AppendEvent(nil, p)
		js, _ := protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: "0123456789abcdef", Seq: 40, TMs: 12, Payload: p}.MarshalJSON()
		if len(frame)*3 > len(js) {
			t.Errorf("%s: a %d-byte frame for %d bytes of JSON", p.EventType(), len(frame), len(js))
		}
		t.Logf("%s: %d bytes, JSON %d", p.EventType(), len(frame), len(js))
	}
	m := Message{Type: MsgRow, Row: 7, Tokens: row}
	js, _ := json.Marshal(m)
	t.Logf("row message: %d bytes, JSON %d", len(AppendMessage(nil, &m)), len(js))
}

// The decoders read what a guest (events, requests) or the host (messages)
// wrote; a hostile guest writes anything. No input makes one panic or
// allocate more than its frame can hold, and what one accepts encodes back
// to a frame that decodes to the same value.

func FuzzDecodeEvent(f *testing.F) {
	for code := byte(1); newEvent(code) != nil; code++ {
		p := newEvent(code)
		frame, _ := AppendEvent(nil, p)
		f.Add(frame)
		n := 0
		fill(reflect.ValueOf(p).Elem(), &n)
		frame, _ = AppendEvent(nil, p)
		f.Add(frame)
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		p, err := DecodeEvent(frame)
		if err != nil {
			if !errors.Is(err, ErrFrame) {
				t.Fatalf("an error that does not wrap ErrFrame: %v", err)
			}
			return
		}
		// Compared as their encodings: a float may be NaN.
		again, _ := AppendEvent(nil, p)
		q, err := DecodeEvent(again)
		if err != nil {
			t.Fatalf("re-encoding %+v: %v", p, err)
		}
		if third, _ := AppendEvent(nil, q); string(third) != string(again) {
			t.Fatalf("re-encoding %+v gives %+v", p, q)
		}
	})
}

func FuzzDecodeMessage(f *testing.F) {
	full := filled[Message]()
	for _, m := range []Message{{Type: MsgDelta, Text: "x"}, {Type: MsgSetEnd, End: 4}, {Type: MsgRow, Row: 2, Tokens: []int{1, 2}},
		{Type: MsgDone, Critique: full.Critique, Review: full.Review, Roles: full.Roles}, {Type: MsgError, Message: "m"},
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 1, End: 2}, PNG: "p", Tokens: []int{1}}} {
		f.Add(AppendMessage(nil, &m))
	}
	f.Fuzz(func(t *testing.T, frame []byte) {
		var m Message
		if err := DecodeMessage(frame, &m); err != nil {
			return
		}
		var again Message
		enc := AppendMessage(nil, &m)
		if err := DecodeMessage(enc, &again); err != nil || string(AppendMessage(nil, &again)) != string(enc) {
			t.Fatalf("re-encoding %+v gives %+v (%v)", m, again, err)
		}
	})
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add(AppendRequest(nil, &protocol.CallRequest{}))
	f.Add(AppendRequest(nil, filled[protocol.CallRequest]()))
	f.Add(AppendSpec(nil, filled[engine.RunSpec]()))
	f.Add(AppendInput(nil, filled[RunInput]()))
	f.Fuzz(func(t *testing.T, frame []byte) {
		var q protocol.CallRequest
		if DecodeRequest(frame, &q) == nil {
			var again protocol.CallRequest
			if err := DecodeRequest(AppendRequest(nil, &q), &again); err != nil || !reflect.DeepEqual(q, again) {
				t.Fatalf("re-encoding %+v gives %+v (%v)", q, again, err)
			}
		}
		var s engine.RunSpec
		if DecodeSpec(frame, &s) == nil {
			var again engine.RunSpec
			if err := DecodeSpec(AppendSpec(nil, &s), &again); err != nil || s != again {
				t.Fatalf("re-encoding %+v gives %+v (%v)", s, again, err)
			}
		}
		var in RunInput
		_ = DecodeInput(frame, &in)
	})
}

// TestStripMessages: a paint call's twig/2 strips travel as strip
// messages and come back out of Call as the same call_strip.
func TestStripMessages(t *testing.T) {
	in := &protocol.CallStrip{Rows: protocol.Rows{Start: 48, End: 96}, PNG: "iVBORw0KGgo=", Tokens: []int{1, 2, 3}}
	m := StreamMessage(in)
	var got Message
	if err := DecodeMessage(AppendMessage(nil, &m), &got); err != nil {
		t.Fatal(err)
	}
	c := Call{Role: protocol.RolePaint}
	p, err := c.Add(got)
	if err != nil || !reflect.DeepEqual(p, in) {
		t.Fatalf("strip came back as %+v (%v), want %+v", p, err, in)
	}
}

// A native band_progress carries its PNG's source: AppendEvent's frame
// carries the PNG encoded from it, AppendEventNoPNG's leaves it to the host.
func TestAppendEventPNGSource(t *testing.T) {
	s := canvas.Strip{Rows: protocol.Rows{Start: 0, End: 2}, W: 3, Pix: make([]uint8, 4*3*2)}
	for i := range s.Pix {
		s.Pix[i] = uint8(i * 7)
	}
	want, err := s.Base64()
	if err != nil {
		t.Fatal(err)
	}
	ev := &protocol.BandProgress{Rows: s.Rows}
	ev.SetPNGSource(s)
	for _, tc := range []struct {
		name   string
		append func([]byte, protocol.Payload) ([]byte, bool)
		png    string
	}{{"AppendEvent", AppendEvent, want}, {"AppendEventNoPNG", AppendEventNoPNG, ""}} {
		frame, ok := tc.append(nil, ev)
		if !ok {
			t.Fatalf("%s: no frame", tc.name)
		}
		p, err := DecodeEvent(frame)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if got := p.(*protocol.BandProgress); got.PNG != tc.png || got.Rows != s.Rows {
			t.Errorf("%s: rows %v png %q, want %v %q", tc.name, got.Rows, got.PNG, s.Rows, tc.png)
		}
	}
}

// TestMessageReader: a MessageReader decodes the messages DecodeMessage
// does, a strip's pixels being the frame's own bytes and its tokens and
// rows the reader's, the same memory message after message.
func TestMessageReader(t *testing.T) {
	var r MessageReader
	var toks *int
	var rows *protocol.Rows
	for i, m := range []Message{
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 0, End: 2}, Tokens: []int{5, 6}, Pix: []byte{1, 2, 3, 4, 5, 6, 7, 8}},
		{Type: MsgDelta, Text: "x"},
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 2, End: 4}, Tokens: []int{7}, Pix: []byte{9, 10, 11, 12}},
		{Type: MsgStrip, Rows: &protocol.Rows{Start: 2, End: 4}},
	} {
		frame := AppendMessage(nil, &m)
		var lent, copied Message
		if err := r.Decode(frame, &lent); err != nil {
			t.Fatal(err)
		}
		if err := DecodeMessage(frame, &copied); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(lent, copied) || !reflect.DeepEqual(lent, m) {
			t.Fatalf("message %d: lent %+v, copied %+v, want %+v", i, lent, copied, m)
		}
		if len(m.Pix) > 0 {
			end := len(frame) - len(m.Pix)
			if &lent.Pix[0] != &frame[end] || cap(lent.Pix) != len(m.Pix) {
				t.Errorf("message %d: the reader copied the pixels (or let an append reach past them)", i)
			}
			if &copied.Pix[0] == &frame[end] {
				t.Errorf("message %d: DecodeMessage shares the frame's pixels", i)
			}
		}
		if lent.Rows != nil {
			if rows != nil && lent.Rows != rows {
				t.Errorf("message %d: new rows", i)
			}
			rows = lent.Rows
		}
		if len(lent.Tokens) > 0 {
			if toks != nil && &lent.Tokens[0] != toks {
				t.Errorf("message %d: a new token list", i)
			}
			toks = &lent.Tokens[0]
		}
	}
}
