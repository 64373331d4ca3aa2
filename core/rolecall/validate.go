package rolecall

import (
	"errors"
	"fmt"
	"slices"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/textutil"
)

// Limits of a call's request, beside protocol.MaxPromptBytes and the
// settings' own ranges.
const (
	// MaxThoughtBytes bounds the band's thought and each earlier thought.
	// Remote thinkers write prose, so it is generous; a gateway's message
	// size limit bounds a whole request anyway.
	MaxThoughtBytes = 4000
	// MaxRound bounds a paint or critique call's round.
	MaxRound = 16
)

// Request is a checked call as the engine's types: the role and the fields
// of its engine request. Think, Paint, Critique, Decide and Review give the
// engine's request of each role.
type Request struct {
	// Role is one of protocol.Roles().
	Role string
	// State is the state every request carries; Canvas is the call's own copy.
	State engine.State
	// Round is paint's and critique's round.
	Round int
	// Thought is the band's thought (paint, critique, decide) or the plan to review.
	Thought string
	// Row is decide's row boundary.
	Row int
	// Attempt and Rejected are think's and review's plan attempt and the
	// band's rejected plans.
	Attempt  int
	Rejected []engine.RejectedPlan
}

// Think is r as the engine's think request (SetEnd left for the player).
func (r Request) Think() engine.ThinkRequest {
	return engine.ThinkRequest{State: r.State, Attempt: r.Attempt, Rejected: r.Rejected}
}

// Paint is r as the engine's paint request.
func (r Request) Paint() engine.PaintRequest {
	return engine.PaintRequest{State: r.State, Round: r.Round, Thought: r.Thought}
}

// Critique is r as the engine's critique request.
func (r Request) Critique() engine.CritiqueRequest {
	return engine.CritiqueRequest{State: r.State, Round: r.Round, Thought: r.Thought}
}

// Decide is r as the engine's decide request.
func (r Request) Decide() engine.DecideRequest {
	return engine.DecideRequest{State: r.State, Row: r.Row, Thought: r.Thought}
}

// Review is r as the engine's review request.
func (r Request) Review() engine.ReviewRequest {
	return engine.ReviewRequest{State: r.State, Thought: r.Thought, Attempt: r.Attempt, Rejected: r.Rejected}
}

// Decode checks call c — the one validator of every path — and returns it
// as the engine's types. The request's canvas is rebuilt from its PNG
// (canvas_png) and its token view (canvas, with grid): a token row given
// whole is a token model's, drawn by canvas.TokenRenderer when no PNG came.
// A request with neither gets a copy of host when that is not nil (the
// sandbox's host keeps the run's canvas from its events, so a guest need
// not send it), else a blank canvas of the request's size (engine.
// TokenGeometry's when it says none). Errors say in one line what is
// wrong; the gateway answers them with invalid_request.
func Decode(c protocol.Call, host *canvas.Canvas) (Request, error) {
	return decode(c, host, false)
}

// DecodeShared is Decode whose request without a canvas gets host itself,
// not a copy: for a host that keeps one copy of the run's canvas between
// the events that change it (the sandbox's), as the engine's requests
// share one. Neither host nor the call may change it.
func DecodeShared(c protocol.Call, host *canvas.Canvas) (Request, error) {
	return decode(c, host, true)
}

func decode(c protocol.Call, host *canvas.Canvas, share bool) (Request, error) {
	r := c.Request
	out := Request{Role: c.Role, Round: r.Round, Thought: r.Thought, Row: r.Row, Attempt: r.Attempt,
		Rejected: rejectedEngine(r.Rejected),
		State:    engine.State{Prompt: r.Prompt, Settings: r.Settings, Band: r.Band, Rows: r.Rows}}
	if !slices.Contains(protocol.Roles(), c.Role) {
		return out, fmt.Errorf("unknown role %q: use think, paint, critique, decide or review", clip(c.Role))
	}
	if err := r.Settings.Validate(); err != nil {
		return out, err
	}
	st := &out.State
	cv, err := requestCanvas(r, host, share)
	if err != nil {
		return out, err
	}
	st.Canvas = cv
	h := cv.H
	switch {
	case len(r.Prompt) > protocol.MaxPromptBytes:
		return out, fmt.Errorf("the prompt is %d bytes, over the limit of %d", len(r.Prompt), protocol.MaxPromptBytes)
	case r.Band < 0 || r.Band >= protocol.MaxBands:
		return out, fmt.Errorf("band %d is out of range [0,%d)", r.Band, protocol.MaxBands)
	case r.Rows.Start < 0 || r.Rows.Start >= h:
		return out, fmt.Errorf("rows.start %d is out of range [0,%d)", r.Rows.Start, h)
	case r.Rows.End != -1 && (r.Rows.End <= r.Rows.Start || r.Rows.End > h):
		return out, fmt.Errorf("rows.end %d is out of range: use (%d,%d], or -1 for an open-ended band", r.Rows.End, r.Rows.Start, h)
	case len(r.Thoughts) > r.Band:
		return out, fmt.Errorf("%d thoughts for band %d: a request carries the thoughts of earlier bands only", len(r.Thoughts), r.Band)
	case len(r.Thought) > MaxThoughtBytes:
		return out, fmt.Errorf("the thought is %d bytes, over the limit of %d", len(r.Thought), MaxThoughtBytes)
	case r.Round < 0 || r.Round > MaxRound:
		return out, fmt.Errorf("round %d is out of range [0,%d]", r.Round, MaxRound)
	case r.Row < 0 || r.Row > h:
		return out, fmt.Errorf("row %d is out of range [0,%d]", r.Row, h)
	case r.Attempt < 0 || r.Attempt >= protocol.MaxPlanAttempts:
		return out, fmt.Errorf("attempt %d is out of range [0,%d)", r.Attempt, protocol.MaxPlanAttempts)
	case len(r.Rejected) > r.Attempt:
		return out, fmt.Errorf("%d rejected plans for attempt %d: a request carries the band's earlier plans only", len(r.Rejected), r.Attempt)
	}
	for i, t := range r.Thoughts {
		if len(t) > MaxThoughtBytes {
			return out, fmt.Errorf("thought %d is %d bytes, over the limit of %d", i, len(t), MaxThoughtBytes)
		}
	}
	for i, p := range r.Rejected {
		if len(p.Thought)+len(p.Reason) > MaxThoughtBytes {
			return out, fmt.Errorf("rejected plan %d is %d bytes, over the limit of %d", i, len(p.Thought)+len(p.Reason), MaxThoughtBytes)
		}
	}
	if c.Role == protocol.RoleCritique {
		if r.Rows.End < 0 {
			return out, errors.New("critique needs a band with known rows (rows.end ≥ 0)")
		}
		for y := r.Rows.Start; y < r.Rows.End; y++ {
			if !cv.Painted[y] {
				return out, fmt.Errorf("the call's canvas has rows %d–%d undrawn: critique needs the band drawn", r.Rows.Start, r.Rows.End-1)
			}
		}
	}
	st.Thoughts = slices.Clone(r.Thoughts)
	if st.Thoughts == nil {
		st.Thoughts = []string{}
	}
	return out, nil
}

