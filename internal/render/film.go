// Package render turns a run's events into what people look at: the canvas
// rebuilt from the stream, the final PNG, and an animated GIF of the canvas
// filling band by band with each thought captioned under it. It works from
// events alone, so a live run and a replayed trace give the same files.
package render

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"image"
	"slices"
	"strings"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/textutil"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
	xdraw "golang.org/x/image/draw"
)

// Frame is one picture of the film: the canvas at a moment, the band being
// worked on, and a caption.
type Frame struct {
	// Canvas is a snapshot of the canvas's token view (-1 undrawn) when a
	// token model painted every painted row (the embedded model's runs:
	// the frame draws it smooth, see Smooth); nil otherwise.
	Canvas tokens.Tokens
	// Rows are the canvas's pixel rows of the band being worked on (End -1:
	// open); Rows.Len() == 0 for none.
	Rows protocol.Rows
	// Height is the canvas's height in pixels (Rows are of it).
	Height int
	// Title is the caption's first line, e.g. "band 2/3 | drawing".
	Title string
	// Text is the caption's body, usually the band's thought.
	Text string
	// Delay is how long the frame shows, in hundredths of a second.
	Delay int
	// Picture is the canvas at that moment fitted into Side×Side when it
	// is not a token model's (frames share it while it does not change);
	// nil when the frame draws Canvas.
	Picture *image.RGBA
}

// Film is a run rebuilt from its events.
type Film struct {
	// RunID names the run.
	RunID string
	// Prompt is the run's prompt.
	Prompt string
	// Canvas is the canvas at the last event (a copy; nil before
	// run_started).
	Canvas *canvas.Canvas
	// Frames are the film's pictures, in order.
	Frames []Frame
	// Done is the run's run_done event; nil when the stream did not finish.
	Done *protocol.RunDone
	// Failure is the run's error event; nil when there was none.
	Failure *protocol.Error
}

// MaxFrames bounds a film. A twig run makes a few hundred frames at most (16
// rows, a thought and a critique a band, the redraws); a trace that makes
// more is refused as it is read, so a forged one (thousands of band_progress
// events) costs neither gigabytes nor minutes. The GIF of MaxFrames frames
// stays under about 20 MB.
const MaxFrames = 2000

// maxCaption bounds the text a frame keeps: a caption shows a few lines of
// it, and a forged multi-megabyte thought must not be copied per frame.
const maxCaption = 1 << 10

// Frame delays, in hundredths of a second.
const (
	delayStart    = 100
	delayThought  = 150
	delayRow      = 10
	delayCritique = 120
	delayRedraw   = 80
	delayEnd      = 500
)

// Rebuild replays a run's events. It checks that they are one run, in order
// with no gaps, and that the painted rows rebuild run_done's final canvas.
func Rebuild(events []protocol.Event) (*Film, error) {
	p := NewPlayer()
	for _, ev := range events {
		if err := p.Apply(ev); err != nil {
			return nil, err
		}
	}
	return p.Film()
}

// Player rebuilds a run incrementally, one event at a time (for live views).
// The events are folded by package fold, the one reading of a stream; the
// player adds the frames.
type Player struct {
	film  Film
	fold  *fold.State
	bands int
	spec  *scene.Spec // the prompt, when it parses: captions say what it left open
	// pic is the frames' real picture, redrawn from the fold when picDirty
	// (rows painted or cleared since).
	pic      *image.RGBA
	picDirty bool
}

// NewPlayer returns a Player before the first event.
func NewPlayer() *Player {
	return &Player{fold: fold.New()}
}

// Canvas returns the current canvas (not a copy; nil before run_started).
func (p *Player) Canvas() *canvas.Canvas { return p.fold.Canvas }

// State is the run folded so far (not a copy).
func (p *Player) State() *fold.State { return p.fold }

