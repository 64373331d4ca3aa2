package abi

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// ABI 2 carries every message in a compact binary framing instead of JSON:
// parsing and writing JSON was most of what a guest's code did per token
// in wasm, and decoding it most of the host's share. A frame is a code byte
// (what follows) and the fields of that kind in a fixed order, each field
// one of:
//
//	int, int64   signed LEB128 varint, zig-zag (encoding/binary's AppendVarint)
//	bool         one byte, 0 or 1
//	float64      8 bytes, IEEE 754 bits little-endian
//	string       uvarint length, then the bytes (as they are: not checked for UTF-8)
//	list         uvarint count+1 (0 = null, 1 = empty), then the elements
//	optional     one byte, 0 absent or 1 present, then the value
//	rows         int start, int end
//
// docs/SANDBOX.md lists each frame's fields. Every field is written
// whether or not it is zero, so a frame decodes to exactly the value that
// was encoded; the one schema per kind below is used in both directions,
// so the two cannot drift apart.

// Event codes: the first byte of a binary event frame (emit_event, ABI 2).
// A frame whose first byte is '{' is a JSON event instead (any type, e.g.
// one newer than this table).
const (
	EventRunStarted      = 1
	EventThinkDecision   = 2
	EventBandStarted     = 3
	EventThoughtDelta    = 4
	EventThoughtDone     = 5
	EventBandProgress    = 6
	EventBandDone        = 7
	EventCritique        = 8
	EventBandRedrawn     = 9
	EventPlanReview      = 10
	EventBudgetExhausted = 11
	EventRunDone         = 12
	EventError           = 13
)

// Message codes: the first byte of a binary role message (ABI 2).
const (
	msgCodeDelta  = 1
	msgCodeSetEnd = 2
	msgCodeRow    = 3
	msgCodeDone   = 4
	msgCodeError  = 5
	msgCodeStrip  = 6
)

// ErrFrame is wrapped by every error of a frame that does not decode.
var ErrFrame = errors.New("abi: bad frame")

// codec writes (dec false: appends to buf) or reads (dec true: from buf at
// off) the fields of a frame: one method per field kind, so that a kind's
// schema is one function used both ways.
type codec struct {
	buf []byte
	off int
	dec bool
	// lend, when decoding (MessageReader): byte strings share buf, and
	// token lists and rows are read into lend's storage.
	lend *MessageReader
	err  error
}

func (c *codec) fail(what string) {
	if c.err == nil {
		c.err = fmt.Errorf("%w: %s at byte %d of %d", ErrFrame, what, c.off, len(c.buf))
	}
	c.off = len(c.buf) // stop reading
}

func (c *codec) varint() int64 {
	v, n := binary.Varint(c.buf[c.off:])
	if n <= 0 {
		c.fail("a truncated or overlong number")
		return 0
	}
	c.off += n
	return v
}

func (c *codec) uvarint() uint64 {
	v, n := binary.Uvarint(c.buf[c.off:])
	if n <= 0 {
		c.fail("a truncated or overlong length")
		return 0
	}
	c.off += n
	return v
}

func (c *codec) int(p *int) {
	if !c.dec {
		c.buf = binary.AppendVarint(c.buf, int64(*p))
		return
	}
	v := c.varint()
	if int64(int(v)) != v {
		c.fail("a number out of range")
	}
	*p = int(v)
}

func (c *codec) int64(p *int64) {
	if !c.dec {
		c.buf = binary.AppendVarint(c.buf, *p)
		return
	}
	*p = c.varint()
}

func (c *codec) bool(p *bool) {
	if !c.dec {
		b := byte(0)
		if *p {
			b = 1
		}
		c.buf = append(c.buf, b)
		return
	}
	if c.off >= len(c.buf) || c.buf[c.off] > 1 {
		c.fail("a bool that is not 0 or 1")
		return
	}
	*p = c.buf[c.off] == 1
	c.off++
}

