package rolecall_test

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/internal/world/tokens"
)

// u is a token row's pixel rows on engine.TokenGeometry's canvas.
const u = 16

// mixed is a 256×256 canvas with a token grid: token rows [0, toks) painted
// by a token model, then pixel rows [toks·u, px) by a painter of pixels.
func mixed(t *testing.T, toks, px int) *canvas.Canvas {
	c, err := engine.TokenGeometry.NewCanvas()
	if err != nil {
		t.Fatal(err)
	}
	for r := range toks {
		if err := c.Put(rolecalltest.TokenStrip(r, drawn(r + 1)[r*tokens.Grid:(r+1)*tokens.Grid])); err != nil {
			t.Fatal(err)
		}
	}
	if px > toks*u {
		rows := protocol.Rows{Start: toks * u, End: px}
		pix := make([]uint8, 4*c.W*rows.Len())
		for i := range pix {
			pix[i] = uint8(i*7 + 1)
		}
		if err := c.Put(canvas.Strip{Rows: rows, W: c.W, Pix: pix}); err != nil {
			t.Fatal(err)
		}
	}
	return c
}

func drawn(rows int) []int {
	c := make([]int, tokens.Grid*tokens.Grid)
	for i := range c {
		c[i] = -1
		if i < rows*tokens.Grid {
			c[i] = i % tokens.NumImageTokens
		}
	}
	return c
}

