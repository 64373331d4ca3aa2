package remote

import (
	"net/http/httptest"
	"testing"

	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/edge/server"
)

// TestEveryFieldThroughTwigCalls: a run whose thinker, painter and critic
// (and decider) are TwigCallers to a real gateway over POST /v1/calls has
// the events of the same run played natively, critique tokens and all.
// POST /calls has no hello, so this path plays no plan reviews.
func TestEveryFieldThroughTwigCalls(t *testing.T) {
	srv, err := server.New(server.Options{Backend: rolecalltest.Backend{}})
	if err != nil {
		t.Fatal(err)
	}
	ts := httptest.NewServer(srv.Handler())
	defer ts.Close()
	src := Source{Kind: KindTwig, Endpoint: Endpoint{BaseURL: ts.URL + "/v1"}}
	b, err := NewBackend(Config{Thinker: src, Critic: src, Painter: src, Options: Options{Retries: 1}})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range rolecalltest.Specs(false) {
		rolecalltest.Check(t, spec, rolecalltest.Draw(t, b, spec))
	}
}
