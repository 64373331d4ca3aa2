package engine

import (
	"context"
	"errors"
	"fmt"

	"github.com/twig-project/twig/core/protocol"
)

// Error is a failed run: a protocol error code, the band (or -1) and the cause.
type Error struct {
	// Code is one of the protocol.Code constants.
	Code string
	// Band is the band being worked on, or -1.
	Band int
	// Err is the cause.
	Err error
}

func (e *Error) Error() string {
	if e.Band >= 0 {
		return fmt.Sprintf("engine: band %d: %v", e.Band, e.Err)
	}
	return fmt.Sprintf("engine: %v", e.Err)
}

func (e *Error) Unwrap() error { return e.Err }

// PromptError is a backend's refusal of the prompt itself: words its model
// cannot read (the embedded model's English grammar). Draw reports it as
// invalid_request — the user's to fix — rather than backend_failed. The
// engine reads no prompt: a prompt is text, and only a backend whose model
// has a vocabulary refuses one. Err is the backend's own error (the embedded
// model's *english.ParseError, with the word, its position and suggestions),
// kept for errors.As; the message is Err's.
type PromptError struct{ Err error }

func (e *PromptError) Error() string { return e.Err.Error() }

func (e *PromptError) Unwrap() error { return e.Err }

// Code returns the protocol error code of err: its *Error's code, or
// protocol.CodeInternal.
func Code(err error) string {
	if e, ok := errors.AsType[*Error](err); ok {
		return e.Code
	}
	return protocol.CodeInternal
}

// fail wraps a role's error; a done run context turns it into canceled or
// deadline_exceeded whatever the role said.
func (r *runner) fail(code string, band int, doing string, err error) error {
	if e, ok := errors.AsType[*Error](err); ok {
		return e
	}
	if cerr := r.ctx.Err(); cerr != nil {
		code = protocol.CodeCanceled
		what := "cancelled"
		if errors.Is(cerr, context.DeadlineExceeded) {
			code, what = protocol.CodeDeadline, "ran past its deadline"
		}
		return &Error{Code: code, Band: band, Err: fmt.Errorf("run %s while %s: %w", what, doing, cerr)}
	}
	return &Error{Code: code, Band: band, Err: fmt.Errorf("%s: %w", doing, err)}
}

var (
	errBandEnd = errors.New("engine: band ended by a think decision")
	errBudget  = errors.New("engine: thought-token budget exhausted")
)
