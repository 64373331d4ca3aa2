package engine

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/world"
)

// think has the thinker write band's thought, streaming thought_delta events
// and enforcing the thought-token budget. For an open-ended band it returns
// the end row the thinker chose, or -1.
func (r *runner) think(band int, rows Rows) (string, int, error) {
	budget := r.s.MaxThoughtTokens
	if budget > 0 && r.stats.ThoughtTokens >= budget {
		return "", rows.End, r.thoughtBudgetSpent(band)
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	var (
		g         Gate
		text      strings.Builder
		tokens    int
		truncated bool
		cbErr     error
		end       = -1
	)
	req := ThinkRequest{State: r.state(band, rows)}
	if rows.End < 0 {
		req.SetEnd = func(e int) { g.Do(func() { end = e }) }
	}
	t0 := time.Now()
	thought, err := r.roles.Thinker.Think(ctx, req, func(delta string) {
		g.Do(func() {
			if cbErr != nil || truncated {
				return
			}
			if budget > 0 && r.stats.ThoughtTokens >= budget {
				truncated = true
				cancel(errBudget)
				return
			}
			tokens++
			r.stats.ThoughtTokens++
			text.WriteString(delta)
			if e := r.emit(&protocol.ThoughtDelta{Band: band, Text: delta}); e != nil {
				cbErr = e
				cancel(e)
			}
		})
	})
	g.Close()
	r.stats.Timings.ThinkMs += time.Since(t0).Milliseconds()
	switch {
	case r.ctx.Err() != nil:
		return "", -1, r.fail(protocol.CodeThinker, band, "thinking", r.ctx.Err())
	case cbErr != nil:
		return "", -1, cbErr
	case truncated:
		thought = text.String()
	case err != nil:
		return "", -1, r.fail(protocol.CodeThinker, band, "thinking", err)
	case tokens == 0 && thought != "":
		// A thinker that does not stream: its thought is one token.
		tokens = 1
		r.stats.ThoughtTokens++
		if err := r.emit(&protocol.ThoughtDelta{Band: band, Text: thought}); err != nil {
			return "", -1, err
		}
	}
	if end != -1 && (end <= rows.Start || end > world.Grid) {
		return "", -1, &Error{Code: protocol.CodeThinker, Band: band,
			Err: fmt.Errorf("thinker ended the band at row %d, outside (%d, %d]", end, rows.Start, world.Grid)}
	}
	done := &protocol.ThoughtDone{Band: band, Text: thought, Tokens: tokens, Truncated: truncated}
	if end != -1 {
		done.EndRow = end
	}
	if err := r.emit(done); err != nil {
		return "", -1, err
	}
	if truncated {
		if err := r.thoughtBudgetSpent(band); err != nil {
			return "", -1, err
		}
	}
	if rows.End < 0 {
		return thought, end, nil
	}
	return thought, rows.End, nil
}

// thoughtBudgetSpent records, once, that the run thinks no more.
func (r *runner) thoughtBudgetSpent(band int) error {
	if r.thoughtBudgetOut {
		return nil
	}
	r.thoughtBudgetOut = true
	return r.emit(&protocol.BudgetExhausted{Budget: protocol.BudgetThoughtTokens, Limit: r.s.MaxThoughtTokens,
		Band: band, Action: "the thought was cut short; later bands are drawn without thoughts"})
}