// Film returns the film so far, closed with a last frame; an error when no
// run started or the final canvas does not match the painted rows.
func (p *Player) Film() (*Film, error) {
	if !p.fold.Started {
		return nil, errors.New("render: the events hold no run_started")
	}
	f := p.film
	f.Frames = slices.Clone(f.Frames)
	title, text := "unfinished", f.Prompt
	switch {
	case f.Done != nil:
		if err := rebuilds(f.Done, p.fold.Canvas); err != nil {
			return nil, err
		}
		title = fmt.Sprintf("done | %d bands | %d revisions", f.Done.Stats.Bands, f.Done.Stats.Revisions)
	case f.Failure != nil:
		title, text = "failed: "+f.Failure.Code, f.Failure.Message
	}
	f.Frames = append(f.Frames, p.newFrame(protocol.Rows{}, title, text, delayEnd))
	f.Canvas = p.fold.Canvas.Clone()
	return &f, nil
}

// rebuilds checks that the painted strips rebuild run_done's final canvas:
// its PNG (twig/2) and its tokens when it has them.
func rebuilds(d *protocol.RunDone, c *canvas.Canvas) error {
	const damaged = "render: the painted rows do not rebuild run_done's final canvas: the trace is damaged"
	if d.Tokens != nil && (c.Grid == 0 || !slices.Equal(d.Tokens, c.Tokens)) {
		return errors.New(damaged)
	}
	if src, ok := d.PNGSource().(canvas.Strip); ok && d.PNG == "" {
		// A native engine's run_done: its final canvas as painted, not a
		// PNG encoded to be decoded back.
		if src.W != c.W || src.Rows != (protocol.Rows{Start: 0, End: c.H}) || !bytes.Equal(src.Pix, c.Pix) {
			return errors.New(damaged)
		}
		return nil
	}
	if d.PNG != "" {
		b, err := base64.StdEncoding.DecodeString(d.PNG)
		if err != nil {
			return fmt.Errorf("render: run_done's png is not base64")
		}
		final, err := canvas.Decode(b, c.W, c.H)
		if err != nil {
			return fmt.Errorf("render: run_done's png: %w", err)
		}
		if !bytes.Equal(final.Pix, c.Pix) {
			return errors.New(damaged)
		}
	}
	return nil
}

// Apply takes the next event.
func (p *Player) Apply(ev protocol.Event) error {
	if err := p.fold.Apply(ev); err != nil {
		return fmt.Errorf("render: %w", err)
	}
	f, st := &p.film, p.fold
	f.RunID, f.Done, f.Failure = st.RunID, st.Done, st.Failure
	if f.Done != nil && st.V == protocol.Version1 {
		f.Done = upgradedDone(st, f.Done)
	}
	switch ev.Payload.(type) {
	case *protocol.BandProgress, *protocol.BandRedrawn:
		p.picDirty = true
	}
	switch e := ev.Payload.(type) {
	case *protocol.RunStarted:
		f.Prompt = e.Prompt
		if spec, err := english.Parse(e.Prompt); err == nil {
			p.spec = &spec
		}
		p.bands = len(e.Plan)
		p.frame(protocol.Rows{}, "prompt", e.Prompt, delayStart)
	case *protocol.ThoughtDone:
		p.frame(p.rows(e.Band), p.bandTitle(e.Band, "thinking"), p.english(e.Text), delayThought)
	case *protocol.PlanReview:
		title := "plan ok"
		if !e.Accepted {
			title = "plan rejected: " + e.Reason
		}
		p.frame(p.rows(e.Band), p.bandTitle(e.Band, title), p.english(e.Thought), delayCritique)
	case *protocol.BandProgress:
		verb := "drawing"
		if e.Round > 0 {
			verb = fmt.Sprintf("redrawing (round %d)", e.Round)
		}
		p.frame(p.rows(e.Band), p.bandTitle(e.Band, verb), p.english(p.thought(e.Band)), delayRow)
	case *protocol.Critique:
		title := fmt.Sprintf("score %d/100 | %s", e.Score, e.Verdict)
		if !e.Parsed {
			title = "score unreadable | pass"
		}
		text := p.english(p.thought(e.Band))
		if e.Verdict == protocol.VerdictRedraw && e.Revision != "" {
			text = "revised: " + p.english(e.Revision)
		}
		p.frame(p.rows(e.Band), p.bandTitle(e.Band, title), text, delayCritique) // the fold's rows: pixel rows in either version
	case *protocol.BandRedrawn:
		p.frame(p.rows(e.Band), p.bandTitle(e.Band, fmt.Sprintf("redraw %d", e.Round)), p.english(e.Thought), delayRedraw)
	}
	if len(f.Frames) > MaxFrames {
		return fmt.Errorf("render: the events make more than %d frames (at seq %d); a twig run makes a few hundred: not rendering them", MaxFrames, ev.Seq)
	}
	return nil
}