// TestDecode: the one validator. The rows marked "was" are where the
// gateway's and the sandbox's validators disagreed before there was one.
func TestDecode(t *testing.T) {
	ok := protocol.CallRequest{Prompt: "a red circle", Settings: protocol.DefaultSettings(), Band: 1,
		Rows: protocol.Rows{Start: 5 * u, End: 10 * u}, Thoughts: []string{"first"}, Width: 256, Height: 256, Grid: 16, Canvas: drawn(10)}
	pic, _ := mixed(t, 0, 10*u).DataURL()
	with := func(f func(*protocol.CallRequest)) protocol.CallRequest {
		r := ok
		r.Thoughts = slices.Clone(ok.Thoughts)
		r.Canvas = slices.Clone(ok.Canvas)
		f(&r)
		return r
	}
	long := strings.Repeat("x", rolecall.MaxThoughtBytes+1)
	for _, tc := range []struct {
		name, role string
		req        protocol.CallRequest
		err        string // "" = accepted
	}{
		{"a good think", "think", ok, ""},
		{"a good critique", "critique", ok, ""},
		{"a good review", "review", with(func(r *protocol.CallRequest) {
			r.Attempt, r.Rejected = 1, []protocol.RejectedPlan{{Thought: "p", Reason: "why"}}
		}), ""},
		{"no canvas is an undrawn one", "paint", with(func(r *protocol.CallRequest) { r.Canvas = nil }), ""},
		{"an unknown role", "draw", ok, "unknown role"},
		{"bad settings", "think", with(func(r *protocol.CallRequest) { r.Settings.Threshold = 101 }), "threshold"},
		{"band out of range", "think", with(func(r *protocol.CallRequest) { r.Band = protocol.MaxBands }), "band 16"},
		{"rows past the canvas", "paint", with(func(r *protocol.CallRequest) { r.Rows.End = 257 }), "rows.end"},
		{"a picture's critique", "critique", with(func(r *protocol.CallRequest) { r.Canvas, r.Grid, r.CanvasPNG = nil, 0, pic }), ""},
		{"a picture's undrawn band", "critique", with(func(r *protocol.CallRequest) { r.Canvas, r.Grid, r.CanvasPNG, r.Rows.End = nil, 0, pic, 11*u }), "undrawn"},
		{"a canvas_png of another size", "think", with(func(r *protocol.CallRequest) { r.CanvasPNG, r.Height = pic, 128 }), "canvas_png"},
		{"a canvas_png that is no PNG", "think", with(func(r *protocol.CallRequest) { r.CanvasPNG = "data:image/png;base64,AAAA" }), "canvas_png"},
		{"tokens without a grid", "think", with(func(r *protocol.CallRequest) { r.Grid = 0 }), "no grid"},
		{"a grid that does not divide the canvas", "think", with(func(r *protocol.CallRequest) { r.Width = 250 }), "grid"},
		{"a canvas too large", "think", with(func(r *protocol.CallRequest) { r.Canvas, r.Grid, r.Width = nil, 0, 5000 }), "canvas"},
		{"a 4096² canvas in a small message", "think", with(func(r *protocol.CallRequest) { r.Canvas, r.Grid, r.Width, r.Height = nil, 0, 4096, 4096 }), "over the 4194304 pixels"},
		{"was: more thoughts than earlier bands (gateway accepted)", "think", with(func(r *protocol.CallRequest) { r.Thoughts = []string{"a", "b"} }), "2 thoughts for band 1"},
		{"was: a long thought (sandbox accepted)", "paint", with(func(r *protocol.CallRequest) { r.Thought = long }), "the thought is"},
		{"was: a long earlier thought (sandbox accepted)", "paint", with(func(r *protocol.CallRequest) { r.Thoughts[0] = long }), "thought 0 is"},
		{"was: round past the limit (sandbox accepted)", "paint", with(func(r *protocol.CallRequest) { r.Round = rolecall.MaxRound + 1 }), "round 17"},
		{"was: row past the canvas on any role (sandbox: decide only)", "think", with(func(r *protocol.CallRequest) { r.Row = 257 }), "row 257"},
		{"was: critique of an undrawn band (sandbox accepted)", "critique", with(func(r *protocol.CallRequest) { r.Canvas = drawn(7) }), "undrawn"},
		{"critique of an open band", "critique", with(func(r *protocol.CallRequest) { r.Rows.End = -1 }), "known rows"},
		{"a token out of range", "paint", with(func(r *protocol.CallRequest) { r.Canvas[3] = tokens.NumImageTokens }), "canvas cell 3"},
		{"a short canvas", "paint", with(func(r *protocol.CallRequest) { r.Canvas = r.Canvas[:5] }), "5 cells"},
		{"more rejected plans than attempts", "review", with(func(r *protocol.CallRequest) { r.Rejected = []protocol.RejectedPlan{{Thought: "p", Reason: "why"}} }), "rejected plans"},
		{"attempt past the limit", "think", with(func(r *protocol.CallRequest) { r.Attempt = protocol.MaxPlanAttempts }), "attempt 8"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := rolecall.Decode(protocol.Call{Role: tc.role, Request: tc.req}, nil)
			switch {
			case tc.err == "" && err != nil:
				t.Fatalf("refused: %v", err)
			case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
				t.Fatalf("error %v, want one saying %q", err, tc.err)
			case err != nil && strings.Contains(err.Error(), "\n"):
				t.Fatalf("the error is not one line: %q", err)
			case err == nil && (req.State.Canvas == nil || req.State.Canvas.W != 256 || req.State.Canvas.H != 256):
				t.Fatalf("the state's canvas is not 256×256: %v", req.State.Canvas)
			}
		})
	}
}

