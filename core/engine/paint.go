package engine

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
)

// drawBand paints a band of known rows and closes it with band_done.
func (r *runner) drawBand(band, round int, rows Rows, thought string) error {
	if _, _, err := r.paint(band, round, rows, thought); err != nil {
		return err
	}
	return r.emit(&protocol.BandDone{Band: band, Round: round, Rows: rows})
}

// paint has the painter draw band's rows, strip by strip, into the canvas
// with a band_progress event each. For an open-ended band (rows.End == -1)
// it asks the decider after each strip and ends the band where it says
// think; byDecision reports that. It returns the rows actually painted.
func (r *runner) paint(band, round int, rows Rows, thought string) (final Rows, byDecision bool, _ error) {
	open := rows.End < 0
	stop := rows.End
	if open {
		stop = r.canvas.H
	}
	ctx, cancel := context.WithCancelCause(r.ctx)
	defer cancel(nil)
	var (
		g       Gate
		next    = rows.Start
		stopped bool
		cbErr   error
		decideT time.Duration
	)
	req := PaintRequest{State: r.state(band, rows), Round: round, Thought: thought}
	t0 := time.Now()
	err := r.roles.Painter.PaintBand(ctx, req, func(s canvas.Strip) {
		g.Do(func() {
			if cbErr != nil || stopped {
				return
			}
			if e := CheckStrip(r.canvas, s, next, stop); e != nil {
				cbErr = &Error{Code: protocol.CodePainter, Band: band, Err: e}
				cancel(cbErr)
				return
			}
			_ = r.canvas.Put(s) // CheckStrip checked it fits
			r.snap = nil
			r.stats.ImageTokens += len(s.Tokens)
			r.stats.PixelRows += s.Rows.Len()
			next = s.Rows.End
			// The strip's PNG is encoded when the event is serialized, if
			// ever (a strip's pixels do not change once it is sent).
			ev := &protocol.BandProgress{Band: band, Round: round, Rows: s.Rows, Tokens: slices.Clone(s.Tokens)}
			ev.SetPNGSource(s)
			if e := r.emit(ev); e != nil {
				cbErr = e
				cancel(e)
				return
			}
			if open && next < stop && r.roles.Decider != nil {
				d0 := time.Now()
				think, e := r.decide(band, next)
				decideT += time.Since(d0)
				switch {
				case e != nil:
					cbErr = e
					cancel(e)
				case think:
					stopped = true
					cancel(errBandEnd)
				}
			}
		})
	})
	g.Close()
	r.stats.Timings.PaintMs += (time.Since(t0) - decideT).Milliseconds()
	switch {
	case r.ctx.Err() != nil:
		return rows, false, r.fail(protocol.CodePainter, band, "painting", r.ctx.Err())
	case cbErr != nil:
		return rows, false, cbErr
	case stopped:
		return Rows{Start: rows.Start, End: next}, true, nil
	case err != nil:
		return rows, false, r.fail(protocol.CodePainter, band, "painting", err)
	case next != stop:
		return rows, false, &Error{Code: protocol.CodePainter, Band: band,
			Err: fmt.Errorf("painter returned after rows [%d,%d) of [%d,%d)", rows.Start, next, rows.Start, stop)}
	}
	return Rows{Start: rows.Start, End: stop}, false, nil
}

// CheckStrip enforces the painter's contract for a strip of canvas c: it
// starts at pixel row next, ends by stop, is as wide as the canvas with all
// its bytes, and its tokens (if any) are whole token rows of c's grid.
// Surfaces that relay a painter (rolecall's calls) check strips with it
// too; the strip's PNG (s.Base64) is theirs to ask for when they pass the
// PNG on — the engine's band_progress encodes it only when serialized.
func CheckStrip(c *canvas.Canvas, s canvas.Strip, next, stop int) error {
	switch {
	case s.Rows.Start != next:
		return fmt.Errorf("painter sent rows [%d,%d), want a strip from row %d (strips go in order, once each)", s.Rows.Start, s.Rows.End, next)
	case s.Rows.End <= s.Rows.Start:
		return fmt.Errorf("painter sent an empty strip [%d,%d)", s.Rows.Start, s.Rows.End)
	case s.Rows.End > stop:
		return fmt.Errorf("painter sent rows [%d,%d), past the band's end %d", s.Rows.Start, s.Rows.End, stop)
	}
	if err := c.CheckStrip(s); err != nil {
		return fmt.Errorf("painter sent a strip that does not fit: %w", err)
	}
	return nil
}
