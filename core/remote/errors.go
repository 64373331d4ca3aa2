package remote

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/twig-project/twig/internal/textutil"
)

// Error is a failed remote call: which role, which upstream, and what the
// upstream (or the network) said.
type Error struct {
	// Role is the engine role: thinker, critic, painter or decider.
	Role string
	// Host is the upstream's host[:port].
	Host string
	// Op is what was asked: "chat completion", "image edit", "model call".
	Op string
	// Status is the HTTP status, 0 when none came.
	Status int
	// Type and Code are the upstream error body's type and code, if any.
	Type, Code string
	// Message is the upstream's message (key scrubbed), or what went wrong.
	Message string
	// Tries is how many times the call was sent.
	Tries int
	// Err is the cause, when there is one (a network error, a timeout).
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "remote: %s at %s: %s", e.Role, e.Host, e.Op)
	if e.Status != 0 {
		fmt.Fprintf(&b, ": HTTP %d", e.Status)
	}
	if e.Type != "" || e.Code != "" {
		b.WriteString(" (")
		b.WriteString(strings.Trim(e.Type+", "+e.Code, ", "))
		b.WriteString(")")
	}
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	if e.Tries > 1 {
		fmt.Fprintf(&b, " (gave up after %d tries)", e.Tries)
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

func retryable(status int) bool {
	return status == 408 || status == 409 || status == 429 || status >= 500
}

// errorBody reads an error body in the OpenAI shape
// {"error":{"message","type","code","param"}}, or the looser shapes other
// servers send ({"error":"…"}, {"message":"…"}, {"detail":"…"}), or text.
func errorBody(b []byte) (typ, code, msg string) {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(b, &v) == nil {
		var e struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Code    json.RawMessage `json:"code"`
		}
		var s string
		switch {
		case json.Unmarshal(v.Error, &e) == nil && (e.Message != "" || e.Type != ""):
			return e.Type, rawString(e.Code), clipText(e.Message, 300)
		case json.Unmarshal(v.Error, &s) == nil && s != "":
			return "", "", clipText(s, 300)
		case v.Message != "":
			return "", "", clipText(v.Message, 300)
		case len(v.Detail) > 0:
			return "", "", clipText(rawString(v.Detail), 300)
		}
	}
	return "", "", clipText(strings.TrimSpace(string(b)), 200)
}

// rawString turns a JSON string, number or null into text.
func rawString(r json.RawMessage) string {
	var s string
	if json.Unmarshal(r, &s) == nil {
		return s
	}
	if t := strings.TrimSpace(string(r)); t != "null" {
		return t
	}
	return ""
}

// clipText makes upstream text one short line.
func clipText(s string, n int) string { return textutil.Clip(textutil.OneLine(s), n) }

// errTruncated marks a stream that ended before its end marker.
var errTruncated = errors.New("the stream ended before it was complete (no [DONE], no finish_reason)")