// TestDecodeFallbackCanvas: a request without a canvas gets the host's
// (the sandbox host's run canvas), copied (DecodeShared: itself); a token
// view comes back whole.
func TestDecodeFallbackCanvas(t *testing.T) {
	fb := mixed(t, 4, 4*u)
	req, err := rolecall.Decode(protocol.Call{Role: "paint", Request: protocol.CallRequest{Prompt: "p",
		Settings: protocol.DefaultSettings(), Rows: protocol.Rows{Start: 4 * u, End: 8 * u}}}, fb)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(req.State.Canvas, fb) {
		t.Fatal("the fallback canvas was not used")
	}
	req.State.Canvas.Tokens[0] = 99
	if fb.Tokens[0] == 99 {
		t.Fatal("the fallback canvas was not copied")
	}
	shared, err := rolecall.DecodeShared(protocol.Call{Role: "paint", Request: protocol.CallRequest{Prompt: "p",
		Settings: protocol.DefaultSettings(), Rows: protocol.Rows{Start: 4 * u, End: 8 * u}}}, fb)
	if err != nil || shared.State.Canvas != fb {
		t.Fatalf("DecodeShared did not hand on the host's canvas itself (%v)", err)
	}
	tv, err := rolecall.Decode(protocol.Call{Role: "think", Request: protocol.CallRequest{Prompt: "p", Settings: protocol.DefaultSettings(),
		Rows: protocol.Rows{Start: 4 * u, End: 8 * u}, Width: 256, Height: 256, Grid: 16, Canvas: drawn(4)}}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if c := tv.State.Canvas; !slices.Equal(c.Tokens, drawn(4)) || !c.Painted[4*u-1] || c.Painted[4*u] || !c.AllTokens() {
		t.Fatal("a token view did not come back as the token model's rows")
	}
}

// TestEncodeDecodeRoundTrip: every engine request survives its call's JSON
// and the validator, field for field.
func TestEncodeDecodeRoundTrip(t *testing.T) {
	// A mixed canvas (token rows, then a picture's rows) travels as its PNG
	// and its token view, both whole.
	st := engine.State{Prompt: "two blue squares", Settings: protocol.DefaultSettings(), Band: 2,
		Rows: protocol.Rows{Start: 8 * u, End: 12 * u}, Thoughts: []string{"a", ""}, Canvas: mixed(t, 6, 12*u)}
	rej := []engine.RejectedPlan{{Thought: "x", Reason: "no room"}, {Thought: "y", Reason: ""}}
	for _, tc := range []struct {
		call protocol.Call
		back func(rolecall.Request) any
		want any
	}{
		{rolecall.ThinkCall(engine.ThinkRequest{State: st, Attempt: 2, Rejected: rej}), func(r rolecall.Request) any { return r.Think() },
			engine.ThinkRequest{State: st, Attempt: 2, Rejected: rej}},
		{rolecall.PaintCall(engine.PaintRequest{State: st, Round: 1, Thought: "t"}), func(r rolecall.Request) any { return r.Paint() },
			engine.PaintRequest{State: st, Round: 1, Thought: "t"}},
		{rolecall.CritiqueCall(engine.CritiqueRequest{State: st, Round: 1, Thought: "t"}), func(r rolecall.Request) any { return r.Critique() },
			engine.CritiqueRequest{State: st, Round: 1, Thought: "t"}},
		{rolecall.DecideCall(engine.DecideRequest{State: st, Row: 9 * u, Thought: "t"}), func(r rolecall.Request) any { return r.Decide() },
			engine.DecideRequest{State: st, Row: 9 * u, Thought: "t"}},
		{rolecall.ReviewCall(engine.ReviewRequest{State: st, Thought: "t", Attempt: 2, Rejected: rej}), func(r rolecall.Request) any { return r.Review() },
			engine.ReviewRequest{State: st, Thought: "t", Attempt: 2, Rejected: rej}},
	} {
		data, err := json.Marshal(protocol.Message{ID: "x", Body: &tc.call})
		if err != nil {
			t.Fatal(err)
		}
		m, err := protocol.DecodeMessage(data)
		if err != nil {
			t.Fatalf("%s: %v", data, err)
		}
		req, err := rolecall.Decode(*m.Body.(*protocol.Call), nil)
		if err != nil {
			t.Fatalf("%s: %v", tc.call.Role, err)
		}
		if got := tc.back(req); !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s:\ngot  %+v\nwant %+v", tc.call.Role, got, tc.want)
		}
	}
	c := engine.Critique{Score: 37, Parsed: true, Revision: "r", Raw: "raw", Tokens: 13}
	if got := rolecall.Critique(rolecall.CritiqueResult(c)); got != c {
		t.Errorf("critique %+v came back as %+v", c, got)
	}
	v := engine.PlanReview{Reason: "why", Tokens: 4, POk: 0.25}
	if got := rolecall.Review(rolecall.ReviewResult(v)); got != v {
		t.Errorf("review %+v came back as %+v", v, got)
	}
}
