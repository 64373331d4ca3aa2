package engine

import (
	"context"
	"encoding/base64"
	"fmt"
	"slices"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// drawBand paints a band of known rows and closes it with band_done.
func (r *runner) drawBand(band, round int, rows Rows, thought string) error {
	if _, _, err := r.paint(band, round, rows, thought); err != nil {
		return err
	}
	return r.emit(&protocol.BandDone{Band: band, Round: round, Rows: rows})
}

// paint has the painter draw band's rows, row by row, into the canvas with a
// band_progress event each. For an open-ended band (rows.End == -1) it asks
// the decider at each row boundary and ends the band where it says think;
// byDecision reports that. It returns the rows actually painted.
func (r *runner) paint(band, round int, rows Rows, thought string) (final Rows, byDecision bool, _ error) {
	open := rows.End < 0
	stop := rows.End
	if open {
		stop = tokens.Grid
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
	onRow := func(row int, toks []int, strip *canvas.Strip) {
		g.Do(func() {
			if cbErr != nil || stopped {
				return
			}
			e := CheckRow(row, next, stop, toks)
			var png []byte
			if e == nil && r.pixels != nil {
				png, e = r.checkStrip(row, strip)
			}
			if e != nil {
				cbErr = &Error{Code: protocol.CodePainter, Band: band, Err: e}
				cancel(cbErr)
				return
			}
			copy(r.canvas[row*tokens.Grid:], toks)
			r.stats.ImageTokens += tokens.Grid
			next++
			ev := &protocol.BandProgress{Band: band, Round: round, Row: row, Tokens: slices.Clone(toks)}
			if png != nil {
				_ = r.pixels.Put(*strip) // checkStrip checked it fits
				ev.Pixels, ev.PNG = &strip.Rows, base64.StdEncoding.EncodeToString(png)
			}
			if e := r.emit(ev); e != nil {
				cbErr = e
				cancel(e)
				return
			}
			if open && next < tokens.Grid && r.roles.Decider != nil {
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
	}
	var err error
	if pp, ok := r.roles.Painter.(PixelPainter); ok && r.pixels != nil {
		err = pp.PaintPixels(ctx, req, func(row int, toks []int, strip canvas.Strip) { onRow(row, toks, &strip) })
	} else {
		err = r.roles.Painter.PaintBand(ctx, req, func(row int, toks []int) { onRow(row, toks, nil) })
	}
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

// CheckRow enforces the painter's contract: rows in order, inside the band,
// tokens.Grid image tokens each. Surfaces that relay a painter (the gateway's
// model calls) check rows with it too.
func CheckRow(row, want, stop int, toks []int) error {
	if row != want || row >= stop {
		if row >= stop {
			return fmt.Errorf("painter sent row %d, past the band's last row %d", row, stop-1)
		}
		return fmt.Errorf("painter sent row %d, want row %d (rows go in order, once each)", row, want)
	}
	if len(toks) != tokens.Grid {
		return fmt.Errorf("painter sent %d tokens for row %d, want %d", len(toks), row, tokens.Grid)
	}
	for i, t := range toks {
		if t < 0 || t >= tokens.NumImageTokens {
			return fmt.Errorf("painter sent token %d at row %d column %d, outside the image tokens [0,%d)", t, row, i, tokens.NumImageTokens)
		}
	}
	return nil
}

// checkStrip enforces a PixelPainter's contract for token row row: its
// strip is exactly the picture's pixel rows of that row, as wide as the
// picture. It returns the strip's PNG for band_progress.
func (r *runner) checkStrip(row int, s *canvas.Strip) ([]byte, error) {
	want := canvas.CellRows(row, tokens.Grid, r.pixels.H)
	switch {
	case s == nil:
		return nil, fmt.Errorf("painter sent row %d without its pixels", row)
	case s.Rows != want || s.W != r.pixels.W || len(s.Pix) != 4*s.W*(want.End-want.Start):
		return nil, fmt.Errorf("painter sent pixel rows [%d,%d) %d wide (%d bytes) for row %d, want rows [%d,%d) %d wide",
			s.Rows.Start, s.Rows.End, s.W, len(s.Pix), row, want.Start, want.End, r.pixels.W)
	}
	return s.EncodePNG()
}
