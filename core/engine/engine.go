// Package engine runs the Thinking-while-Generating loop: before each band of
// rows a thinker writes a thought, a painter draws the band row by row, and a
// critic scores it; below the threshold the band's thought is replaced by the
// critic's revision and only that band is redrawn.
//
// Roles are small interfaces so that one model may play all of them and a
// remote service may play one. Every request carries the whole state (prompt,
// settings, earlier thoughts, a copy of the canvas), so stateless roles work.
// Draw emits the run's events (package protocol) to a Sink in order, and
// returns the final canvas and stats. The package has no mutable package-level
// state: any number of runs may go at once.
package engine

import (
	"context"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Settings control a run; see protocol.Settings. DefaultSettings gives the defaults.
type Settings = protocol.Settings

// Rows is a half-open range of canvas rows; End is -1 while a band is open-ended.
type Rows = protocol.Rows

// DefaultSettings returns the default settings (the one place they live is package protocol).
func DefaultSettings() Settings { return protocol.DefaultSettings() }

// Thinker writes the thought for a band, streaming it through emit, and
// returns the whole thought. One call of emit is one thought token.
type Thinker interface {
	Think(ctx context.Context, req ThinkRequest, emit func(delta string)) (string, error)
}

// PlanReviewer is optional: a thinker that can judge its own plan. When a
// run reflects (and Settings.PlanAttempts > 0) the engine asks it to review
// each thought right after it is written; a rejected plan is written again
// (ThinkRequest.Rejected holds what was rejected and why) while attempts are
// left. The review must come from the thinker's own output — a model's
// verdict in its own words — so that any thinker can play it.
type PlanReviewer interface {
	ReviewPlan(ctx context.Context, req ReviewRequest) (PlanReview, error)
}

// ReviewRequest asks the thinker to review the plan it wrote for band Band.
type ReviewRequest struct {
	State
	// Thought is the plan to review.
	Thought string `json:"thought"`
	// Attempt is 0 for the band's first plan, a for its a-th rewrite.
	Attempt int `json:"attempt"`
	// Rejected are the band's earlier plans that were rejected, oldest first.
	Rejected []RejectedPlan `json:"rejected,omitempty"`
}

// PlanReview is a thinker's verdict on its plan.
type PlanReview struct {
	// Accepted is the verdict.
	Accepted bool `json:"accepted"`
	// Reason says why a plan was rejected, in the thinker's words.
	Reason string `json:"reason,omitempty"`
	// Tokens is how many tokens the review took (0 = unknown).
	Tokens int `json:"tokens,omitempty"`
}

// RejectedPlan is a plan its thinker rejected, with the reason.
type RejectedPlan struct {
	Thought string `json:"thought"`
	Reason  string `json:"reason"`
}

// Painter paints the rows of req.Rows in order, calling onRow once per row
// with that row's tokens.Grid tokens, and returns when done. When req.Rows.End
// is -1 (adaptive mode) it paints until row tokens.Grid or until ctx is
// cancelled: the engine cancels ctx to end a band early, so a painter must
// check ctx between rows.
type Painter interface {
	PaintBand(ctx context.Context, req PaintRequest, onRow func(row int, tokens []int)) error
}

// PixelPainter is optional: a painter of real pictures (a remote image
// model) rather than of the token grid. The run's canvas is then also a
// picture of PictureSize pixels, which every request carries
// (State.Picture), and each painted row comes with its pixels: token row r
// is the picture's pixel rows canvas.CellRows(r, tokens.Grid, h), and its
// tokens are the embedded model's view of those pixels (what an embedded
// role reads). The engine writes only those rows: whatever the painter does,
// the pixels outside the band it paints stay as they were.
type PixelPainter interface {
	Painter
	// PictureSize is the picture's width and height in pixels; the height
	// is at least tokens.Grid.
	PictureSize() (w, h int)
	// PaintPixels is PaintBand with each row's pixels in strip.
	PaintPixels(ctx context.Context, req PaintRequest, onRow func(row int, tokens []int, strip canvas.Strip)) error
}

// Critic scores a freshly drawn band and proposes a revised thought.
type Critic interface {
	Critique(ctx context.Context, req CritiqueRequest) (Critique, error)
}

// Decider is optional (adaptive mode): asked at each row boundary whether to
// stop and think. Thinking at a row starts a new band there.
type Decider interface {
	ShouldThink(ctx context.Context, req DecideRequest) (think bool, p float64, err error)
}

// Roles are the parts a run is played by. Decider may be nil.
type Roles struct {
	Thinker Thinker
	Painter Painter
	Critic  Critic
	Decider Decider
}

// Backend makes per-run roles (a model keeps per-run state such as a KV
// cache). A Backend must allow many NewRun calls at once.
type Backend interface {
	NewRun(ctx context.Context, spec RunSpec) (Run, error)
	// DefaultBands is the number of bands used when Settings.Bands is 0.
	DefaultBands() int
}

// Run is one run's roles and state; Close ends the run's state.
type Run interface {
	Roles() Roles
	Close() error
}

// Named is implemented by backends that have a name to record in run_started.
type Named interface {
	Name() string
}

// RunSpec says what to run. When Seed is 0 the engine takes Settings.Seed;
// otherwise Seed wins and is copied into Settings.Seed. Backends receive the
// spec with both equal and Settings.Bands resolved.
type RunSpec struct {
	// Prompt is the user's request.
	Prompt string `json:"prompt"`
	// Seed makes the run reproducible.
	Seed int64 `json:"seed"`
	// Settings control the run (start from DefaultSettings).
	Settings Settings `json:"settings"`
	// RunID names the run in its events; empty = a random one.
	RunID string `json:"run_id,omitempty"`
}

// State is what every request carries: everything a stateless role needs.
type State struct {
	// Prompt is the user's request.
	Prompt string `json:"prompt"`
	// Settings are the run's settings.
	Settings Settings `json:"settings"`
	// Band is the band's index, from 0.
	Band int `json:"band"`
	// Rows are the band's rows; End is -1 when open-ended (adaptive mode).
	Rows Rows `json:"rows"`
	// Thoughts are the accepted thoughts of the earlier bands, in order ("" where none).
	Thoughts []string `json:"thoughts"`
	// Canvas is a copy of the canvas so far; -1 marks undrawn cells.
	Canvas tokens.Tokens `json:"canvas"`
	// Picture is a copy of the real picture so far when the painter paints
	// one (PixelPainter), transparent where undrawn; nil otherwise. Roles
	// that see pictures (a remote thinker, critic or painter) look at it;
	// Canvas is its token view.
	Picture *canvas.Canvas `json:"-"`
}

// ThinkRequest asks for the thought of band Band.
type ThinkRequest struct {
	State
	// SetEnd is set when the band is open-ended (Rows.End == -1): the thinker
	// may call it to end the band at row end, Rows.Start < end ≤ tokens.Grid.
	// It is nil otherwise.
	SetEnd func(end int) `json:"-"`
	// Attempt is 0 for the band's first plan, a for the a-th rewrite of a
	// plan the thinker rejected (see PlanReviewer).
	Attempt int `json:"attempt,omitempty"`
	// Rejected are the band's plans rejected so far, oldest first: a rewrite
	// is written with them in view.
	Rejected []RejectedPlan `json:"rejected,omitempty"`
}

// PaintRequest asks for the rows of band Band.
type PaintRequest struct {
	State
	// Round is 0 for the first drawing, r for the r-th redraw.
	Round int `json:"round"`
	// Thought is the band's thought ("" when not thinking).
	Thought string `json:"thought"`
}

// CritiqueRequest asks to judge band Band, which Canvas now holds.
type CritiqueRequest struct {
	State
	// Round is the drawing judged: 0 the first, r the r-th redraw.
	Round int `json:"round"`
	// Thought is the thought the band was drawn from.
	Thought string `json:"thought"`
}

// DecideRequest asks whether to think at row Row. Inside a band, Band and
// Rows are that band's (Rows.End -1) and Thought its thought; at a band's
// start, Band is the band about to start and Rows is {Row, -1}.
type DecideRequest struct {
	State
	// Row is the row boundary: the next row to paint.
	Row int `json:"row"`
	// Thought is the current band's thought when Row is inside the band, else "".
	Thought string `json:"thought"`
}

// Critique is a critic's judgement.
type Critique struct {
	// Score is 0–100.
	Score int `json:"score"`
	// Parsed is false when no score could be read; the band then passes and it is recorded.
	Parsed bool `json:"parsed"`
	// Revision is an improved thought for the band.
	Revision string `json:"revision"`
	// Raw is the critic's raw output, if any.
	Raw string `json:"raw,omitempty"`
	// Tokens is how many tokens the critic generated, when it knows
	// (0 = unknown; counters then estimate from Raw).
	Tokens int `json:"tokens,omitempty"`
}

// Sink receives a run's events in order, on the run's goroutine or a role's.
// Calls never overlap. An error stops the run (code sink_failed).
type Sink func(protocol.Event) error

// Result is what a run made.
type Result struct {
	// RunID names the run.
	RunID string
	// Tokens is the final canvas (partial when the run failed).
	Tokens tokens.Tokens
	// Picture is the final picture when the painter paints real pictures
	// (PixelPainter), else nil.
	Picture *canvas.Canvas
	// Thoughts are the accepted thoughts, one per band.
	Thoughts []string
	// Bands are the bands' rows.
	Bands []Rows
	// Stats count the run's work.
	Stats protocol.Stats
}
