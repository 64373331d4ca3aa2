package engine_test

import (
	"context"
	"errors"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// A backend that cannot read the prompt fails the run as invalid_request
// (the user's to fix), not backend_failed; its own error stays reachable.
func TestPromptErrorIsInvalidRequest(t *testing.T) {
	why := errors.New(`"blorp" is not a word this model knows`)
	b := engine.FuncBackend{Bands: 1, NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{}, &engine.PromptError{Err: why}
	}}
	var last protocol.Event
	_, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red blorp", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error { last = ev; return nil })
	if engine.Code(err) != protocol.CodeInvalidRequest {
		t.Fatalf("code %s (%v), want invalid_request", engine.Code(err), err)
	}
	if want := "engine: the prompt: " + why.Error(); err.Error() != want || !errors.Is(err, why) {
		t.Errorf("error %q, want %q wrapping the backend's", err, want)
	}
	if e, ok := last.Payload.(*protocol.Error); !ok || e.Code != protocol.CodeInvalidRequest {
		t.Fatalf("last event %+v", last.Payload)
	}
}

// Any other failure to start is the backend's.
func TestNewRunErrorIsBackend(t *testing.T) {
	b := engine.FuncBackend{Bands: 1, NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
		return engine.Roles{}, errors.New("out of slots")
	}}
	_, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "anything at all", Settings: engine.DefaultSettings()},
		func(protocol.Event) error { return nil })
	if engine.Code(err) != protocol.CodeBackend {
		t.Fatalf("code %s (%v), want %s", engine.Code(err), err, protocol.CodeBackend)
	}
}