func (c *codec) float(p *float64) {
	if !c.dec {
		c.buf = binary.LittleEndian.AppendUint64(c.buf, math.Float64bits(*p))
		return
	}
	if len(c.buf)-c.off < 8 {
		c.fail("a truncated float")
		return
	}
	*p = math.Float64frombits(binary.LittleEndian.Uint64(c.buf[c.off:]))
	c.off += 8
}

func (c *codec) str(p *string) {
	if !c.dec {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(*p)))
		c.buf = append(c.buf, *p...)
		return
	}
	n := c.uvarint()
	if n > uint64(len(c.buf)-c.off) {
		c.fail("a string longer than the frame")
		return
	}
	*p = string(c.buf[c.off : c.off+int(n)])
	c.off += int(n)
}

// bytes writes or reads a byte string (as a string field: its length,
// then the bytes; empty reads as nil).
func (c *codec) bytes(p *[]byte) {
	if !c.dec {
		c.buf = binary.AppendUvarint(c.buf, uint64(len(*p)))
		c.buf = append(c.buf, *p...)
		return
	}
	n := c.uvarint()
	if n > uint64(len(c.buf)-c.off) {
		c.fail("a byte string longer than the frame")
		return
	}
	switch {
	case n == 0:
		*p = nil
	case c.lend != nil:
		*p = c.buf[c.off : c.off+int(n) : c.off+int(n)]
	default:
		*p = append([]byte(nil), c.buf[c.off:c.off+int(n)]...)
	}
	c.off += int(n)
}

// count writes a list's length (nil apart from empty) or reads it; each
// element takes at least min bytes, so a count the rest of the frame
// cannot hold is refused before anything is allocated. It returns -1 for
// null.
func (c *codec) count(n int, null bool, min int) int {
	if !c.dec {
		if null {
			c.buf = append(c.buf, 0)
		} else {
			c.buf = binary.AppendUvarint(c.buf, uint64(n)+1)
		}
		return n
	}
	v := c.uvarint()
	if v == 0 || c.err != nil {
		return -1
	}
	if v-1 > uint64((len(c.buf)-c.off)/min) {
		c.fail("a list longer than the frame")
		return -1
	}
	return int(v - 1)
}

// ints writes or reads a list of ints. The loops are written out, not a
// call of int per element: a call costs more than the number in a wasm
// guest, and token lists are most of a run's numbers.
func (c *codec) ints(p *[]int) {
	n := c.count(len(*p), *p == nil, 1)
	if !c.dec {
		b := c.buf
		for _, v := range *p {
			u := uint64(v<<1) ^ uint64(v>>63) // zig-zag
			for u >= 0x80 {
				b = append(b, byte(u)|0x80)
				u >>= 7
			}
			b = append(b, byte(u))
		}
		c.buf = b
		return
	}
	if n < 0 {
		*p = nil
		return
	}
	var v []int
	if l := c.lend; l != nil {
		if cap(l.tokens) < n {
			l.tokens = make([]int, n)
		}
		v = l.tokens[:n:n]
	} else {
		v = make([]int, n)
	}
	b, off := c.buf, c.off
	for i := range v {
		var u uint64
		for shift := uint(0); ; shift += 7 {
			if off >= len(b) || shift > 63 {
				c.off = off
				c.fail("a truncated or overlong number")
				*p = nil
				return
			}
			x := b[off]
			off++
			u |= uint64(x&0x7f) << shift
			if x < 0x80 {
				break
			}
		}
		s := int64(u>>1) ^ -int64(u&1)
		if int64(int(s)) != s {
			c.off = off
			c.fail("a number out of range")
			*p = nil
			return
		}
		v[i] = int(s)
	}
	c.off = off
	*p = v
}

func (c *codec) strs(p *[]string) {
	n := c.count(len(*p), *p == nil, 1)
	if c.dec {
		if n < 0 {
			*p = nil
			return
		}
		*p = make([]string, n)
	}
	for i := range n {
		c.str(&(*p)[i])
	}
}

func (c *codec) rows(p *protocol.Rows) {
	c.int(&p.Start)
	c.int(&p.End)
}

