package protocol

import "encoding/json"

// Rows is a half-open range [Start, End) of canvas rows: pixel rows in
// twig/2, token rows in twig/1. End is -1 while a band is open-ended
// (adaptive mode, before its end is known).
type Rows struct {
	// Start is the first row of the range.
	Start int `json:"start"`
	// End is one past the last row, or -1 when not known yet.
	End int `json:"end"`
}

// Len returns the number of rows, or 0 when End is not known.
func (r Rows) Len() int {
	if r.End < 0 {
		return 0
	}
	return r.End - r.Start
}

// RunStarted opens every stream.
type RunStarted struct {
	// Prompt is the user's request.
	Prompt string `json:"prompt"`
	// Settings are the run's settings with defaults filled in.
	Settings Settings `json:"settings"`
	// Backend names the model backend, when it has a name.
	Backend string `json:"backend,omitempty"`
	// Grid is, in twig/2, the token grid's side when the painter is a token
	// model (the embedded model: 16; token row r covers pixel rows
	// [r·Height/Grid, (r+1)·Height/Grid)), 0 otherwise. In twig/1 it was
	// always the canvas side in cells (the canvas was Grid×Grid tokens).
	Grid int `json:"grid,omitempty"`
	// Plan lists the bands of a fixed schedule (pixel rows in twig/2);
	// empty in adaptive mode.
	Plan []Rows `json:"plan,omitempty"`
	// Width and Height are the canvas's size in pixels; twig/2 always sets
	// them. In twig/1 they were set only when the painter painted real
	// pictures (band_progress then carried each row's pixels as a PNG).
	Width  int `json:"width,omitempty"`
	Height int `json:"height,omitempty"`
}

// ThinkDecision records, in adaptive mode, whether the run stops to think at
// a row boundary. Think at a row after the first ends the current band there.
type ThinkDecision struct {
	// Row is the row boundary the decision is about (the next row to
	// paint): a pixel row in twig/2, the edge of a strip.
	Row int `json:"row"`
	// Think is true when a thought (and a new band) starts at Row.
	Think bool `json:"think"`
	// Probability is the decider's probability of thinking, in [0, 1].
	Probability float64 `json:"probability"`
	// Source is "decider" when a Decider decided, "default" otherwise.
	Source string `json:"source"`
}

// BandStarted opens a band; its thought (if any) and rows follow.
type BandStarted struct {
	// Band is the band's index, from 0.
	Band int `json:"band"`
	// Rows are the band's rows; End is -1 when the band is open-ended.
	Rows Rows `json:"rows"`
}

// ThoughtDelta is a piece of a thought as the thinker writes it.
type ThoughtDelta struct {
	// Band is the band the thought is for.
	Band int `json:"band"`
	// Text is the new text, to append to the band's thought so far.
	Text string `json:"text"`
	// Coalesced, when 2 or more, says this delta stands for that many: a
	// server merged consecutive deltas for a client that read too slowly. Its
	// seq is the last merged one's, so the seq before it is seq−Coalesced.
	Coalesced int `json:"coalesced,omitempty"`
	// Attempt is 0 for the band's first plan, a for its a-th rewrite after
	// the thinker rejected its own plan (see PlanReview): a UI starts a new
	// thought for each attempt.
	Attempt int `json:"attempt,omitempty"`
}

// ThoughtDone closes a thought.
type ThoughtDone struct {
	// Band is the band the thought is for.
	Band int `json:"band"`
	// Text is the whole thought.
	Text string `json:"text"`
	// Tokens is the number of thought tokens (deltas) it took.
	Tokens int `json:"tokens"`
	// EndRow is where the thinker chose to end an open-ended band (a pixel
	// row in twig/2); 0 when it did not.
	EndRow int `json:"end_row,omitempty"`
	// Truncated is true when the thought-token budget cut the thought short.
	Truncated bool `json:"truncated,omitempty"`
	// Attempt is 0 for the band's first plan, a for its a-th rewrite.
	Attempt int `json:"attempt,omitempty"`
}