// requestCanvas is the canvas a request carries (see Decode).
func requestCanvas(r protocol.CallRequest, host *canvas.Canvas, share bool) (*canvas.Canvas, error) {
	w, h, g := r.Width, r.Height, r.Grid
	if w == 0 && h == 0 {
		if host != nil {
			w, h, g = host.W, host.H, host.Grid
		} else {
			t := engine.TokenGeometry
			w, h = t.Width, t.Height
			if g == 0 && len(r.Canvas) > 0 {
				g = t.Grid
			}
		}
	}
	if w*h > MaxCanvasPixels {
		return nil, fmt.Errorf("the call's canvas is %d×%d, over the %d pixels a call may carry", w, h, MaxCanvasPixels)
	}
	if len(r.Canvas) > 0 && g == 0 {
		return nil, errors.New("the canvas carries tokens but no grid: say the token grid's side (grid)")
	}
	if r.Canvas == nil && r.CanvasPNG == "" && host != nil {
		if host.W != w || host.H != h {
			return nil, fmt.Errorf("the call's canvas is %d×%d, the run's %d×%d", w, h, host.W, host.H)
		}
		if share {
			return host, nil
		}
		return host.Clone(), nil
	}
	var cv *canvas.Canvas
	var err error
	if g > 0 {
		cv, err = canvas.NewGrid(w, h, g)
	} else {
		cv, err = canvas.New(w, h)
	}
	if err != nil {
		return nil, fmt.Errorf("the call's canvas: %v", err)
	}
	if r.CanvasPNG != "" {
		pic, err := canvas.DecodeDataURL(r.CanvasPNG, w, h)
		if err != nil {
			return nil, fmt.Errorf("the call's canvas_png: %v", err)
		}
		copy(cv.Pix, pic.Pix)
		copy(cv.Painted, pic.Painted)
	}
	if len(r.Canvas) == 0 {
		return cv, nil
	}
	if len(r.Canvas) != g*g {
		return nil, fmt.Errorf("the canvas has %d cells, want %d (%d×%d, -1 where undrawn) or none", len(r.Canvas), g*g, g, g)
	}
	for i, t := range r.Canvas {
		if t < -1 || t >= protocol.MaxToken {
			return nil, fmt.Errorf("canvas cell %d holds %d, outside [-1,%d)", i, t, protocol.MaxToken)
		}
	}
	u := h / g
	for row := range g {
		toks := r.Canvas[row*g : (row+1)*g]
		if slices.Contains(toks, -1) {
			continue // not a token model's row (undrawn, or a painter of pixels')
		}
		rows := protocol.Rows{Start: row * u, End: (row + 1) * u}
		s := canvas.Strip{Rows: rows, W: w, Tokens: slices.Clone(toks)}
		if r.CanvasPNG != "" {
			s.Pix = slices.Clone(cv.Pix[4*w*rows.Start : 4*w*rows.End])
		} else if canvas.TokenRenderer != nil {
			s.Pix = canvas.TokenRenderer(r.Canvas, g, rows, w, h).Pix
		}
		if len(s.Pix) != 4*w*u {
			s.Pix = make([]uint8, 4*w*u)
		}
		if err := cv.Put(s); err != nil {
			return nil, fmt.Errorf("the call's canvas: %v", err)
		}
	}
	return cv, nil
}

// MaxCanvasPixels bounds a call's canvas (2048×2048, 16 MiB): a small
// message must not make the far end allocate a 4096×4096 canvas.
const MaxCanvasPixels = 2048 * 2048

// clip shortens a string a client sent before it goes into an error message.
func clip(s string) string { return textutil.Clip(s, 40) }