func (c *codec) rowsList(p *[]protocol.Rows) {
	n := c.count(len(*p), *p == nil, 2)
	if c.dec {
		if n < 0 {
			*p = nil
			return
		}
		*p = make([]protocol.Rows, n)
	}
	for i := range n {
		c.rows(&(*p)[i])
	}
}

// optional writes or reads whether *p is set; reading a set one allocates it.
func optional[T any](c *codec, p **T) bool {
	has := *p != nil
	c.bool(&has)
	if c.dec {
		if !has || c.err != nil {
			*p = nil
			return false
		}
		*p = new(T)
	}
	return has
}

func (c *codec) settings(s *protocol.Settings) {
	c.int(&s.Bands)
	c.bool(&s.Adaptive)
	c.bool(&s.Think)
	c.bool(&s.Reflect)
	c.int(&s.Threshold)
	c.int(&s.MaxRevisions)
	c.int(&s.MaxThoughtTokens)
	c.int(&s.MaxRevisionsTotal)
	c.int64(&s.Seed)
	c.int(&s.PlanAttempts)
	c.int(&s.PlanCandidates)
}

// end checks a decoded frame was read to its last byte.
func (c *codec) end() error {
	if c.err == nil && c.off != len(c.buf) {
		c.fail(fmt.Sprintf("%d bytes after the last field", len(c.buf)-c.off))
	}
	return c.err
}

// --- events -------------------------------------------------------------

// eventCode is the code of a payload's binary frame, or 0 when it has none.
func eventCode(p protocol.Payload) byte {
	switch p.(type) {
	case *protocol.RunStarted:
		return EventRunStarted
	case *protocol.ThinkDecision:
		return EventThinkDecision
	case *protocol.BandStarted:
		return EventBandStarted
	case *protocol.ThoughtDelta:
		return EventThoughtDelta
	case *protocol.ThoughtDone:
		return EventThoughtDone
	case *protocol.BandProgress:
		return EventBandProgress
	case *protocol.BandDone:
		return EventBandDone
	case *protocol.Critique:
		return EventCritique
	case *protocol.BandRedrawn:
		return EventBandRedrawn
	case *protocol.PlanReview:
		return EventPlanReview
	case *protocol.BudgetExhausted:
		return EventBudgetExhausted
	case *protocol.RunDone:
		return EventRunDone
	case *protocol.Error:
		return EventError
	}
	return 0
}

// newEvent is an empty payload of a code, or nil.
func newEvent(code byte) protocol.Payload {
	switch code {
	case EventRunStarted:
		return &protocol.RunStarted{}
	case EventThinkDecision:
		return &protocol.ThinkDecision{}
	case EventBandStarted:
		return &protocol.BandStarted{}
	case EventThoughtDelta:
		return &protocol.ThoughtDelta{}
	case EventThoughtDone:
		return &protocol.ThoughtDone{}
	case EventBandProgress:
		return &protocol.BandProgress{}
	case EventBandDone:
		return &protocol.BandDone{}
	case EventCritique:
		return &protocol.Critique{}
	case EventBandRedrawn:
		return &protocol.BandRedrawn{}
	case EventPlanReview:
		return &protocol.PlanReview{}
	case EventBudgetExhausted:
		return &protocol.BudgetExhausted{}
	case EventRunDone:
		return &protocol.RunDone{}
	case EventError:
		return &protocol.Error{}
	}
	return nil
}

