// Package fold folds a run's events into what they describe: the canvas,
// the bands with their rows, each band's thoughts by attempt with their plan
// reviews, its critiques by round and its redraws, the adaptive decisions,
// the budgets spent and how the run ended. It is the one reading of the
// event stream: the replay and the GIF (package render), the sandbox's host
// (the partial result of a failed run) and twig draw's live view use it, and
// docs/PROTOCOL.md ("Folding events") states its rules so the page's
// JavaScript folds the same way.
//
// It reads twig/2 (pixel rows, a PNG a strip) and twig/1 (token rows of a
// 16×16 grid): a twig/1 run is folded onto a 256×256 canvas with a token
// grid of 16, its rows turned into pixel rows, so everything downstream
// sees one kind of canvas. It imports nothing of the synthetic world: a
// twig/1 token row's pixels are drawn by canvas.TokenRenderer, which the
// embedded model's package sets.
package fold

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
)

// twig/1's canvas: 16×16 tokens, drawn at 256×256 pixels (16 a token row).
const (
	v1Grid = 16
	v1Side = 256
)

// MaxRounds bounds a band's drawings. With it, the limits of a fold: a run
// has at most protocol.MaxBands bands, each at most protocol.MaxPlanAttempts
// plans and MaxRounds drawings. A stream that goes past them is refused as
// it is folded, so a forged trace costs no memory.
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
	// EndRow is where the thinker chose to end an open-ended band with this
	// plan (thought_done's end_row); 0 when it did not.
	EndRow int
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
	// (a rejected plan is rewritten; the last one is kept) or, with
	// plan_candidates, the one the final plan_review chose, replaced by the
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
	// V is the run's protocol version (run_started's); every event of the
	// run speaks it. Rows in this state are pixel rows whatever V is.
	V string
	// Canvas is the canvas (nil before run_started): band_progress strips
	// written in, a redrawn band's rows cleared to transparent; its token
	// view (Canvas.Tokens) when the painter is a token model. It costs
	// 4·width·height bytes (at most 64 MiB, canvas.MaxSide a side): a host
	// folding untrusted events bounds the picture by that.
	Canvas *canvas.Canvas
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
func New() *State { return &State{} }

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
	if !protocol.Readable(ev.V) {
		return fmt.Errorf("event %d speaks %q, want %q or %q", ev.Seq, ev.V, protocol.Version2, protocol.Version1)
	}
	if s.Started && ev.V != s.V {
		return fmt.Errorf("event %d speaks %q, the run %q: one run, one version", ev.Seq, ev.V, s.V)
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
	if err := s.apply(ev.V, ev.Payload); err != nil {
		return fmt.Errorf("event %d: %w", ev.Seq, err)
	}
	s.RunID, s.Seq = ev.RunID, ev.Seq
	return nil
}

// ApplyPayload folds an event's payload with no envelope to check (a host
// stamping the envelope itself), as this build's version (twig/2). An error
// leaves the state as it was; no payload can make it index outside the
// canvas or grow past the limits.
func (s *State) ApplyPayload(p protocol.Payload) error { return s.apply(protocol.Version2, p) }