// PlanReview is the thinker's review of its own plan, written after a
// thought when the run reflects (before the band is painted): accepted, or
// rejected with the reason in the model's words. A rejected plan is followed
// by a new thought for the band (attempt+1), while attempts are left.
type PlanReview struct {
	// Band is the band the plan is for.
	Band int `json:"band"`
	// Attempt is the plan reviewed: 0 the first, a the a-th rewrite.
	Attempt int `json:"attempt"`
	// Accepted is the verdict.
	Accepted bool `json:"accepted"`
	// Reason says why a plan was rejected (empty when accepted).
	Reason string `json:"reason,omitempty"`
	// Thought is the plan reviewed.
	Thought string `json:"thought"`
	// Tokens is how many tokens the review took to write.
	Tokens int `json:"tokens"`
	// Final is true when the band keeps this plan: accepted, or the last
	// attempt the settings allow. With plan_candidates, it marks the last
	// candidate's review, and Chosen says which plan the band keeps.
	Final bool `json:"final"`
	// POk is the thinker's reported probability that the plan is right
	// (its "ok" against "bad"); 0 when it does not report one.
	POk float64 `json:"p_ok,omitempty"`
	// Chosen, on the final review of a run with plan_candidates ≥ 2, is the
	// attempt whose plan the band keeps (the others are set aside, like
	// rejected plans); absent otherwise, when the final plan is kept.
	Chosen *int `json:"chosen,omitempty"`
}

// MaxToken bounds a token model's image tokens on the wire (band_progress,
// call_strip, a call's canvas): the embedded model has 181.
const MaxToken = 181

// BandProgress carries one painted strip: enough to redraw the partial canvas.
//
// twig/2: Rows are the pixel rows painted, PNG their pixels, and Tokens the
// token rows they came from when a token model painted them. twig/1 (read
// only): Row was the token row painted, Tokens its Grid tokens, and Pixels
// with PNG that row's pixel rows when the run painted a real picture.
type BandProgress struct {
	// Band is the band being painted.
	Band int `json:"band"`
	// Round is 0 for the first drawing, r for the r-th redraw.
	Round int `json:"round"`
	// Rows are the canvas's pixel rows painted, inside the band (twig/2).
	Rows Rows `json:"rows"`
	// PNG is the base64 PNG (RGBA) of exactly those rows, as wide as the
	// canvas (twig/2; in twig/1, of the rows Pixels).
	PNG string `json:"png,omitempty"`
	// Tokens are, when a token model painted the strip, the token rows it
	// came from in raster order: Grid tokens a token row, the strip being
	// whole token rows (twig/2). In twig/1, token row Row's Grid tokens.
	Tokens []int `json:"tokens,omitempty"`
	// Row is twig/1's token row; twig/2 does not write it.
	Row int `json:"row,omitempty"`
	// Pixels is twig/1's pixel rows of PNG; twig/2 does not write it.
	Pixels *Rows `json:"pixels,omitempty"`

	lazy *lazyPNG // PNG's source when PNG is empty (SetPNGSource)
}

// bandProgressV2 and bandProgressV1 are band_progress's two forms on the wire.
type bandProgressV2 struct {
	Band   int    `json:"band"`
	Round  int    `json:"round"`
	Rows   Rows   `json:"rows"`
	PNG    string `json:"png"`
	Tokens []int  `json:"tokens,omitempty"`
}

type bandProgressV1 struct {
	Band   int    `json:"band"`
	Round  int    `json:"round"`
	Row    int    `json:"row"`
	Tokens []int  `json:"tokens"`
	Pixels *Rows  `json:"pixels,omitempty"`
	PNG    string `json:"png,omitempty"`
}

// MarshalJSON writes the twig/2 form (rows, png, tokens when set) when Rows
// is set (End > 0: a strip is never empty), else the twig/1 form (row,
// tokens, and pixels and png when set), each field as its version wrote it.
func (p BandProgress) MarshalJSON() ([]byte, error) {
	if p.Rows.End != 0 {
		png, err := p.EncodedPNG()
		if err != nil {
			return nil, err
		}
		return json.Marshal(bandProgressV2{Band: p.Band, Round: p.Round, Rows: p.Rows, PNG: png, Tokens: p.Tokens})
	}
	return json.Marshal(bandProgressV1{Band: p.Band, Round: p.Round, Row: p.Row, Tokens: p.Tokens, Pixels: p.Pixels, PNG: p.PNG})
}