// event is the schema of every event frame.
func (c *codec) event(p protocol.Payload) {
	switch p := p.(type) {
	case *protocol.RunStarted:
		c.str(&p.Prompt)
		c.settings(&p.Settings)
		c.str(&p.Backend)
		c.int(&p.Grid)
		c.rowsList(&p.Plan)
		c.int(&p.Width)
		c.int(&p.Height)
	case *protocol.ThinkDecision:
		c.int(&p.Row)
		c.bool(&p.Think)
		c.float(&p.Probability)
		c.str(&p.Source)
	case *protocol.BandStarted:
		c.int(&p.Band)
		c.rows(&p.Rows)
	case *protocol.ThoughtDelta:
		c.int(&p.Band)
		c.str(&p.Text)
		c.int(&p.Coalesced)
		c.int(&p.Attempt)
	case *protocol.ThoughtDone:
		c.int(&p.Band)
		c.str(&p.Text)
		c.int(&p.Tokens)
		c.int(&p.EndRow)
		c.bool(&p.Truncated)
		c.int(&p.Attempt)
	case *protocol.BandProgress:
		c.int(&p.Band)
		c.int(&p.Round)
		c.rows(&p.Rows)
		c.str(&p.PNG)
		c.ints(&p.Tokens)
		c.int(&p.Row)
		if optional(c, &p.Pixels) {
			c.rows(p.Pixels)
		}
	case *protocol.BandDone:
		c.int(&p.Band)
		c.int(&p.Round)
		c.rows(&p.Rows)
	case *protocol.Critique:
		c.int(&p.Band)
		c.int(&p.Round)
		c.rows(&p.Rows)
		c.int(&p.Score)
		c.bool(&p.Parsed)
		c.str(&p.Revision)
		c.str(&p.Verdict)
		c.str(&p.Reason)
		c.str(&p.Raw)
		c.int(&p.Tokens)
	case *protocol.BandRedrawn:
		c.int(&p.Band)
		c.int(&p.Round)
		c.rows(&p.Rows)
		c.str(&p.Thought)
	case *protocol.PlanReview:
		c.int(&p.Band)
		c.int(&p.Attempt)
		c.bool(&p.Accepted)
		c.str(&p.Reason)
		c.str(&p.Thought)
		c.int(&p.Tokens)
		c.bool(&p.Final)
		c.float(&p.POk)
		if optional(c, &p.Chosen) {
			c.int(p.Chosen)
		}
	case *protocol.BudgetExhausted:
		c.str(&p.Budget)
		c.int(&p.Limit)
		c.int(&p.Band)
		c.str(&p.Action)
	case *protocol.RunDone:
		c.str(&p.PNG)
		c.ints(&p.Tokens)
		c.strs(&p.Thoughts)
		c.rowsList(&p.Bands)
		st := &p.Stats
		c.int(&st.Bands)
		c.int(&st.ThoughtTokens)
		c.int(&st.ImageTokens)
		c.int(&st.PixelRows)
		c.int(&st.Critiques)
		c.int(&st.Unparsed)
		c.int(&st.Revisions)
		c.int(&st.PlanReviews)
		c.int(&st.PlanRejections)
		c.int(&st.ReviewTokens)
		tm := &st.Timings
		c.int64(&tm.ThinkMs)
		c.int64(&tm.PaintMs)
		c.int64(&tm.CritiqueMs)
		c.int64(&tm.DecideMs)
		c.int64(&tm.TotalMs)
	case *protocol.Error:
		c.str(&p.Code)
		c.str(&p.Message)
	}
}

// AppendEvent appends p's binary event frame to b. ok is false, and b is
// returned as it was, for a payload type that has no event code: send it
// as JSON (protocol.Event's MarshalJSON) instead.
func AppendEvent(b []byte, p protocol.Payload) (_ []byte, ok bool) {
	code := eventCode(p)
	if code == 0 {
		return b, false
	}
	// A native engine's band_progress and run_done carry their PNG's
	// source: the frame carries the PNG (a failed encode goes the JSON way,
	// which reports it).
	p, err := protocol.WithPNG(p)
	if err != nil {
		return b, false
	}
	return AppendEventNoPNG(b, p)
}

// AppendEventNoPNG is AppendEvent leaving out a band_progress's or
// run_done's PNG that is still to be encoded from its source: for a guest
// whose host has those pixels (the strip its painter sent, the canvas it
// folds from the run's events) and fills the PNG in itself, so that the
// guest encodes no PNG in wasm.
func AppendEventNoPNG(b []byte, p protocol.Payload) (_ []byte, ok bool) {
	code := eventCode(p)
	if code == 0 {
		return b, false
	}
	c := codec{buf: append(b, code)}
	c.event(p)
	return c.buf, true
}

