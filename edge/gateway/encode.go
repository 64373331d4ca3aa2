package gateway

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/twig-project/twig/core/protocol"
)

// eventEncoder writes events as the bytes protocol.Event.MarshalJSON gives,
// into buffers it reuses: the envelope by hand, the payload through one
// json.Encoder. json.Marshal of an Event costs three allocations and a
// second pass that validates and compacts MarshalJSON's output; at one event
// a thought token that was most of the writer's CPU. Not safe for
// concurrent use: one per writer.
type eventEncoder struct {
	buf bytes.Buffer // the payload, as the json.Encoder wrote it
	enc *json.Encoder
}

func newEventEncoder() *eventEncoder {
	e := &eventEncoder{}
	e.enc = json.NewEncoder(&e.buf) // escapes <, > and & like json.Marshal
	return e
}

// appendEvent appends ev's JSON to dst.
func (e *eventEncoder) appendEvent(dst []byte, ev protocol.Event) ([]byte, error) {
	if ev.Payload == nil {
		return dst, errors.New("protocol: event has no payload")
	}
	if u, ok := ev.Payload.(*protocol.Unknown); ok {
		return dst, fmt.Errorf("protocol: cannot encode an event of unknown type %q", u.Type)
	}
	e.buf.Reset()
	if err := e.enc.Encode(ev.Payload); err != nil {
		return dst, fmt.Errorf("protocol: encode %s: %w", ev.Payload.EventType(), err)
	}
	p := bytes.TrimSuffix(e.buf.Bytes(), []byte{'\n'})
	if len(p) < 2 || p[0] != '{' {
		return dst, fmt.Errorf("protocol: encode %s: the payload is not a JSON object", ev.Payload.EventType())
	}
	v := protocol.Version
	if protocol.Readable(ev.V) {
		v = ev.V // as MarshalJSON: an event of an old trace keeps its version
	}
	dst = append(dst, `{"v":`...)
	dst = appendJSONString(dst, v)
	dst = append(dst, `,"type":`...)
	dst = appendJSONString(dst, ev.Payload.EventType())
	dst = append(dst, `,"run_id":`...)
	dst = appendJSONString(dst, ev.RunID)
	dst = append(dst, `,"seq":`...)
	dst = strconv.AppendInt(dst, ev.Seq, 10)
	dst = append(dst, `,"t_ms":`...)
	dst = strconv.AppendInt(dst, ev.TMs, 10)
	if len(p) == 2 { // "{}"
		return append(dst, '}'), nil
	}
	dst = append(dst, ',')
	return append(dst, p[1:]...), nil
}

// appendJSONString appends s quoted as json.Marshal quotes it: plain
// printable ASCII is copied, anything else goes through encoding/json.
func appendJSONString(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			b, _ := json.Marshal(s) // a string always encodes
			return append(dst, b...)
		}
	}
	dst = append(dst, '"')
	dst = append(dst, s...)
	return append(dst, '"')
}
