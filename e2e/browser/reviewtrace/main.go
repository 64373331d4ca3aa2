// Command reviewtrace writes, as JSONL on stdout, the trace of a real run of
// the engine and the shipped model in which the thinker's first plan for
// each band is rejected with a reason and the second is accepted — the
// events the page shows for a model that reviews its own plans. The shipped
// model rarely rejects a plan of its own, so the verdicts (and how sure it
// is of them, p_ok) are scripted to show a rejection in every band; every
// other event (thoughts, attempts, rows, critiques, seq) is the real
// engine's. The browser tests play it through the page.
//
//	go run ./e2e/browser/reviewtrace ["PROMPT"] > trace.jsonl
package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"os"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
)

// reviewing is the model's thinker with scripted reviews.
type reviewing struct{ engine.Thinker }

func (r reviewing) ReviewPlan(_ context.Context, req engine.ReviewRequest) (engine.PlanReview, error) {
	if req.Attempt == 0 {
		return engine.PlanReview{Accepted: false, Reason: "this plan leaves no room below for what must come next", Tokens: 9, POk: 0.1}, nil
	}
	return engine.PlanReview{Accepted: true, Tokens: 1, POk: 0.95}, nil
}

// backend is the model with the reviewing thinker.
type backend struct{ m *model.Model }

func (b backend) NewRun(ctx context.Context, spec engine.RunSpec) (engine.Run, error) {
	run, err := b.m.NewRun(ctx, spec)
	if err != nil {
		return nil, err
	}
	return wrapped{run}, nil
}

func (b backend) DefaultBands() int { return b.m.DefaultBands() }

type wrapped struct{ engine.Run }

func (w wrapped) Roles() engine.Roles {
	r := w.Run.Roles()
	r.Thinker = reviewing{r.Thinker}
	return r
}

func main() {
	prompt := "a red circle above a blue square"
	if len(os.Args) > 1 {
		prompt = os.Args[1]
	}
	m, err := model.Default()
	if err != nil {
		fmt.Fprintln(os.Stderr, "reviewtrace:", err)
		os.Exit(1)
	}
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	s := engine.DefaultSettings()
	s.Seed = 1
	_, err = engine.Draw(context.Background(), backend{m}, engine.RunSpec{Prompt: prompt, Settings: s}, func(ev protocol.Event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(out, "%s\n", b)
		return err
	})
	if err != nil {
		out.Flush()
		fmt.Fprintln(os.Stderr, "reviewtrace:", err)
		os.Exit(1)
	}
}
