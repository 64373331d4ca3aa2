package engine

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
)

// Draw plays one TwiG run on a backend, sending every event to sink (which may
// be nil) and returning the final canvas. A failed run returns an *Error; its
// stream then ends with an error event, a successful one with run_done.
func Draw(ctx context.Context, b Backend, spec RunSpec, sink Sink) (Result, error) {
	r := &runner{ctx: ctx, spec: spec, sink: sink, start: time.Now()}
	r.runID = spec.RunID
	if r.runID == "" {
		r.runID = newRunID()
	}
	err := r.run(b)
	res := Result{RunID: r.runID, Canvas: r.canvas, Thoughts: r.thoughts, Bands: r.bands, Stats: r.stats}
	if r.canvas != nil && r.canvas.AllTokens() {
		res.Tokens = r.canvas.Tokens
	}
	if err != nil && Code(err) != protocol.CodeSink {
		_ = r.emit(&protocol.Error{Code: Code(err), Message: err.Error()})
	}
	return res, err
}

func newRunID() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// runner is one run's state. Role callbacks (emit, onStrip, SetEnd) may come
// from a role's goroutine; a gate serializes them and shuts them out once the
// role call has returned, so the run's goroutine never races with them.
type runner struct {
	ctx     context.Context
	spec    RunSpec
	s       Settings
	roles   Roles
	sink    Sink
	runID   string
	seq     int64
	start   time.Time
	sinkErr error
	geom    Geometry
	canvas  *canvas.Canvas
	// snap is a copy of canvas made for a request since canvas last
	// changed (nil when none): requests in between share it.
	snap *canvas.Canvas
	// noSnap: the backend's roles read the canvas only when called
	// (CanvasReader), so requests get canvas itself.
	noSnap   bool
	thoughts []string
	bands    []Rows
	stats    protocol.Stats

	thoughtBudgetOut, revisionBudgetOut bool
}

func (r *runner) run(b Backend) error {
	s := r.spec.Settings
	if r.spec.Seed != 0 {
		s.Seed = r.spec.Seed
	}
	r.spec.Seed = s.Seed
	if err := s.Validate(); err != nil {
		return &Error{Code: protocol.CodeInvalidRequest, Band: -1, Err: err}
	}
	if strings.TrimSpace(r.spec.Prompt) == "" {
		return &Error{Code: protocol.CodeInvalidRequest, Band: -1, Err: errors.New("the prompt is empty: say what to draw")}
	}
	if b == nil {
		return &Error{Code: protocol.CodeBackend, Band: -1, Err: errors.New("no backend")}
	}
	if s.Bands == 0 {
		s.Bands = b.DefaultBands()
		if s.Bands <= 0 {
			s.Bands = 3
		}
		s.Bands = min(s.Bands, protocol.MaxBands)
	}
	r.s, r.spec.Settings = s, s
	if c, ok := b.(CanvasReader); ok && c.ReadsCanvasOnCall() {
		r.noSnap = true
	}
	if err := r.ctx.Err(); err != nil {
		return r.fail(protocol.CodeCanceled, -1, "starting", err)
	}
	run, err := b.NewRun(r.ctx, r.spec)
	if err != nil {
		if _, ok := errors.AsType[*PromptError](err); ok {
			return &Error{Code: protocol.CodeInvalidRequest, Band: -1, Err: fmt.Errorf("the prompt: %w", err)}
		}
		return r.fail(protocol.CodeBackend, -1, "starting the backend's run", err)
	}
	defer run.Close()
	r.roles = run.Roles()
	if err := r.checkRoles(); err != nil {
		return err
	}
	r.geom = GeometryOf(r.roles.Painter)
	if err := r.geom.Check(); err != nil {
		return &Error{Code: protocol.CodeBackend, Band: -1, Err: err}
	}
	if r.canvas, err = r.newCanvas(b); err != nil {
		return &Error{Code: protocol.CodeBackend, Band: -1, Err: err}
	}
	started := &protocol.RunStarted{Prompt: r.spec.Prompt, Settings: s, Grid: r.geom.Grid, Width: r.geom.Width, Height: r.geom.Height}
	if n, ok := b.(Named); ok {
		started.Backend = n.Name()
	}
	adaptive := s.Adaptive && s.Think
	if !adaptive {
		started.Plan = Schedule(s.Bands, r.geom)
	}
	if err := r.emit(started); err != nil {
		return err
	}
	if adaptive {
		err = r.runAdaptive()
	} else {
		err = r.runFixed(started.Plan)
	}
	if err != nil {
		return err
	}
	r.stats.Bands = len(r.bands)
	r.stats.Timings.TotalMs = time.Since(r.start).Milliseconds()
	done := &protocol.RunDone{Thoughts: slices.Clone(r.thoughts), Bands: slices.Clone(r.bands), Stats: r.stats}
	if e, ok := b.(CanvasPNG); ok {
		png, err := e.CanvasPNG(r.canvas)
		if err != nil {
			return &Error{Code: protocol.CodeInternal, Band: -1, Err: err}
		}
		if png != nil {
			done.PNG = base64.StdEncoding.EncodeToString(png)
		}
	} else {
		// The final canvas's PNG is encoded when run_done is serialized, if
		// ever, from a copy (the caller owns Result.Canvas): the last
		// request's when the canvas has not changed since (the last
		// critique's).
		r.noSnap = false
		done.SetPNGSource(r.snapshot().Whole())
	}
	if r.canvas.AllTokens() {
		done.Tokens = slices.Clone(r.canvas.Tokens)
	}
	return r.emit(done)
}