// DecodeEvent decodes a binary event frame (its first byte an event code).
// Errors wrap ErrFrame.
func DecodeEvent(frame []byte) (protocol.Payload, error) {
	if len(frame) == 0 {
		return nil, fmt.Errorf("%w: an empty event", ErrFrame)
	}
	p := newEvent(frame[0])
	if p == nil {
		return nil, fmt.Errorf("%w: unknown event code %d", ErrFrame, frame[0])
	}
	c := codec{buf: frame, off: 1, dec: true}
	c.event(p)
	if err := c.end(); err != nil {
		return nil, fmt.Errorf("%s event: %w", p.EventType(), err)
	}
	return p, nil
}

// --- role messages -------------------------------------------------------

func (c *codec) critiqueResult(p *protocol.CritiqueResult) {
	c.int(&p.Score)
	c.bool(&p.Parsed)
	c.str(&p.Revision)
	c.str(&p.Raw)
	c.int(&p.Tokens)
}

func (c *codec) reviewResult(p *protocol.ReviewResult) {
	c.bool(&p.Accepted)
	c.str(&p.Reason)
	c.int(&p.Tokens)
	c.float(&p.POk)
}

func (c *codec) roles(p *Roles) {
	c.bool(&p.Thinker)
	c.bool(&p.Painter)
	c.bool(&p.Critic)
	c.bool(&p.Decider)
	c.bool(&p.Reviewer)
}

// message is the schema of a role message's frame after its code.
func (c *codec) message(code byte, m *Message) {
	switch code {
	case msgCodeDelta:
		c.str(&m.Text)
	case msgCodeSetEnd:
		c.int(&m.End)
	case msgCodeRow:
		c.int(&m.Row)
		c.ints(&m.Tokens)
	case msgCodeDone:
		c.str(&m.Text)
		if optional(c, &m.Critique) {
			c.critiqueResult(m.Critique)
		}
		if optional(c, &m.Review) {
			c.reviewResult(m.Review)
		}
		c.bool(&m.Think)
		c.float(&m.Probability)
		if optional(c, &m.Roles) {
			c.roles(m.Roles)
		}
	case msgCodeError:
		c.str(&m.Message)
		c.str(&m.Code)
	case msgCodeStrip:
		if c.lend != nil {
			has := false
			if c.bool(&has); has {
				c.lend.rows = protocol.Rows{}
				m.Rows = &c.lend.rows
				c.rows(m.Rows)
			}
		} else if optional(c, &m.Rows) {
			c.rows(m.Rows)
		}
		c.str(&m.PNG)
		c.ints(&m.Tokens)
		c.bytes(&m.Pix)
	}
}

var msgCodes = map[string]byte{MsgDelta: msgCodeDelta, MsgSetEnd: msgCodeSetEnd, MsgRow: msgCodeRow, MsgDone: msgCodeDone,
	MsgError: msgCodeError, MsgStrip: msgCodeStrip}

// msgTypes are the message types by code (0: none).
var msgTypes = [...]string{msgCodeDelta: MsgDelta, msgCodeSetEnd: MsgSetEnd, msgCodeRow: MsgRow, msgCodeDone: MsgDone,
	msgCodeError: MsgError, msgCodeStrip: MsgStrip}

// AppendMessage appends m's binary frame to b (the host's side, ABI 2). It
// panics on a message type the ABI does not have: the host writes only
// its own.
func AppendMessage(b []byte, m *Message) []byte {
	code := msgCodes[m.Type]
	if code == 0 {
		panic(fmt.Sprintf("BUG: abi: no message type %q", m.Type))
	}
	c := codec{buf: append(b, code)}
	c.message(code, m)
	return c.buf
}

// DecodeMessage decodes a binary role message into m (the guest's side).
// Errors wrap ErrFrame.
func DecodeMessage(frame []byte, m *Message) error { return decodeMessage(frame, m, nil) }

