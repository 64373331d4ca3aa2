// Package fold folds a run's events into what they describe: the canvas,
// the bands with their rows, each band's thoughts by attempt with their plan
// reviews, its critiques by round and its redraws, the adaptive decisions,
// the budgets spent and how the run ended. It is the one reading of the
// event stream: the replay and the GIF (package render), the sandbox's host
// (the partial result of a failed run) and twig draw's live view use it, and
// docs/PROTOCOL.md ("Folding events") states its rules so the page's
// JavaScript folds the same way.
//
// It imports the protocol, and the synthetic world only for the canvas's
// side (tokens.Grid), as the engine does today.
package fold

import (
	"encoding/base64"
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Limits of a fold: a run has at most protocol.MaxBands bands, each at most
// protocol.MaxPlanAttempts plans and MaxRounds drawings. A stream that goes
// past them is refused as it is folded, so a forged trace costs no memory.
const MaxRounds = 17

// MaxText bounds the text a plan keeps from its deltas: a thought is a
// sentence or two; the rest of a forged flood of deltas is counted, not kept
// (thought_done's text still replaces it whole).
const MaxText = 1 << 16

// Attempt is one plan the thinker wrote for a band.
type Attempt struct {
	// Text is the plan so far: thought_delta texts appended, then
	// thought_done's text once it is done.
	Text string
	// Tokens counts the deltas (a coalesced delta counts as many).
	Tokens int
	// Done is set by thought_done; Truncated when the budget cut it short.
	Done, Truncated bool
	// Review is the thinker's verdict on it (plan_review), when reviewed.
	Review *protocol.PlanReview
}

// Band is one band as its events describe it.
type Band struct {
	// Rows are the band's rows: band_started's, the end a thinker chose
	// (thought_done's end_row), then band_done's.
	Rows protocol.Rows
	// Attempts are its plans, by attempt (one when plans are not reviewed).
	Attempts []Attempt
	// Thought is the thought the band is drawn from: the last plan written
	// (a rejected plan is rewritten; the last one is kept), replaced by the
	// revision a redraw uses (band_redrawn's thought).
	Thought string
	// Round is the drawing under way: 0 the first, r the r-th redraw.
	Round int
	// Painted counts the rows painted in this round.
	Painted int
	// Thinking is set while a plan streams (a thought_delta came, its
	// thought_done not yet); Drawn once the band's first row is painted.
	Thinking, Drawn bool
	// Critiques are its critiques, by round.
	Critiques []protocol.Critique
	// Redraws are its band_redrawn events.
	Redraws []protocol.BandRedrawn
	// Done is set by band_done and cleared by a redraw.
	Done bool
}

// State is a run folded so far.
type State struct {
	// RunID names the run (Apply's envelope; "" through ApplyPayload).
	RunID string
	// Started is set by run_started; Prompt, Settings, Backend and Plan are its.
	Started  bool
	Prompt   string
	Settings protocol.Settings
	Backend  string
	Plan     []protocol.Rows
	// Canvas is the canvas: band_progress rows written in, a redrawn band's
	// rows cleared to -1.
	Canvas tokens.Tokens
	// Pixels is the real picture when the run paints one (run_started's
	// width and height): band_progress's PNG strips written in, a redrawn
	// band's pixel rows cleared to transparent. Nil for a token-grid run.
	// It costs 4·width·height bytes (at most 64 MiB, canvas.MaxSide a side):
	// a host folding untrusted events bounds the picture by that.
	Pixels *canvas.Canvas
	// Bands are the bands started so far, by index.
	Bands []Band
	// Decisions are the adaptive think decisions, in order.
	Decisions []protocol.ThinkDecision
	// Budgets are the budgets spent.
	Budgets []protocol.BudgetExhausted
	// Done is the run_done event; Failure the error event.
	Done    *protocol.RunDone
	Failure *protocol.Error
	// Seq is the last event's seq (Apply).
	Seq int64
}

// New returns the state before the first event.
func New() *State { return &State{Canvas: tokens.NewTokens()} }

// Thoughts are the bands' thoughts, by band.
func (s *State) Thoughts() []string {
	out := make([]string, len(s.Bands))
	for i, b := range s.Bands {
		out[i] = b.Thought
	}
	return out
}

// Apply folds the next event of a stream, checking its envelope first: one
// version, one run, run_started first, seq without gaps (a coalesced delta
// spans its seqs), nothing after run_done or error. An error leaves the
// state as it was.
func (s *State) Apply(ev protocol.Event) error {
	if ev.V != protocol.Version {
		return fmt.Errorf("event %d speaks %q, want %q", ev.Seq, ev.V, protocol.Version)
	}
	if !s.Started {
		if _, ok := ev.Payload.(*protocol.RunStarted); !ok {
			return fmt.Errorf("the events begin with %s, not run_started", ev.Type)
		}
	} else {
		switch {
		case ev.RunID != s.RunID:
			return fmt.Errorf("event %d belongs to run %q, not %q: one trace, one run", ev.Seq, ev.RunID, s.RunID)
		case ev.Seq != s.Seq+protocol.Span(ev):
			return fmt.Errorf("events jump from seq %d to %d: the stream is missing events", s.Seq, ev.Seq)
		}
	}
	if err := s.ApplyPayload(ev.Payload); err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	s.RunID, s.Seq = ev.RunID, ev.Seq
	return nil
}

// ApplyPayload folds an event's payload with no envelope to check (a host
// stamping the envelope itself). An error leaves the state as it was; no
// payload can make it index outside the canvas or grow past the limits.
func (s *State) ApplyPayload(p protocol.Payload) error {
	const g = tokens.Grid
	if s.Done != nil || s.Failure != nil {
		return fmt.Errorf("a %s after the run ended", p.EventType())
	}
	if _, ok := p.(*protocol.RunStarted); !ok && !s.Started {
		return fmt.Errorf("a %s before run_started", p.EventType())
	}
	switch e := p.(type) {
	case *protocol.RunStarted:
		switch {
		case s.Started:
			return errors.New("a second run_started")
		case e.Grid != 0 && e.Grid != g:
			return fmt.Errorf("the run's grid is %d×%d, this build draws %d×%d", e.Grid, e.Grid, g, g)
		case len(e.Plan) > protocol.MaxBands:
			return fmt.Errorf("a plan of %d bands, more than %d", len(e.Plan), protocol.MaxBands)
		case (e.Width != 0 || e.Height != 0) && (e.Height < g || e.Width < 1 || e.Width > canvas.MaxSide || e.Height > canvas.MaxSide):
			return fmt.Errorf("a picture of %d×%d pixels: use 1 to %d a side, at least %d rows", e.Width, e.Height, canvas.MaxSide, g)
		}
		if e.Width != 0 {
			px, err := canvas.New(e.Width, e.Height)
			if err != nil {
				return err
			}
			s.Pixels = px
		}
		s.Started, s.Prompt, s.Settings, s.Backend, s.Plan = true, e.Prompt, e.Settings, e.Backend, slices.Clone(e.Plan)
	case *protocol.ThinkDecision:
		if len(s.Decisions) > g {
			return fmt.Errorf("more than %d think decisions", g+1)
		}
		s.Decisions = append(s.Decisions, *e)
	case *protocol.BandStarted:
		switch {
		case e.Band != len(s.Bands):
			return fmt.Errorf("band_started for band %d after %d bands: bands start in order", e.Band, len(s.Bands))
		case e.Band >= protocol.MaxBands:
			return fmt.Errorf("band %d: bands are 0 to %d", e.Band, protocol.MaxBands-1)
		case !rowsOK(e.Rows, true):
			return fmt.Errorf("band_started has rows [%d,%d)", e.Rows.Start, e.Rows.End)
		}
		s.Bands = append(s.Bands, Band{Rows: e.Rows})
	case *protocol.ThoughtDelta:
		b, a, err := s.attempt(e.Band, e.Attempt, true)
		if err != nil {
			return err
		}
		if a.Done {
			return fmt.Errorf("a thought_delta for band %d attempt %d after its thought_done", e.Band, e.Attempt)
		}
		if len(a.Text)+len(e.Text) <= MaxText {
			a.Text += e.Text
		}
		a.Tokens += max(e.Coalesced, 1)
		b.Thinking = true
	case *protocol.ThoughtDone:
		if b, err := s.band(e.Band); err == nil && e.EndRow != 0 && (e.EndRow <= b.Rows.Start || e.EndRow > g) {
			return fmt.Errorf("thought_done ends band %d at row %d, outside (%d,%d]", e.Band, e.EndRow, b.Rows.Start, g)
		}
		b, a, err := s.attempt(e.Band, e.Attempt, true)
		if err != nil {
			return err
		}
		a.Text, a.Tokens, a.Done, a.Truncated = e.Text, e.Tokens, true, e.Truncated
		b.Thinking = false
		b.Thought = e.Text
		if e.EndRow > 0 {
			b.Rows.End = e.EndRow
		}
	case *protocol.PlanReview:
		_, a, err := s.attempt(e.Band, e.Attempt, false)
		if err != nil {
			return err
		}
		r := *e
		a.Review = &r
	case *protocol.BandProgress:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		if e.Row < 0 || e.Row >= g || len(e.Tokens) != g {
			return fmt.Errorf("band_progress has row %d with %d tokens", e.Row, len(e.Tokens))
		}
		if e.Round < 0 || e.Round >= MaxRounds {
			return fmt.Errorf("band_progress has round %d", e.Round)
		}
		for i, t := range e.Tokens {
			if t < 0 || t >= tokens.NumImageTokens {
				return fmt.Errorf("band_progress row %d has token %d at column %d, outside [0,%d)", e.Row, t, i, tokens.NumImageTokens)
			}
		}
		var strip *canvas.Strip
		switch {
		case s.Pixels == nil && (e.PNG != "" || e.Pixels != nil):
			return fmt.Errorf("band_progress row %d carries pixels, but the run paints no picture (run_started has no width)", e.Row)
		case s.Pixels != nil:
			want := canvas.CellRows(e.Row, g, s.Pixels.H)
			if e.Pixels == nil || *e.Pixels != want {
				return fmt.Errorf("band_progress row %d must carry pixel rows [%d,%d) of the picture", e.Row, want.Start, want.End)
			}
			data, err := base64.StdEncoding.DecodeString(e.PNG)
			if err != nil {
				return fmt.Errorf("band_progress row %d: the png is not base64", e.Row)
			}
			st, err := canvas.DecodeStrip(data, want, s.Pixels.W)
			if err != nil {
				return fmt.Errorf("band_progress row %d: %w", e.Row, err)
			}
			strip = &st
		}
		if e.Round != b.Round {
			b.Round, b.Painted = e.Round, 0
		}
		if strip != nil {
			if err := s.Pixels.Put(*strip); err != nil {
				return err
			}
		}
		copy(s.Canvas[e.Row*g:], e.Tokens)
		b.Painted++
		b.Drawn = true
	case *protocol.BandDone:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		if !rowsOK(e.Rows, false) {
			return fmt.Errorf("band_done has rows [%d,%d)", e.Rows.Start, e.Rows.End)
		}
		b.Rows, b.Done = e.Rows, true
	case *protocol.Critique:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		if len(b.Critiques) >= MaxRounds {
			return fmt.Errorf("more than %d critiques of band %d", MaxRounds, e.Band)
		}
		b.Critiques = append(b.Critiques, *e)
	case *protocol.BandRedrawn:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		switch {
		case !rowsOK(e.Rows, false):
			return fmt.Errorf("band_redrawn has rows [%d,%d)", e.Rows.Start, e.Rows.End)
		case len(b.Redraws) >= MaxRounds || e.Round < 0 || e.Round >= MaxRounds:
			return fmt.Errorf("band_redrawn round %d of band %d is past the %d drawings a band has", e.Round, e.Band, MaxRounds)
		}
		for i := e.Rows.Start * g; i < e.Rows.End*g; i++ {
			s.Canvas[i] = -1
		}
		if s.Pixels != nil {
			r0, r1 := canvas.CellRows(e.Rows.Start, g, s.Pixels.H), canvas.CellRows(e.Rows.End-1, g, s.Pixels.H)
			_ = s.Pixels.ClearRows(protocol.Rows{Start: r0.Start, End: r1.End})
		}
		b.Rows, b.Thought, b.Round, b.Painted, b.Done = e.Rows, e.Thought, e.Round, 0, false
		b.Redraws = append(b.Redraws, *e)
	case *protocol.BudgetExhausted:
		if len(s.Budgets) >= 2 {
			return errors.New("more than two budget_exhausted events (there are two budgets)")
		}
		s.Budgets = append(s.Budgets, *e)
	case *protocol.RunDone:
		s.Done = e
	case *protocol.Error:
		s.Failure = e
	}
	return nil
}

// band is band i, which must have started.
func (s *State) band(i int) (*Band, error) {
	switch {
	case i < 0 || i >= protocol.MaxBands:
		return nil, fmt.Errorf("band %d: bands are 0 to %d", i, protocol.MaxBands-1)
	case i >= len(s.Bands):
		return nil, fmt.Errorf("band %d has not started (%d bands so far)", i, len(s.Bands))
	}
	return &s.Bands[i], nil
}

// attempt is attempt a of band i; open starts it when it is the next one.
func (s *State) attempt(i, a int, open bool) (*Band, *Attempt, error) {
	b, err := s.band(i)
	if err != nil {
		return nil, nil, err
	}
	switch {
	case a < 0 || a >= protocol.MaxPlanAttempts:
		return nil, nil, fmt.Errorf("attempt %d of band %d: attempts are 0 to %d", a, i, protocol.MaxPlanAttempts-1)
	case a == len(b.Attempts) && open:
		b.Attempts = append(b.Attempts, Attempt{})
	case a >= len(b.Attempts):
		return nil, nil, fmt.Errorf("attempt %d of band %d before attempt %d", a, i, len(b.Attempts))
	}
	return b, &b.Attempts[a], nil
}

// rowsOK: rows inside the canvas, End -1 (open) allowed when open.
func rowsOK(r protocol.Rows, open bool) bool {
	if r.Start < 0 || r.Start >= tokens.Grid {
		return false
	}
	if r.End == -1 {
		return open
	}
	return r.End > r.Start && r.End <= tokens.Grid
}