// BandDone closes the painting of a band (first drawing or a redraw).
type BandDone struct {
	// Band is the band painted.
	Band int `json:"band"`
	// Round is 0 for the first drawing, r for the r-th redraw.
	Round int `json:"round"`
	// Rows are the band's final rows.
	Rows Rows `json:"rows"`
}

// Critique is the critic's judgement of a band.
type Critique struct {
	// Band is the band judged.
	Band int `json:"band"`
	// Round is the drawing judged: 0 the first, r the r-th redraw.
	Round int `json:"round"`
	// Rows are the band's rows.
	Rows Rows `json:"rows"`
	// Score is the critic's score, 0–100 (0 when not parsed).
	Score int `json:"score"`
	// Parsed is false when the critic's score could not be parsed.
	Parsed bool `json:"parsed"`
	// Revision is the critic's improved thought for the band.
	Revision string `json:"revision"`
	// Verdict is "pass" or "redraw".
	Verdict string `json:"verdict"`
	// Reason says why: above_threshold, unparsed, below_threshold, max_revisions, revision_budget.
	Reason string `json:"reason"`
	// Raw is the critic's raw output, when it has one.
	Raw string `json:"raw,omitempty"`
	// Tokens counts what the critic generated, when it reports it: its
	// description of the band.
	Tokens int `json:"tokens,omitempty"`
}

// BandRedrawn starts a redraw: the band's cells are undrawn again and the band
// is painted anew with Thought. Its rows follow as band_progress events.
type BandRedrawn struct {
	// Band is the band redrawn.
	Band int `json:"band"`
	// Round is the redraw's round, from 1.
	Round int `json:"round"`
	// Rows are the band's rows, cleared to undrawn: pixel rows made
	// transparent in twig/2 (token rows set to -1 in twig/1).
	Rows Rows `json:"rows"`
	// Thought is the band's new thought (the critique's revision).
	Thought string `json:"thought"`
}

// BudgetExhausted says a run budget ran out; the run goes on without it.
type BudgetExhausted struct {
	// Budget is "thought_tokens" or "revisions".
	Budget string `json:"budget"`
	// Limit is the budget's size.
	Limit int `json:"limit"`
	// Band is the band at which it ran out.
	Band int `json:"band"`
	// Action says what the run does instead.
	Action string `json:"action"`
}

// RunDone closes a successful stream.
type RunDone struct {
	// PNG is the final canvas, a base64 PNG (RGBA) of run_started's width
	// and height (twig/2).
	PNG string `json:"png,omitempty"`
	// Tokens is the final canvas as Grid×Grid image tokens in raster order:
	// in twig/2 only when every row came from a token model; in twig/1
	// always.
	Tokens []int `json:"tokens,omitempty"`
	// Thoughts are the accepted thoughts, one per band ("" for none).
	Thoughts []string `json:"thoughts"`
	// Bands are the bands' rows.
	Bands []Rows `json:"bands"`
	// Stats count what the run did.
	Stats Stats `json:"stats"`

	lazy *lazyPNG // PNG's source when PNG is empty (SetPNGSource)
}

// Stats count a run's work.
type Stats struct {
	// Bands is the number of bands.
	Bands int `json:"bands"`
	// ThoughtTokens is the number of thought tokens written.
	ThoughtTokens int `json:"thought_tokens"`
	// ImageTokens is the number of image tokens painted by token models,
	// redraws included.
	ImageTokens int `json:"image_tokens"`
	// PixelRows is the number of pixel rows painted, redraws included (twig/2).
	PixelRows int `json:"pixel_rows,omitempty"`
	// Critiques is the number of critiques.
	Critiques int `json:"critiques"`
	// Unparsed is the number of critiques whose score was not parsed.
	Unparsed int `json:"unparsed"`
	// Revisions is the number of band redraws.
	Revisions int `json:"revisions"`
	// PlanReviews is the number of plans the thinker reviewed.
	PlanReviews int `json:"plan_reviews,omitempty"`
	// PlanRejections is the number of plans it rejected (each one rethought
	// while attempts were left).
	PlanRejections int `json:"plan_rejections,omitempty"`
	// ReviewTokens is the number of tokens the reviews took.
	ReviewTokens int `json:"review_tokens,omitempty"`
	// Timings are the wall-clock milliseconds spent per phase.
	Timings Timings `json:"timings"`
}

