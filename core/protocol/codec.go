package protocol

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
)

// header is the envelope as it sits on the wire.
type header struct {
	V     string `json:"v"`
	Type  string `json:"type"`
	RunID string `json:"run_id"`
	Seq   int64  `json:"seq"`
	TMs   int64  `json:"t_ms"`
}

// ErrVersion is wrapped by Decode's error for an event of another protocol version.
var ErrVersion = errors.New("unsupported protocol version")

// MarshalJSON encodes the event as one flat object: envelope, then payload.
// V is e.V when this build reads that version (an event of an old trace
// keeps it), else Version; Type is the payload's.
func (e Event) MarshalJSON() ([]byte, error) {
	if e.Payload == nil {
		return nil, errors.New("protocol: event has no payload")
	}
	if u, ok := e.Payload.(*Unknown); ok {
		return nil, fmt.Errorf("protocol: cannot encode an event of unknown type %q", u.Type)
	}
	v := Version
	if Readable(e.V) {
		v = e.V // an event read from an old trace stays in its version
	}
	h, err := json.Marshal(header{V: v, Type: e.Payload.EventType(), RunID: e.RunID, Seq: e.Seq, TMs: e.TMs})
	if err != nil {
		return nil, err
	}
	p, err := json.Marshal(e.Payload)
	if err != nil {
		return nil, fmt.Errorf("protocol: encode %s: %w", e.Payload.EventType(), err)
	}
	if len(p) <= 2 { // "{}"
		return h, nil
	}
	out := make([]byte, 0, len(h)+len(p))
	out = append(out, h[:len(h)-1]...)
	out = append(out, ',')
	return append(out, p[1:]...), nil
}

// UnmarshalJSON decodes like Decode.
func (e *Event) UnmarshalJSON(b []byte) error {
	ev, err := Decode(b)
	if err != nil {
		return err
	}
	*e = ev
	return nil
}

// Decode parses one event. Unknown fields are ignored; an event of an unknown
// type decodes with an *Unknown payload; a protocol version this build does
// not read (Readable) is an error wrapping ErrVersion. Event.V keeps the
// version read: rows are pixel rows in twig/2, token rows in twig/1.
func Decode(b []byte) (Event, error) {
	var h header
	if err := json.Unmarshal(b, &h); err != nil {
		return Event{}, fmt.Errorf("protocol: not a twig event: %w", err)
	}
	if !Readable(h.V) {
		if h.V == "" {
			return Event{}, fmt.Errorf("protocol: event has no \"v\" field: %w (want %q)", ErrVersion, Version)
		}
		return Event{}, fmt.Errorf("protocol: event speaks %q, this build reads %q and %q: %w; use a twig build of that protocol version", h.V, Version1, Version2, ErrVersion)
	}
	if h.Type == "" {
		return Event{}, errors.New("protocol: event has no \"type\" field")
	}
	ev := Event{V: h.V, Type: h.Type, RunID: h.RunID, Seq: h.Seq, TMs: h.TMs}
	p := newPayload(h.Type)
	if p == nil {
		ev.Payload = &Unknown{Type: h.Type, Raw: bytes.Clone(b)}
		return ev, nil
	}
	if err := json.Unmarshal(b, p); err != nil {
		return Event{}, fmt.Errorf("protocol: bad %s event: %w", h.Type, err)
	}
	// An empty list and none mean the same for the fields that are left
	// out when empty: one form keeps an event equal to itself after a
	// round trip.
	switch e := p.(type) {
	case *RunStarted:
		if len(e.Plan) == 0 {
			e.Plan = nil // no plan: adaptive
		}
	case *BandProgress:
		if len(e.Tokens) == 0 {
			e.Tokens = nil
		}
		if e.Rows.End != 0 { // the twig/2 form: twig/1's fields do not travel with it
			e.Row, e.Pixels = 0, nil
		}
	case *RunDone:
		if len(e.Tokens) == 0 {
			e.Tokens = nil
		}
	case *CallStrip:
		if len(e.Tokens) == 0 {
			e.Tokens = nil
		}
	}
	ev.Payload = p
	return ev, nil
}

// Writer writes events as JSONL: one event a line.
type Writer struct {
	w io.Writer
}

// NewWriter returns a Writer on w; it does not buffer.
func NewWriter(w io.Writer) *Writer { return &Writer{w: w} }

// Write encodes one event and a newline.
func (w *Writer) Write(e Event) error {
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	b = append(b, '\n')
	_, err = w.w.Write(b)
	return err
}

// MaxLineBytes is the longest event line a Reader accepts: room for a
// run_done carrying a 2048×2048 photograph's PNG (a 1024×1024 one is 1–3
// MB in base64). The Reader's buffer grows only as long lines come.
const MaxLineBytes = 16 << 20

// Reader reads a JSONL stream of events. Blank lines are skipped.
type Reader struct {
	s    *bufio.Scanner
	line int
}

// NewReader returns a Reader on r.
func NewReader(r io.Reader) *Reader {
	s := bufio.NewScanner(r)
	s.Buffer(make([]byte, 64<<10), MaxLineBytes)
	return &Reader{s: s}
}

// Next returns the next event, or io.EOF after the last. Errors name the line.
func (r *Reader) Next() (Event, error) {
	for r.s.Scan() {
		r.line++
		b := bytes.TrimSpace(r.s.Bytes())
		if len(b) == 0 {
			continue
		}
		ev, err := Decode(b)
		if err != nil {
			return Event{}, fmt.Errorf("line %d: %w", r.line, err)
		}
		return ev, nil
	}
	if err := r.s.Err(); err != nil {
		return Event{}, fmt.Errorf("line %d: %w", r.line+1, err)
	}
	return Event{}, io.EOF
}

// ReadAll reads every event of a JSONL stream.
func ReadAll(r io.Reader) ([]Event, error) {
	var out []Event
	rd := NewReader(r)
	for {
		ev, err := rd.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}