// MessageReader decodes role messages into memory it lends: a strip's
// pixels (Message.Pix) are frame's own bytes, and a message's tokens and
// rows are the reader's, read over by its next Decode. For a guest that is
// done with a message before it reads the next one into the same frame: in
// a wasm guest a new 16 KB buffer, token list and rows a strip cost about a
// tenth of its run.
type MessageReader struct {
	tokens []int
	rows   protocol.Rows
}

// Decode is DecodeMessage into the reader's memory and frame's.
func (r *MessageReader) Decode(frame []byte, m *Message) error { return decodeMessage(frame, m, r) }

func decodeMessage(frame []byte, m *Message, lend *MessageReader) error {
	*m = Message{}
	if len(frame) == 0 || int(frame[0]) >= len(msgTypes) || msgTypes[frame[0]] == "" {
		return fmt.Errorf("%w: not a role message", ErrFrame)
	}
	m.Type = msgTypes[frame[0]]
	c := codec{buf: frame, off: 1, dec: true, lend: lend}
	c.message(frame[0], m)
	return c.end()
}

// --- requests and the run's input ---------------------------------------

func (c *codec) request(q *protocol.CallRequest) {
	c.str(&q.Prompt)
	c.settings(&q.Settings)
	c.int(&q.Band)
	c.rows(&q.Rows)
	c.strs(&q.Thoughts)
	c.int(&q.Width)
	c.int(&q.Height)
	c.int(&q.Grid)
	c.ints(&q.Canvas)
	c.str(&q.CanvasPNG)
	c.int(&q.Round)
	c.str(&q.Thought)
	c.int(&q.Row)
	c.int(&q.Attempt)
	n := c.count(len(q.Rejected), q.Rejected == nil, 2)
	if c.dec {
		q.Rejected = nil
		if n >= 0 {
			q.Rejected = make([]protocol.RejectedPlan, n)
		}
	}
	for i := range max(n, 0) {
		c.str(&q.Rejected[i].Thought)
		c.str(&q.Rejected[i].Reason)
	}
}

func (c *codec) spec(s *engine.RunSpec) {
	c.str(&s.Prompt)
	c.int64(&s.Seed)
	c.settings(&s.Settings)
	c.str(&s.RunID)
}

// AppendRequest appends a role request's binary frame (ABI 2): a call
// request, its Canvas and CanvasPNG left empty when the host is to use the
// run's.
func AppendRequest(b []byte, q *protocol.CallRequest) []byte {
	c := codec{buf: b}
	c.request(q)
	return c.buf
}

// DecodeRequest decodes a role request's binary frame into q.
func DecodeRequest(frame []byte, q *protocol.CallRequest) error {
	*q = protocol.CallRequest{}
	c := codec{buf: frame, dec: true}
	c.request(q)
	return c.end()
}

// AppendSpec appends the start call's request (a RunSpec) as a binary frame.
func AppendSpec(b []byte, s *engine.RunSpec) []byte {
	c := codec{buf: b}
	c.spec(s)
	return c.buf
}

// DecodeSpec decodes the start call's binary request.
func DecodeSpec(frame []byte, s *engine.RunSpec) error {
	*s = engine.RunSpec{}
	c := codec{buf: frame, dec: true}
	c.spec(s)
	return c.end()
}

func (c *codec) input(in *RunInput) {
	c.int(&in.ABI)
	c.spec(&in.Spec)
	c.str(&in.Backend.Name)
	c.int(&in.Backend.DefaultBands)
}

// AppendInput appends the RunInput's binary frame (what twig_run gets, ABI 2).
func AppendInput(b []byte, in *RunInput) []byte {
	c := codec{buf: b}
	c.input(in)
	return c.buf
}

// DecodeInput decodes the RunInput's binary frame.
func DecodeInput(frame []byte, in *RunInput) error {
	*in = RunInput{}
	c := codec{buf: frame, dec: true}
	c.input(in)
	return c.end()
}