// Timings are wall-clock milliseconds per phase of a run.
type Timings struct {
	// ThinkMs is time in the thinker.
	ThinkMs int64 `json:"think_ms"`
	// PaintMs is time in the painter.
	PaintMs int64 `json:"paint_ms"`
	// CritiqueMs is time in the critic.
	CritiqueMs int64 `json:"critique_ms"`
	// DecideMs is time in the decider.
	DecideMs int64 `json:"decide_ms"`
	// TotalMs is the whole run.
	TotalMs int64 `json:"total_ms"`
}

// Error closes a failed stream.
type Error struct {
	// Code is one of the Code constants.
	Code string `json:"code"`
	// Message says what failed, in one line.
	Message string `json:"message"`
}

// Error returns the message with its code.
func (e *Error) Error() string { return e.Code + ": " + e.Message }

// Unknown is the payload of an event whose type this build does not know;
// readers skip it.
type Unknown struct {
	// Type is the unknown type name.
	Type string `json:"-"`
	// Raw is the whole event line.
	Raw []byte `json:"-"`
}

func (*RunStarted) EventType() string      { return TypeRunStarted }
func (*ThinkDecision) EventType() string   { return TypeThinkDecision }
func (*BandStarted) EventType() string     { return TypeBandStarted }
func (*ThoughtDelta) EventType() string    { return TypeThoughtDelta }
func (*ThoughtDone) EventType() string     { return TypeThoughtDone }
func (*BandProgress) EventType() string    { return TypeBandProgress }
func (*BandDone) EventType() string        { return TypeBandDone }
func (*Critique) EventType() string        { return TypeCritique }
func (*BandRedrawn) EventType() string     { return TypeBandRedrawn }
func (*PlanReview) EventType() string      { return TypePlanReview }
func (*BudgetExhausted) EventType() string { return TypeBudgetExhausted }
func (*RunDone) EventType() string         { return TypeRunDone }
func (*Error) EventType() string           { return TypeError }
func (u *Unknown) EventType() string       { return u.Type }

// newPayload returns an empty payload for a known type, or nil.
func newPayload(typ string) Payload {
	switch typ {
	case TypeRunStarted:
		return &RunStarted{}
	case TypeThinkDecision:
		return &ThinkDecision{}
	case TypeBandStarted:
		return &BandStarted{}
	case TypeThoughtDelta:
		return &ThoughtDelta{}
	case TypeThoughtDone:
		return &ThoughtDone{}
	case TypeBandProgress:
		return &BandProgress{}
	case TypeBandDone:
		return &BandDone{}
	case TypeCritique:
		return &Critique{}
	case TypeBandRedrawn:
		return &BandRedrawn{}
	case TypePlanReview:
		return &PlanReview{}
	case TypeBudgetExhausted:
		return &BudgetExhausted{}
	case TypeRunDone:
		return &RunDone{}
	case TypeError:
		return &Error{}
	case TypeHello:
		return &Hello{}
	case TypeCallDelta:
		return &CallDelta{}
	case TypeCallRow:
		return &CallRow{}
	case TypeCallStrip:
		return &CallStrip{}
	case TypeCallDone:
		return &CallDone{}
	}
	return nil
}

// Types lists every event type this build knows, in stream order.
func Types() []string {
	return []string{TypeRunStarted, TypeThinkDecision, TypeBandStarted, TypeThoughtDelta,
		TypeThoughtDone, TypePlanReview, TypeBandProgress, TypeBandDone, TypeCritique, TypeBandRedrawn,
		TypeBudgetExhausted, TypeRunDone, TypeError}
}
