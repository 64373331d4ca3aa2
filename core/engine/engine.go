// Package engine runs the Thinking-while-Generating loop on a canvas of W×H
// pixels cut into bands of pixel rows: before each band a thinker writes a
// thought, a painter draws the band strip by strip, and a critic scores it;
// below the threshold the band's thought is replaced by the critic's
// revision and only that band is redrawn.
//
// Roles are small interfaces so that one model may play all of them and a
// remote service may play one. Every request carries the whole state (prompt,
// settings, earlier thoughts, a copy of the canvas), so stateless roles work.
// Draw emits the run's events (package protocol) to a Sink in order, and
// returns the final canvas and stats. The package has no mutable package-level
// state: any number of runs may go at once. It imports nothing of the
// synthetic world: a token model (package model) keeps its token grid as
// its own view of the canvas (canvas.Canvas.Tokens).
package engine

import (
	"context"
	"fmt"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
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
	// POk is the thinker's probability that the plan is right, in (0, 1];
	// 0 = not reported (then candidates rank by the verdict alone).
	POk float64 `json:"p_ok,omitempty"`
}

// RejectedPlan is a plan its thinker rejected, with the reason.
type RejectedPlan struct {
	Thought string `json:"thought"`
	Reason  string `json:"reason"`
}

// Painter paints the pixel rows of req.Rows in strips, in order from the
// top, calling onStrip once per strip, and returns when done: each strip is
// as wide as the canvas (req.Canvas.W), starts where the last one ended and
// lies inside the band; a token model's strips are whole token rows with
// their Tokens set. When req.Rows.End is -1 (adaptive mode) it paints until
// the canvas's last row or until ctx is cancelled: the engine cancels ctx
// to end a band early (the decider is asked after each strip), so a painter
// must check ctx between strips. The engine writes each strip into the
// canvas and nothing else: whatever a painter does, the pixels outside the
// strips it hands over stay as they were.
type Painter interface {
	PaintBand(ctx context.Context, req PaintRequest, onStrip func(canvas.Strip)) error
}

// Geometry is the canvas a painter paints: Width×Height pixels whose band
// edges are multiples of Unit pixel rows; Grid is the token grid's side
// when the painter is a token model (Unit is then Height/Grid), else 0.
type Geometry struct {
	Width, Height int
	Grid          int
	Unit          int
}

// TokenGeometry is a twig token model's canvas (the embedded model's): 256×256
// pixels, a grid of 16 tokens a side, one token row 16 pixel rows. A painter
// without a Geometry method paints it.
var TokenGeometry = Geometry{Width: 256, Height: 256, Grid: 16, Unit: 16}

// Sizer is optional: a painter with a canvas of its own (a remote image
// model paints at its size). Painters without it paint TokenGeometry.
type Sizer interface {
	Geometry() Geometry
}

// GeometryOf is p's geometry: its own, or TokenGeometry.
func GeometryOf(p Painter) Geometry {
	if s, ok := p.(Sizer); ok {
		return s.Geometry()
	}
	return TokenGeometry
}

// Check reports whether g is a canvas the engine can cut into bands.
func (g Geometry) Check() error {
	switch {
	case g.Width < 1 || g.Height < 1 || g.Width > canvas.MaxSide || g.Height > canvas.MaxSide:
		return fmt.Errorf("the painter's canvas is %d×%d pixels: use 1 to %d a side", g.Width, g.Height, canvas.MaxSide)
	case g.Unit < 1 || g.Height%g.Unit != 0:
		return fmt.Errorf("the painter's canvas of %d rows cannot be cut in units of %d rows", g.Height, g.Unit)
	case g.Grid != 0 && (g.Grid < 1 || g.Height%g.Grid != 0 || g.Width%g.Grid != 0 || g.Unit != g.Height/g.Grid):
		return fmt.Errorf("the painter's token grid of %d does not divide its %d×%d canvas in units of %d rows", g.Grid, g.Width, g.Height, g.Unit)
	}
	return nil
}

// NewCanvas is a transparent canvas of g (with its token view when g.Grid is set).
func (g Geometry) NewCanvas() (*canvas.Canvas, error) {
	if g.Grid > 0 {
		return canvas.NewGrid(g.Width, g.Height, g.Grid)
	}
	return canvas.New(g.Width, g.Height)
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

// CanvasPNG is implemented by backends that supply run_done's PNG of the
// final canvas themselves. The sandbox's guest backend returns none: its
// host encodes the same canvas, folded from the run's events, natively,
// where the guest would encode it in wasm ten to twenty times slower.
type CanvasPNG interface {
	CanvasPNG(c *canvas.Canvas) ([]byte, error)
}

// CanvasReader is implemented by backends whose roles read a request's
// canvas only when called, before their first callback, and keep no
// reference to it: the sandbox's guest backend, which encodes each request
// at once. The engine then hands their requests its own canvas instead of
// a copy (in the wasm guest a 256 KB copy and its garbage cost about as
// much as the rest of its run). A backend that wraps another's roles must
// not implement it unless its wrappers keep to the same.
type CanvasReader interface {
	ReadsCanvasOnCall() bool
}

// CanvasMaker is implemented by backends that supply a run's canvas: a
// blank one of the run's geometry, as Geometry.NewCanvas makes, or nil for
// the engine to make its own. The sandbox's engine guest hands every run of
// an instance the same canvas, cleared: a new 256 KB canvas a run, and its
// garbage, cost the wasm guest about a twelfth of its time. A backend that
// does so must not need a run's canvas (Result.Canvas) after the run.
type CanvasMaker interface {
	NewCanvas(g Geometry) (*canvas.Canvas, error)
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
	// Canvas is a copy of the canvas so far (transparent, unpainted rows
	// where undrawn), with its token view when the painter is a token model.
	// Roles that see pictures look at its pixels; a token model reads its
	// token view (package rolecall puts it on the wire). A role may keep it
	// but must not change it: requests between which the canvas did not
	// change share one copy.
	Canvas *canvas.Canvas `json:"-"`
}

// ThinkRequest asks for the thought of band Band.
type ThinkRequest struct {
	State
	// SetEnd is set when the band is open-ended (Rows.End == -1): the thinker
	// may call it to end the band at pixel row end, Rows.Start < end ≤ the
	// canvas's height, a multiple of the painter's unit. It is nil otherwise.
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
	// Canvas is the final canvas (partial when the run failed; nil when it
	// failed before it had one).
	Canvas *canvas.Canvas
	// Tokens is the final canvas's token view when every painted row came
	// from a token model (the embedded model's runs), else nil.
	Tokens []int
	// Thoughts are the accepted thoughts, one per band.
	Thoughts []string
	// Bands are the bands' rows.
	Bands []Rows
	// Stats count the run's work.
	Stats protocol.Stats
}