// rows are band's rows as folded so far.
func (p *Player) rows(band int) protocol.Rows { return p.fold.Bands[band].Rows }

func clipCaption(s string) string { return textutil.Cut(s, maxCaption) }

func (p *Player) thought(band int) string {
	if t := p.fold.Bands[band].Thought; t != "" {
		return clipCaption(t)
	}
	return "(no thought)"
}

// english is a thought as the captions show it: plain English, rows from 1
// (thought.HumanizeFor); prose from a remote model stays as it is.
func (p *Player) english(text string) string {
	return thought.HumanizeFor(p.spec, text)
}

func (p *Player) bandTitle(band int, what string) string {
	if p.bands > 0 {
		return fmt.Sprintf("band %d/%d | %s", band+1, p.bands, what)
	}
	return fmt.Sprintf("band %d | %s", band+1, what)
}

func (p *Player) frame(rows protocol.Rows, title, text string, delay int) {
	p.film.Frames = append(p.film.Frames, p.newFrame(rows, title, text, delay))
}

// newFrame is a frame of the canvas as it is now.
func (p *Player) newFrame(rows protocol.Rows, title, text string, delay int) Frame {
	fr := Frame{Rows: rows, Height: p.fold.Canvas.H, Title: clipCaption(title), Text: strings.TrimSpace(clipCaption(text)), Delay: delay}
	if c := p.fold.Canvas; TokenCanvas(c) {
		fr.Canvas = tokens.Tokens(slices.Clone(c.Tokens))
	} else {
		fr.Picture = p.picture()
	}
	return fr
}

// TokenCanvas reports whether c is the embedded model's token grid's
// canvas with every painted row from a token model: its picture is then
// the smooth rendering of its tokens (Smooth), byte for byte what it was
// before the canvas became pixels.
func TokenCanvas(c *canvas.Canvas) bool {
	if c == nil || c.Grid != tokens.Grid {
		return false
	}
	u := c.Unit()
	for r := range c.Grid {
		if c.Painted[r*u] && c.Tokens[r*c.Grid] < 0 {
			return false
		}
	}
	return true
}

// upgradedDone is a twig/1 run_done with its bands in pixel rows, as the
// fold holds the run (its tokens checked against the token view).
func upgradedDone(st *fold.State, d *protocol.RunDone) *protocol.RunDone {
	q := *d
	q.Bands = make([]protocol.Rows, len(st.Bands))
	for i, b := range st.Bands {
		q.Bands[i] = b.Rows
	}
	return &q
}

// picture is the frames' picture of a canvas that is not a token model's,
// redrawn only when rows were painted or cleared since.
func (p *Player) picture() *image.RGBA {
	if p.pic == nil || p.picDirty {
		p.pic, p.picDirty = framePicture(p.fold.Canvas), false
	}
	return p.pic
}

// framePicture is the real picture fitted into Side×Side (centred, its
// aspect kept), undrawn pixels and the margins shown as the undrawn
// checkerboard.
func framePicture(c *canvas.Canvas) *image.RGBA {
	dst := image.NewRGBA(image.Rect(0, 0, Side, Side))
	const cell = Side / tokens.Grid
	for y := 0; y < Side; y++ {
		for x := 0; x < Side; x++ {
			col := tokens.Undrawn
			if (x/cell+y/cell)%2 == 1 {
				col = tokens.UndrawnAlt
			}
			dst.SetRGBA(x, y, col)
		}
	}
	w, h := Side, max(1, c.H*Side/c.W)
	if c.H > c.W {
		w, h = max(1, c.W*Side/c.H), Side
	}
	r := image.Rect((Side-w)/2, (Side-h)/2, (Side-w)/2+w, (Side-h)/2+h)
	xdraw.ApproxBiLinear.Scale(dst, r, c.Image(), image.Rect(0, 0, c.W, c.H), xdraw.Over, nil)
	return dst
}
