package server_test

import (
	"context"
	"slices"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/server"
)

// TestEveryFieldThroughTheGateway: a run played here whose roles are all
// model calls to a gateway over a real websocket (client.Client, the one
// role-call client) has the events of the same run played on the gateway's
// backend natively — critique tokens, plan reviews and all. And the same run
// started on the gateway (its own loop) has them too.
func TestEveryFieldThroughTheGateway(t *testing.T) {
	ts := newServer(t, server.Options{Backend: rolecalltest.Backend{}})
	cl := dialClient(t, ts.ws)
	h, err := cl.Hello(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(h.Roles, protocol.RoleReview) {
		t.Fatalf("hello lists %v: a backend whose thinker reviews offers the review role", h.Roles)
	}
	for _, spec := range rolecalltest.Specs(true) {
		var got []protocol.Event
		if _, err := engine.Draw(context.Background(), cl.Backend(3), spec, func(e protocol.Event) error {
			got = append(got, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		rolecalltest.Check(t, spec, got)

		got = got[:0]
		if err := cl.Draw(context.Background(), spec.Prompt, spec.Settings, func(e protocol.Event) error {
			got = append(got, e)
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		rolecalltest.Check(t, spec, got)
	}
}

// TestHelloWithoutReviews: the tiny model's weights predate reviews, so its
// gateway offers no review role, and a client plays no reviews through it.
func TestHelloWithoutReviews(t *testing.T) {
	ts := newServer(t, server.Options{})
	cl := dialClient(t, ts.ws)
	h, err := cl.Hello(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"think", "paint", "critique", "decide"}; !slices.Equal(h.Roles, want) {
		t.Fatalf("hello lists %v, want %v", h.Roles, want)
	}
	if _, ok := cl.Roles().Thinker.(engine.PlanReviewer); ok {
		t.Fatal("the client reviews plans through a server that cannot")
	}
}
