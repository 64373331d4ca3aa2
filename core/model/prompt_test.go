package model

import (
	"context"
	"errors"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/english"
)

// The engine reads no prompt; the embedded model refuses words it cannot
// read, and the run fails with invalid_request, the message and the parse
// error (word, suggestions) as when the engine parsed prompts itself.
func TestUnknownWordsAreInvalidRequest(t *testing.T) {
	m := randomModel(t)
	const prompt = "a red blorp"
	_, perr := english.Parse(prompt)
	if perr == nil {
		t.Fatalf("%q parses", prompt)
	}
	var last protocol.Event
	_, err := engine.Draw(context.Background(), m, engine.RunSpec{Prompt: prompt, Settings: engine.DefaultSettings()},
		func(ev protocol.Event) error { last = ev; return nil })
	if engine.Code(err) != protocol.CodeInvalidRequest {
		t.Fatalf("code %s (%v), want invalid_request", engine.Code(err), err)
	}
	if want := "engine: the prompt: " + perr.Error(); err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
	pe, ok := errors.AsType[*english.ParseError](err)
	if !ok || pe.Word != "blorp" {
		t.Errorf("the parse error is not kept: %#v", pe)
	}
	if e, ok := last.Payload.(*protocol.Error); !ok || e.Code != protocol.CodeInvalidRequest {
		t.Fatalf("last event %+v", last.Payload)
	}
	// A prompt the model reads starts a run.
	if _, err := m.NewRun(context.Background(), engine.RunSpec{Prompt: "a red circle", Settings: engine.DefaultSettings()}); err != nil {
		t.Fatal(err)
	}
}
