package sandbox_test

import (
	"context"
	"testing"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
)

// TestEveryFieldThroughTheSandbox: a run played by the wasm guest, its
// roles played by the host through the ABI's role calls (the one role-call
// codec on both sides), has the native run's events — critique tokens, plan
// reviews with their reasons and tokens, band ends and decisions.
func TestEveryFieldThroughTheSandbox(t *testing.T) {
	s := sb(t)
	for _, spec := range rolecalltest.Specs(true) {
		var got []protocol.Event
		if _, err := s.Draw(context.Background(), rolecalltest.Backend{}, spec, func(e protocol.Event) error {
			got = append(got, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		rolecalltest.Check(t, spec, got)
	}
}
