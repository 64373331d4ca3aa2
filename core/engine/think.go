package engine

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/twig-project/twig/core/protocol"
)

// think has the thinker write band's thought and, when the run reflects and
// the thinker reviews its plans, review it: a rejected plan is written again
// (with the rejected ones in view) while Settings.PlanAttempts allow. Every
// attempt streams as it is written; a plan_review event follows each.
func (r *runner) think(band int, rows Rows) (string, int, error) {
	reviewer, _ := r.roles.Thinker.(PlanReviewer)
	attempts := r.s.PlanAttempts
	if !r.s.Reflect || reviewer == nil || attempts <= 0 {
		thought, end, _, err := r.thinkOnce(band, rows, 0, nil)
		return thought, end, err
	}
	if k := r.s.PlanCandidates; k > 1 {
		return r.choosePlan(band, rows, reviewer, k)
	}
	var rejected []RejectedPlan
	for a := 0; ; a++ {
		thought, end, truncated, err := r.thinkOnce(band, rows, a, rejected)
		if err != nil || truncated {
			return thought, end, err
		}
		rv, err := r.review(reviewer, band, rows, thought, a, rejected)
		if err != nil {
			return "", -1, err
		}
		final := rv.Accepted || a+1 >= attempts
		if err := r.emit(&protocol.PlanReview{Band: band, Attempt: a, Accepted: rv.Accepted, Reason: rv.Reason,
			Thought: thought, Tokens: rv.Tokens, POk: rv.POk, Final: final}); err != nil {
			return "", -1, err
		}
		if final {
			return thought, end, nil
		}
		rejected = append(rejected, RejectedPlan{Thought: thought, Reason: rv.Reason})
	}
}

// choosePlan has the thinker write k plans for band, each from the same
// context (attempt a, nothing rejected in view), streamed as it is written
// and reviewed right after; the band keeps the plan the thinker rated
// likeliest to be right (PlanReview.POk, or its verdict when it reports no
// probability; the earliest on a tie). The last review is final and names the
// chosen attempt; the others are set aside. Choosing by the reviewer's
// ranking needs no rewrite.
func (r *runner) choosePlan(band int, rows Rows, reviewer PlanReviewer, k int) (string, int, error) {
	type cand struct {
		thought string
		end     int
	}
	var (
		cands []cand
		best  = -1
		top   float64
	)
	for a := 0; a < k; a++ {
		thought, end, truncated, err := r.thinkOnce(band, rows, a, nil)
		if err != nil {
			return thought, end, err
		}
		if truncated { // the budget is spent: keep the best whole plan, if any
			if best >= 0 {
				return cands[best].thought, cands[best].end, nil
			}
			return thought, end, nil
		}
		rv, err := r.review(reviewer, band, rows, thought, a, nil)
		if err != nil {
			return "", -1, err
		}
		score := rv.POk
		if score <= 0 && rv.Accepted {
			score = 1
		}
		cands = append(cands, cand{thought, end})
		if best < 0 || score > top {
			best, top = a, score
		}
		ev := &protocol.PlanReview{Band: band, Attempt: a, Accepted: rv.Accepted, Reason: rv.Reason,
			Thought: thought, Tokens: rv.Tokens, POk: rv.POk, Final: a == k-1}
		if ev.Final {
			ev.Chosen = &best
		}
		if err := r.emit(ev); err != nil {
			return "", -1, err
		}
	}
	return cands[best].thought, cands[best].end, nil
}

// review has the thinker review thought, band's plan of attempt a (with
// the plans rejected so far in view), timed as thinking and counted in the
// stats; its p_ok is kept only when it is a probability.
func (r *runner) review(reviewer PlanReviewer, band int, rows Rows, thought string, a int, rejected []RejectedPlan) (PlanReview, error) {
	req := ReviewRequest{State: r.state(band, rows), Thought: thought, Attempt: a, Rejected: rejected}
	t0 := time.Now()
	rv, err := reviewer.ReviewPlan(r.ctx, req)
	rv.POk = probability(rv.POk)
	r.stats.Timings.ThinkMs += time.Since(t0).Milliseconds()
	if err == nil {
		err = r.ctx.Err()
	}
	if err != nil {
		return rv, r.fail(protocol.CodeThinker, band, "reviewing its plan", err)
	}
	r.stats.PlanReviews++
	r.stats.ReviewTokens += rv.Tokens
	if !rv.Accepted {
		r.stats.PlanRejections++
	}
	return rv, nil
}

// thinkOnce has the thinker write one plan for band, streaming thought_delta
// events and enforcing the thought-token budget. For an open-ended band it
// returns the end row the thinker chose, or -1; truncated reports that the
// budget cut the thought short.
func (r *runner) thinkOnce(band int, rows Rows, attempt int, rejected []RejectedPlan) (string, int, bool, error) {
	budget := r.s.MaxThoughtTokens
	if budget > 0 && r.stats.ThoughtTokens >= budget {
		return "", rows.End, true, r.thoughtBudgetSpent(band)
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	var (
		g         Gate
		text      strings.Builder
		ntok      int
		truncated bool
		cbErr     error
		end       = -1
	)
	req := ThinkRequest{State: r.state(band, rows), Attempt: attempt, Rejected: slices.Clone(rejected)}
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
			ntok++
			r.stats.ThoughtTokens++
			text.WriteString(delta)
			if e := r.emit(&protocol.ThoughtDelta{Band: band, Text: delta, Attempt: attempt}); e != nil {
				cbErr = e
				cancel(e)
			}
		})
	})
	g.Close()
	r.stats.Timings.ThinkMs += time.Since(t0).Milliseconds()
	switch {
	case r.ctx.Err() != nil:
		return "", -1, false, r.fail(protocol.CodeThinker, band, "thinking", r.ctx.Err())
	case cbErr != nil:
		return "", -1, false, cbErr
	case truncated:
		thought = text.String()
	case err != nil:
		return "", -1, false, r.fail(protocol.CodeThinker, band, "thinking", err)
	case ntok == 0 && thought != "":
		// A thinker that does not stream: its thought is one token.
		ntok = 1
		r.stats.ThoughtTokens++
		if err := r.emit(&protocol.ThoughtDelta{Band: band, Text: thought, Attempt: attempt}); err != nil {
			return "", -1, false, err
		}
	}
	if end != -1 && (end <= rows.Start || end > r.geom.Height || end%r.geom.Unit != 0) {
		return "", -1, false, &Error{Code: protocol.CodeThinker, Band: band,
			Err: fmt.Errorf("thinker ended the band at row %d, outside (%d, %d] or not a multiple of %d", end, rows.Start, r.geom.Height, r.geom.Unit)}
	}
	done := &protocol.ThoughtDone{Band: band, Text: thought, Tokens: ntok, Truncated: truncated, Attempt: attempt}
	if end != -1 {
		done.EndRow = end
	}
	if err := r.emit(done); err != nil {
		return "", -1, false, err
	}
	if truncated {
		if err := r.thoughtBudgetSpent(band); err != nil {
			return "", -1, false, err
		}
	}
	if rows.End < 0 {
		return thought, end, truncated, nil
	}
	return thought, rows.End, truncated, nil
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

// probability is a thinker's reported p_ok when it is one, in (0, 1], else
// 0 (none reported): a remote or sandboxed thinker may send anything.
func probability(p float64) float64 {
	if p > 0 && p <= 1 {
		return p
	}
	return 0
}
