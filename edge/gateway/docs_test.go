package gateway

import (
	"errors"
	"os"
	"regexp"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

// The client messages (→) and server messages (←) docs/PROTOCOL.md shows
// are valid: each client message decodes (or is refused with the code the
// transcript shows), each server message decodes to a known type.
func TestDocsMessages(t *testing.T) {
	doc, err := os.ReadFile("../../docs/PROTOCOL.md")
	if err != nil {
		t.Fatal(err)
	}
	out := regexp.MustCompile(`(?m)^→ (\{.*\})$`).FindAllSubmatch(doc, -1)
	in := regexp.MustCompile(`(?m)^← (\{.*\})$`).FindAllSubmatch(doc, -1)
	if len(out) < 5 || len(in) < 8 {
		t.Fatalf("found %d client and %d server examples", len(out), len(in))
	}
	for _, m := range out {
		_, err := protocol.DecodeMessage(m[1])
		if me, ok := errors.AsType[*protocol.MessageError](err); ok && me.Code == protocol.CodeUnknownType {
			continue // the transcript's mistyped message
		}
		if err != nil {
			t.Errorf("%s: %v", m[1], err)
		}
	}
	for _, m := range in {
		ev, err := protocol.Decode(m[1])
		if err != nil {
			t.Errorf("%s: %v", m[1], err)
			continue
		}
		if _, ok := ev.Payload.(*protocol.Unknown); ok {
			t.Errorf("%s: unknown type", m[1])
		}
	}
}