// newCanvas is the run's blank canvas: the backend's (CanvasMaker), else a new one.
func (r *runner) newCanvas(b Backend) (*canvas.Canvas, error) {
	if m, ok := b.(CanvasMaker); ok {
		c, err := m.NewCanvas(r.geom)
		switch {
		case err != nil:
			return nil, err
		case c == nil:
		case c.W != r.geom.Width || c.H != r.geom.Height || c.Grid != r.geom.Grid || c.AnyPainted() || c.AnyTokens():
			return nil, fmt.Errorf("the backend's canvas is not a blank %d×%d canvas of grid %d", r.geom.Width, r.geom.Height, r.geom.Grid)
		default:
			return c, nil
		}
	}
	return r.geom.NewCanvas()
}

func (r *runner) checkRoles() error {
	missing := func(role, flag string) error {
		return &Error{Code: protocol.CodeBackend, Band: -1, Err: fmt.Errorf("the backend has no %s: turn %s off", role, flag)}
	}
	switch {
	case r.roles.Painter == nil:
		return &Error{Code: protocol.CodeBackend, Band: -1, Err: errors.New("the backend has no painter")}
	case r.s.Think && r.roles.Thinker == nil:
		return missing("thinker", "think")
	case r.s.Reflect && r.roles.Critic == nil:
		return missing("critic", "reflect")
	}
	return nil
}

// runFixed plays a fixed schedule of bands.
func (r *runner) runFixed(plan []Rows) error {
	for band, rows := range plan {
		if err := r.emit(&protocol.BandStarted{Band: band, Rows: rows}); err != nil {
			return err
		}
		thought := ""
		if r.s.Think {
			var err error
			if thought, _, err = r.think(band, rows); err != nil {
				return err
			}
		}
		r.thoughts = append(r.thoughts, thought)
		r.bands = append(r.bands, rows)
		if err := r.drawBand(band, 0, rows, thought); err != nil {
			return err
		}
		if err := r.reflect(band); err != nil {
			return err
		}
	}
	return nil
}

