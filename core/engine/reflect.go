package engine

import (
	"time"

	"github.com/twig-project/twig/core/protocol"
)

// reflect has the critic judge band; below the threshold, while the band has
// rounds and the run has revision budget left, the band's thought becomes the
// revision, its cells are undrawn and only it is redrawn, then judged again.
func (r *runner) reflect(band int) error {
	if !r.s.Reflect {
		return nil
	}
	rows := r.bands[band]
	for round := 0; ; round++ {
		req := CritiqueRequest{State: r.state(band, rows), Round: round, Thought: r.thoughts[band]}
		t0 := time.Now()
		c, err := r.roles.Critic.Critique(r.ctx, req)
		r.stats.Timings.CritiqueMs += time.Since(t0).Milliseconds()
		if err == nil {
			err = r.ctx.Err()
		}
		if err != nil {
			return r.fail(protocol.CodeCritic, band, "critiquing", err)
		}
		r.stats.Critiques++
		score := max(0, min(100, c.Score))
		verdict, reason := protocol.VerdictPass, protocol.ReasonAboveThreshold
		budget := r.s.MaxRevisionsTotal
		switch {
		case !c.Parsed:
			reason = protocol.ReasonUnparsed
			r.stats.Unparsed++
		case score >= r.s.Threshold:
		case round >= r.s.MaxRevisions:
			reason = protocol.ReasonMaxRevisions
		case budget > 0 && r.stats.Revisions >= budget:
			reason = protocol.ReasonBudget
		default:
			verdict, reason = protocol.VerdictRedraw, protocol.ReasonBelowThreshold
		}
		if err := r.emit(&protocol.Critique{Band: band, Round: round, Rows: rows, Score: score, Parsed: c.Parsed,
			Revision: c.Revision, Verdict: verdict, Reason: reason, Raw: c.Raw, Tokens: c.Tokens}); err != nil {
			return err
		}
		if reason == protocol.ReasonBudget && !r.revisionBudgetOut {
			r.revisionBudgetOut = true
			if err := r.emit(&protocol.BudgetExhausted{Budget: protocol.BudgetRevisions, Limit: budget, Band: band,
				Action: "bands below the threshold are kept as drawn"}); err != nil {
				return err
			}
		}
		if verdict == protocol.VerdictPass {
			return nil
		}
		r.stats.Revisions++
		if c.Revision != "" {
			r.thoughts[band] = c.Revision
		}
		_ = r.canvas.ClearRows(rows) // the band's rows were painted: they lie in the canvas
		r.snap = nil
		if err := r.emit(&protocol.BandRedrawn{Band: band, Round: round + 1, Rows: rows, Thought: r.thoughts[band]}); err != nil {
			return err
		}
		if err := r.drawBand(band, round+1, rows, r.thoughts[band]); err != nil {
			return err
		}
	}
}
