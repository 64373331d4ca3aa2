package engine_test

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/english"
)

// A backend that cannot read the prompt fails the run as invalid_request
// (the user's to fix), not backend_failed.
func TestPromptErrorIsInvalidRequest(t *testing.T) {
	b := engine.FuncBackend{Bands: 1, NewRoles: func(_ context.Context, spec engine.RunSpec) (engine.Roles, error) {
		_, err := english.Parse(spec.Prompt)
		return engine.Roles{}, err
	}}
	var last protocol.Event
	_, err := engine.Draw(context.Background(), b, engine.RunSpec{Prompt: "a red blorp", Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error { last = ev; return nil })
	if engine.Code(err) != protocol.CodeInvalidRequest {
		t.Fatalf("code %s (%v), want invalid_request", engine.Code(err), err)
	}
	if e, ok := last.Payload.(*protocol.Error); !ok || e.Code != protocol.CodeInvalidRequest {
		t.Fatalf("last event %+v", last.Payload)
	}
}