// runAdaptive lets the decider (at each row boundary) and the thinker (by
// ending its band) choose where bands start.
func (r *runner) runAdaptive() error {
	row, band, decided := 0, 0, false
	for row < r.geom.Height {
		think := true
		if !decided {
			var err error
			if think, err = r.decide(band, row); err != nil {
				return err
			}
		}
		rows := Rows{Start: row, End: -1}
		if err := r.emit(&protocol.BandStarted{Band: band, Rows: rows}); err != nil {
			return err
		}
		thought := ""
		if think {
			var err error
			if thought, rows.End, err = r.think(band, rows); err != nil {
				return err
			}
		}
		r.thoughts = append(r.thoughts, thought)
		r.bands = append(r.bands, rows)
		final, byDecision, err := r.paint(band, 0, rows, thought)
		if err != nil {
			return err
		}
		r.bands[band] = final
		if err := r.emit(&protocol.BandDone{Band: band, Round: 0, Rows: final}); err != nil {
			return err
		}
		if err := r.reflect(band); err != nil {
			return err
		}
		row, band, decided = final.End, band+1, byDecision
	}
	return nil
}

// decide asks the decider (or the default: think) whether to think at row.
func (r *runner) decide(band, row int) (bool, error) {
	if r.roles.Decider == nil {
		return true, r.emit(&protocol.ThinkDecision{Row: row, Think: true, Probability: 1, Source: "default"})
	}
	req := DecideRequest{State: r.state(band, Rows{Start: row, End: -1}), Row: row}
	if band < len(r.thoughts) {
		req.Thought = r.thoughts[band]
		req.Rows = r.bands[band]
	}
	t0 := time.Now()
	think, p, err := r.roles.Decider.ShouldThink(r.ctx, req)
	r.stats.Timings.DecideMs += time.Since(t0).Milliseconds()
	if err == nil {
		err = r.ctx.Err()
	}
	if err != nil {
		return false, r.fail(protocol.CodeDecider, band, "deciding whether to think", err)
	}
	return think, r.emit(&protocol.ThinkDecision{Row: row, Think: think, Probability: p, Source: "decider"})
}

// state is a request's common part, with copies the role may keep. The
// canvas's copy is shared by the requests between which it does not change
// (a band's think and paint, its critique and the next band's think): a
// copy costs as much as a 256² canvas's bytes, three times a band.
func (r *runner) state(band int, rows Rows) State {
	return State{Prompt: r.spec.Prompt, Settings: r.s, Band: band, Rows: rows,
		Thoughts: slices.Clone(r.thoughts[:min(band, len(r.thoughts))]), Canvas: r.snapshot()}
}

// snapshot is a copy of the canvas as it is now, made once between changes.
func (r *runner) snapshot() *canvas.Canvas {
	if r.noSnap {
		return r.canvas
	}
	if r.snap == nil {
		r.snap = r.canvas.Clone()
	}
	return r.snap
}

// emit sends one event; after a sink error it sends nothing more.
func (r *runner) emit(p protocol.Payload) error {
	if r.sinkErr != nil {
		return r.sinkErr
	}
	ev := protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: r.runID, Seq: r.seq,
		TMs: time.Since(r.start).Milliseconds(), Payload: p}
	r.seq++
	if r.sink == nil {
		return nil
	}
	if err := r.sink(ev); err != nil {
		r.sinkErr = &Error{Code: protocol.CodeSink, Band: -1, Err: fmt.Errorf("the event consumer refused a %s event: %w", ev.Type, err)}
		return r.sinkErr
	}
	return nil
}

// Gate serializes a role's callbacks and drops those that come after Close:
// a role may call back from any goroutine, even after it returned.
type Gate struct {
	mu     sync.Mutex
	closed bool
}

// Do runs f unless the gate is closed, one call at a time.
func (g *Gate) Do(f func()) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.closed {
		f()
	}
}

// Close makes later Do calls do nothing.
func (g *Gate) Close() {
	g.mu.Lock()
	g.closed = true
	g.mu.Unlock()
}
