package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
)

// display shows a run live: the thoughts as they stream, a progress bar per
// band, scores and redraws. On a terminal the bar redraws in place; elsewhere
// it is printed once, when the band is done. The run's state (bands, their
// rows, the rows painted) is the events folded by package fold; the display
// only prints.
type display struct {
	w     io.Writer
	tty   bool
	plan  int // bands in a fixed plan; 0 in adaptive mode
	st    *fold.State
	label string
	think bool   // inside a streaming thought
	why   string // the last think decision, for the header of a band starting at whyAt
	whyAt int
	h     int // the canvas's height in pixel rows
	unit  int // pixel rows a bar cell: a token row of a token model's canvas, else a 16th of the height
	token bool
}

func newDisplay(w io.Writer, tty bool) *display {
	return &display{w: w, tty: tty, st: fold.New()}
}

func (d *display) printf(format string, a ...any) { fmt.Fprintf(d.w, format, a...) }

func (d *display) event(ev protocol.Event) {
	// A payload the fold refuses leaves the state as it was; the line
	// printed for it below says what the event said.
	_ = d.st.ApplyPayload(ev.Payload)
	switch e := ev.Payload.(type) {
	case *protocol.RunStarted:
		s := e.Settings
		mode := fmt.Sprintf("%d bands", s.Bands)
		if s.Adaptive && s.Think {
			mode = "adaptive bands"
		}
		d.printf("twig · seed %d · %s · think %s · reflect %s", s.Seed, mode, onOff(s.Think), onOff(s.Reflect))
		if s.Reflect {
			d.printf(" (threshold %d)", s.Threshold)
		}
		if e.Backend != "" {
			d.printf(" · %s", e.Backend)
		}
		d.printf("\nprompt: %s\n", e.Prompt)
		d.plan, d.h, d.token = len(e.Plan), e.Height, e.Grid > 0
		d.unit = max(1, e.Height/16)
		if e.Grid > 0 {
			d.unit = max(1, e.Height/e.Grid)
		}
		if e.Height == 0 { // a twig/1 stream: token rows
			d.h, d.unit, d.token = 16, 1, true
		}
	case *protocol.ThinkDecision:
		d.whyAt = e.Row
		switch {
		case e.Source != "decider":
			d.why = ""
		case e.Think:
			d.why = fmt.Sprintf(" · the model chose to think here (p=%.2f)", e.Probability)
		default:
			d.why = fmt.Sprintf(" · the model chose not to think (p=%.2f)", e.Probability)
		}
	case *protocol.BandStarted:
		why := ""
		if d.whyAt == e.Rows.Start {
			why = d.why
		}
		d.printf("\n%s%s\n", d.bandName(e.Band, e.Rows), why)
		d.start("draw")
	case *protocol.ThoughtDelta:
		if !d.think {
			if e.Attempt > 0 {
				d.printf("  rethought (%d): ", e.Attempt)
			} else {
				d.printf("  thought: ")
			}
			d.think = true
		}
		d.printf("%s", strings.ReplaceAll(e.Text, "\n", " "))
	case *protocol.ThoughtDone:
		if d.think {
			d.printf("\n")
			d.think = false
		}
		if e.Truncated {
			d.printf("  (thought cut short by the thought-token budget)\n")
		}
	case *protocol.PlanReview:
		switch {
		case e.Accepted:
			d.printf("  review: ok%s\n", sure(e))
		case e.Final:
			d.printf("  review: bad — %s%s (no attempts left: keeping this plan)\n", e.Reason, sure(e))
		default:
			d.printf("  review: bad — %s%s → rethinking\n", e.Reason, sure(e))
		}
	case *protocol.BandProgress:
		if d.tty {
			d.printf("\r\033[K%s", d.bar(e.Band))
		}
	case *protocol.BandDone:
		if d.tty {
			d.printf("\r\033[K%s\n", d.bar(e.Band))
		} else {
			d.printf("%s\n", d.bar(e.Band))
		}
	case *protocol.Critique:
		switch {
		case !e.Parsed:
			d.printf("  critique: score unreadable → pass (recorded)\n")
		case e.Verdict == protocol.VerdictRedraw:
			d.printf("  critique: %d/100 → redraw\n  revised thought: %s\n", e.Score, e.Revision)
		default:
			note := ""
			if e.Reason != protocol.ReasonAboveThreshold {
				note = " (" + strings.ReplaceAll(e.Reason, "_", " ") + ")"
			}
			d.printf("  critique: %d/100 → pass%s\n", e.Score, note)
		}
	case *protocol.BandRedrawn:
		d.start(fmt.Sprintf("redraw %d", e.Round))
	case *protocol.BudgetExhausted:
		d.printf("  budget: %s (limit %d) spent: %s\n", strings.ReplaceAll(e.Budget, "_", " "), e.Limit, e.Action)
	case *protocol.RunDone:
		st := e.Stats
		d.printf("\ndone in %.2fs · %s · %d thought tokens · %d image tokens · %s · %s",
			float64(st.Timings.TotalMs)/1000, count(st.Bands, "band"), st.ThoughtTokens, st.ImageTokens,
			count(st.Critiques, "critique"), count(st.Revisions, "revision"))
		if st.PlanReviews > 0 {
			d.printf(" · %s (%d rejected)", count(st.PlanReviews, "plan review"), st.PlanRejections)
		}
		d.printf("\n")
	case *protocol.Error:
		if d.think {
			d.printf("\n")
			d.think = false
		}
	}
}

// start begins a progress bar.
func (d *display) start(label string) { d.label = label }

func (d *display) bandName(band int, r protocol.Rows) string {
	// a token model's rows are named as its thoughts name them (token
	// rows); a picture's in pixel rows
	u := 1
	if d.token {
		u = d.unit
	}
	rows := fmt.Sprintf("rows %d–%d", r.Start/u, (r.End-1)/u)
	if r.End < 0 {
		rows = fmt.Sprintf("rows %d–", r.Start/u)
	}
	if d.plan > 0 {
		return fmt.Sprintf("band %d/%d · %s", band+1, d.plan, rows)
	}
	return fmt.Sprintf("band %d · %s", band+1, rows)
}

// bar is the band's progress bar, one cell a token row (a 16th of a
// picture's height).
func (d *display) bar(band int) string {
	var b fold.Band
	if band >= 0 && band < len(d.st.Bands) {
		b = d.st.Bands[band]
	}
	r, done := b.Rows, b.Painted
	n := r.Len()
	if r.End < 0 { // open-ended: at most to the bottom
		n = d.h - r.Start
	}
	u := max(d.unit, 1)
	cells, full := max(0, (n+u-1)/u), min(done, n)/u
	count := fmt.Sprintf("%d/%d rows", done/u, cells)
	if !d.token {
		count = fmt.Sprintf("%d/%d pixel rows", done, n)
	}
	return fmt.Sprintf("  %-8s [%s%s] %s", d.label, strings.Repeat("█", full), strings.Repeat("·", max(0, cells-full)), count)
}

func (d *display) wrote(files []string) {
	d.printf("wrote %s\n", strings.Join(files, ", "))
}

func onOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}

// count says "1 band", "3 bands".
func count(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}

// sure says how sure the thinker was of a review's verdict, from its p_ok
// (absent when it reports none): " (97 % sure)".
func sure(e *protocol.PlanReview) string {
	if !(e.POk > 0 && e.POk <= 1) {
		return ""
	}
	p := e.POk
	if !e.Accepted {
		p = 1 - p
	}
	return fmt.Sprintf(" (%.0f %% sure)", 100*p)
}