func (s *State) apply(v string, p protocol.Payload) error {
	if s.Done != nil || s.Failure != nil {
		return fmt.Errorf("a %s after the run ended", p.EventType())
	}
	if _, ok := p.(*protocol.RunStarted); !ok && !s.Started {
		return fmt.Errorf("a %s before run_started", p.EventType())
	}
	if rs, ok := p.(*protocol.RunStarted); ok {
		return s.start(v, rs)
	}
	if s.V == protocol.Version1 {
		var err error
		if p, err = s.upgrade(p); err != nil {
			return err
		}
	}
	h := s.Canvas.H
	switch e := p.(type) {
	case *protocol.ThinkDecision:
		if len(s.Decisions) > h {
			return fmt.Errorf("more than %d think decisions", h+1)
		}
		s.Decisions = append(s.Decisions, *e)
	case *protocol.BandStarted:
		switch {
		case e.Band != len(s.Bands):
			return fmt.Errorf("band_started for band %d after %d bands: bands start in order", e.Band, len(s.Bands))
		case e.Band >= protocol.MaxBands:
			return fmt.Errorf("band %d: bands are 0 to %d", e.Band, protocol.MaxBands-1)
		case !s.rowsOK(e.Rows, true):
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
		if b, err := s.band(e.Band); err == nil && e.EndRow != 0 && (e.EndRow <= b.Rows.Start || e.EndRow > h) {
			return fmt.Errorf("thought_done ends band %d at row %d, outside (%d,%d]", e.Band, e.EndRow, b.Rows.Start, h)
		}
		b, a, err := s.attempt(e.Band, e.Attempt, true)
		if err != nil {
			return err
		}
		a.Text, a.Tokens, a.Done, a.Truncated, a.EndRow = e.Text, e.Tokens, true, e.Truncated, e.EndRow
		b.Thinking = false
		b.Thought = e.Text
		if e.EndRow > 0 {
			b.Rows.End = e.EndRow
		}
	case *protocol.PlanReview:
		b, a, err := s.attempt(e.Band, e.Attempt, false)
		if err != nil {
			return err
		}
		r := *e
		a.Review = &r
		if e.Chosen != nil { // plan_candidates: the band keeps the chosen plan
			c := *e.Chosen
			if c < 0 || c >= len(b.Attempts) || !b.Attempts[c].Done {
				return fmt.Errorf("plan_review of band %d chose attempt %d, not a written plan", e.Band, c)
			}
			b.Thought = b.Attempts[c].Text
			if end := b.Attempts[c].EndRow; end > 0 {
				b.Rows.End = end
			}
		}
	case *protocol.BandProgress:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		if e.Round < 0 || e.Round >= MaxRounds {
			return fmt.Errorf("band_progress has round %d", e.Round)
		}
		st, err := s.strip(b, e)
		if err != nil {
			return err
		}
		if err := s.Canvas.Put(st); err != nil {
			return fmt.Errorf("band_progress rows [%d,%d): %w", e.Rows.Start, e.Rows.End, err)
		}
		if e.Round != b.Round {
			b.Round, b.Painted = e.Round, 0
		}
		b.Painted += e.Rows.Len()
		b.Drawn = true
	case *protocol.BandDone:
		b, err := s.band(e.Band)
		if err != nil {
			return err
		}
		if !s.rowsOK(e.Rows, false) {
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
		case !s.rowsOK(e.Rows, false):
			return fmt.Errorf("band_redrawn has rows [%d,%d)", e.Rows.Start, e.Rows.End)
		case len(b.Redraws) >= MaxRounds || e.Round < 0 || e.Round >= MaxRounds:
			return fmt.Errorf("band_redrawn round %d of band %d is past the %d drawings a band has", e.Round, e.Band, MaxRounds)
		}
		_ = s.Canvas.ClearRows(e.Rows) // rowsOK: they lie in the canvas
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

// start folds run_started: the canvas of its size (twig/1: 256×256 with a
// grid of 16, or its real picture's size).
func (s *State) start(v string, e *protocol.RunStarted) error {
	if s.Started {
		return errors.New("a second run_started")
	}
	var c *canvas.Canvas
	var err error
	plan := slices.Clone(e.Plan)
	switch {
	case len(e.Plan) > protocol.MaxBands:
		return fmt.Errorf("a plan of %d bands, more than %d", len(e.Plan), protocol.MaxBands)
	case v == protocol.Version1 && e.Grid != 0 && e.Grid != v1Grid:
		return fmt.Errorf("the twig/1 run's grid is %d×%d, twig/1 drew %d×%d", e.Grid, e.Grid, v1Grid, v1Grid)
	case v == protocol.Version1 && e.Width == 0 && e.Height == 0:
		c, err = canvas.NewGrid(v1Side, v1Side, v1Grid)
	case v == protocol.Version1:
		// A twig/1 real picture: its tokens were the embedded model's view
		// of the pixels, not a token model's painting.
		if e.Height < v1Grid {
			return fmt.Errorf("a picture of %d×%d pixels: use 1 to %d a side, at least %d rows", e.Width, e.Height, canvas.MaxSide, v1Grid)
		}
		c, err = canvas.New(e.Width, e.Height)
	case e.Grid != 0:
		c, err = canvas.NewGrid(e.Width, e.Height, e.Grid)
	default:
		c, err = canvas.New(e.Width, e.Height)
	}
	if err != nil {
		return fmt.Errorf("run_started: %w", err)
	}
	s.Canvas, s.V = c, v
	if v == protocol.Version1 {
		for i, r := range plan {
			plan[i] = s.v1Rows(r)
		}
	}
	for _, r := range plan {
		if !s.rowsOK(r, false) {
			return fmt.Errorf("run_started's plan has rows [%d,%d)", r.Start, r.End)
		}
	}
	s.Started, s.Prompt, s.Settings, s.Backend, s.Plan = true, e.Prompt, e.Settings, e.Backend, plan
	return nil
}

// strip is band_progress e's strip, checked: rows inside the canvas and in
// the band's rows, a PNG of exactly those rows (a twig/1 token row: its
// tokens, drawn by canvas.TokenRenderer), tokens only on a canvas with a grid.
func (s *State) strip(b *Band, e *protocol.BandProgress) (canvas.Strip, error) {
	c := s.Canvas
	end := b.Rows.End
	if end < 0 {
		end = c.H
	}
	switch {
	case e.Rows.Start < b.Rows.Start || e.Rows.End > end || e.Rows.End <= e.Rows.Start:
		return canvas.Strip{}, fmt.Errorf("band_progress has rows [%d,%d), outside band %d's rows [%d,%d)", e.Rows.Start, e.Rows.End, e.Band, b.Rows.Start, end)
	case e.Tokens != nil && c.Grid == 0:
		return canvas.Strip{}, fmt.Errorf("band_progress rows [%d,%d) carry tokens, but the run has no token grid", e.Rows.Start, e.Rows.End)
	}
	for i, t := range e.Tokens {
		if t < 0 || t >= protocol.MaxToken {
			return canvas.Strip{}, fmt.Errorf("band_progress rows [%d,%d) have token %d at %d, outside [0,%d)", e.Rows.Start, e.Rows.End, t, i, protocol.MaxToken)
		}
	}
	if e.PNG == "" && s.V == protocol.Version1 {
		// A twig/1 token row: its pixels are the token model's rendering.
		st := canvas.Strip{Rows: e.Rows, W: c.W, Pix: make([]uint8, 4*c.W*e.Rows.Len()), Tokens: e.Tokens}
		if canvas.TokenRenderer != nil && c.Grid > 0 && len(e.Tokens) == c.Grid {
			view := slices.Clone(c.Tokens)
			first, _ := c.TokenRows(e.Rows)
			copy(view[first*c.Grid:], e.Tokens)
			if r := canvas.TokenRenderer(view, c.Grid, e.Rows, c.W, c.H); r.Rows == e.Rows && len(r.Pix) == len(st.Pix) {
				st.Pix = r.Pix
			}
		}
		return st, nil
	}
	if src, ok := e.PNGSource().(canvas.Strip); ok && e.PNG == "" && src.Rows == e.Rows && src.W == c.W && len(src.Pix) == 4*c.W*e.Rows.Len() {
		// A native engine's event: the strip's pixels as painted, not a
		// PNG encoded to be decoded back (Put copies them).
		src.Tokens = e.Tokens
		return src, nil
	}
	png, err := e.EncodedPNG()
	if err != nil {
		return canvas.Strip{}, fmt.Errorf("band_progress rows [%d,%d): %w", e.Rows.Start, e.Rows.End, err)
	}
	st, err := canvas.DecodeBase64(png, e.Rows, c.W, e.Tokens)
	if err != nil {
		return canvas.Strip{}, fmt.Errorf("band_progress rows [%d,%d): %w", e.Rows.Start, e.Rows.End, err)
	}
	return st, nil
}

// upgrade turns a twig/1 payload into twig/2's: token rows into pixel rows.
// A twig/1 band_progress of a real picture keeps its pixel rows and PNG
// and drops its tokens (the embedded model's view of them, not a token
// model's painting).
func (s *State) upgrade(p protocol.Payload) (protocol.Payload, error) {
	switch e := p.(type) {
	case *protocol.ThinkDecision:
		d := *e
		d.Row = s.v1Row(d.Row)
		return &d, nil
	case *protocol.BandStarted:
		d := *e
		d.Rows = s.v1Rows(d.Rows)
		return &d, nil
	case *protocol.ThoughtDone:
		d := *e
		if d.EndRow > 0 {
			d.EndRow = s.v1Row(d.EndRow)
		}
		return &d, nil
	case *protocol.BandProgress:
		if e.Row < 0 || e.Row >= v1Grid || len(e.Tokens) != v1Grid {
			return nil, fmt.Errorf("band_progress has row %d with %d tokens", e.Row, len(e.Tokens))
		}
		d := protocol.BandProgress{Band: e.Band, Round: e.Round, Rows: s.v1Rows(protocol.Rows{Start: e.Row, End: e.Row + 1})}
		switch {
		case s.Canvas.Grid == 0 && e.Pixels == nil:
			return nil, fmt.Errorf("band_progress row %d must carry pixel rows [%d,%d) of the picture", e.Row, d.Rows.Start, d.Rows.End)
		case s.Canvas.Grid == 0:
			if *e.Pixels != d.Rows {
				return nil, fmt.Errorf("band_progress row %d must carry pixel rows [%d,%d) of the picture", e.Row, d.Rows.Start, d.Rows.End)
			}
			d.PNG = e.PNG
		case e.PNG != "" || e.Pixels != nil:
			return nil, fmt.Errorf("band_progress row %d carries pixels, but the run paints no picture (run_started has no width)", e.Row)
		default:
			d.Tokens = e.Tokens
		}
		return &d, nil
	case *protocol.BandDone:
		d := *e
		d.Rows = s.v1Rows(d.Rows)
		return &d, nil
	case *protocol.Critique:
		d := *e
		d.Rows = s.v1Rows(d.Rows)
		return &d, nil
	case *protocol.BandRedrawn:
		d := *e
		d.Rows = s.v1Rows(d.Rows)
		return &d, nil
	case *protocol.RunDone:
		d := *e
		d.Bands = slices.Clone(d.Bands)
		for i, r := range d.Bands {
			d.Bands[i] = s.v1Rows(r)
		}
		if s.Canvas.Grid == 0 {
			d.Tokens = nil // the picture's token view, not the canvas's
		}
		return &d, nil
	}
	return p, nil
}

// v1Row is twig/1's token row boundary r as a pixel row; out of range stays
// out of range (rowsOK refuses it).
func (s *State) v1Row(r int) int {
	if r < 0 || r > v1Grid {
		return -s.Canvas.H - 1
	}
	return r * s.Canvas.H / v1Grid
}

func (s *State) v1Rows(r protocol.Rows) protocol.Rows {
	out := protocol.Rows{Start: s.v1Row(r.Start), End: -1}
	if r.End != -1 {
		out.End = s.v1Row(r.End)
	}
	return out
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
func (s *State) rowsOK(r protocol.Rows, open bool) bool {
	h := s.Canvas.H
	if r.Start < 0 || r.Start >= h {
		return false
	}
	if r.End == -1 {
		return open
	}
	return r.End > r.Start && r.End <= h
}
