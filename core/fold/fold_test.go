package fold_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/fold"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/core/rolecall/rolecalltest"
	"github.com/twig-project/twig/internal/world/tokens"
)

// TestFoldRebuildsTheRun: folding a run's events gives what run_done says
// (canvas, thoughts, bands) and what the stream said on the way: each plan
// by attempt with its review, each critique by round, each redraw.
func TestFoldRebuildsTheRun(t *testing.T) {
	for _, spec := range rolecalltest.Specs(true) {
		evs := rolecalltest.Native(t, spec)
		s := fold.New()
		for _, ev := range evs {
			if err := s.Apply(ev); err != nil {
				t.Fatal(err)
			}
		}
		d := s.Done
		if d == nil {
			t.Fatal("no run_done folded")
		}
		rows := make([]protocol.Rows, len(s.Bands))
		for i, b := range s.Bands {
			rows[i] = b.Rows
		}
		switch {
		case !slices.Equal([]int(s.Canvas), d.Tokens):
			t.Fatal("the folded canvas is not run_done's")
		case !slices.Equal(s.Thoughts(), d.Thoughts):
			t.Fatalf("thoughts %q, run_done says %q", s.Thoughts(), d.Thoughts)
		case !slices.Equal(rows, d.Bands):
			t.Fatalf("bands %v, run_done says %v", rows, d.Bands)
		}
		thought := 0
		for i, b := range s.Bands {
			if len(b.Critiques) != 2 || b.Critiques[0].Tokens != 13+i || len(b.Redraws) != 1 || b.Round != 1 || !b.Done {
				t.Fatalf("band %d: critiques %+v redraws %+v round %d done %v", i, b.Critiques, b.Redraws, b.Round, b.Done)
			}
			if b.Painted != b.Rows.Len() {
				t.Fatalf("band %d: %d of %d rows painted", i, b.Painted, b.Rows.Len())
			}
			if len(b.Attempts) == 0 { // an adaptive band the decider chose not to think for
				continue
			}
			thought++
			// the scripted thinker's first plan is rejected, the rewrite accepted;
			// the first drawing scores 37 and is redrawn, the redraw passes
			if len(b.Attempts) != 2 || b.Attempts[0].Review == nil || b.Attempts[0].Review.Accepted ||
				!b.Attempts[1].Review.Accepted || !b.Attempts[1].Done || b.Attempts[1].Tokens != 3 {
				t.Fatalf("band %d attempts %+v", i, b.Attempts)
			}
			if !strings.HasPrefix(b.Thought, "redo b") {
				t.Fatalf("band %d: thought %q, want the redraw's revision", i, b.Thought)
			}
		}
		if thought == 0 {
			t.Fatal("no band was thought about")
		}
		if spec.Settings.Adaptive && len(s.Decisions) == 0 {
			t.Fatal("no think decisions folded from an adaptive run")
		}
	}
}

// TestFoldRefuses: a stream no run makes is refused at the event that
// breaks it, and the state is left as it was.
func TestFoldRefuses(t *testing.T) {
	good := rolecalltest.Native(t, rolecalltest.Specs(false)[0])
	at := func(i int, p protocol.Payload) []protocol.Event {
		evs := slices.Clone(good[:i])
		return append(evs, protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: good[0].RunID, Seq: int64(i), Payload: p})
	}
	row := make([]int, tokens.Grid)
	bad := slices.Clone(row)
	bad[3] = tokens.NumImageTokens
	for _, tc := range []struct {
		name string
		evs  []protocol.Event
		msg  string
	}{
		{"no run_started", good[1:], "not run_started"},
		{"a gap", slices.Delete(slices.Clone(good), 3, 4), "jump from seq"},
		{"another run", append(slices.Clone(good[:2]), protocol.Event{V: protocol.Version, RunID: "x", Seq: 2, Payload: &protocol.BandDone{}}), "one trace, one run"},
		{"a band not started", at(2, &protocol.BandProgress{Band: 1, Row: 0, Tokens: row}), "has not started"},
		{"a band out of range", at(2, &protocol.Critique{Band: protocol.MaxBands}), "bands are 0 to"},
		{"bands out of order", at(2, &protocol.BandStarted{Band: 3, Rows: protocol.Rows{Start: 0, End: 4}}), "in order"},
		{"a row past the canvas", at(2, &protocol.BandProgress{Band: 0, Row: tokens.Grid, Tokens: row}), "row 16"},
		{"a token out of range", at(2, &protocol.BandProgress{Band: 0, Row: 0, Tokens: bad}), "token 181"},
		{"an attempt skipped", at(2, &protocol.ThoughtDelta{Band: 0, Attempt: 2, Text: "x"}), "before attempt"},
		{"a review of no plan", at(2, &protocol.PlanReview{Band: 0, Attempt: 0}), "before attempt 0"},
		{"a band end outside", at(2, &protocol.ThoughtDone{Band: 0, EndRow: tokens.Grid + 1}), "outside"},
		{"redrawn rows outside", at(2, &protocol.BandRedrawn{Band: 0, Rows: protocol.Rows{Start: 4, End: 2}}), "band_redrawn has rows"},
		{"after the end", append(slices.Clone(good), protocol.Event{V: protocol.Version, RunID: good[0].RunID, Seq: int64(len(good)), Payload: &protocol.BandDone{}}), "after the run ended"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := fold.New()
			var err error
			var before []byte
			for _, ev := range tc.evs {
				before, _ = json.Marshal(s)
				if err = s.Apply(ev); err != nil {
					break
				}
			}
			if err == nil || !strings.Contains(err.Error(), tc.msg) {
				t.Fatalf("err %v, want one saying %q", err, tc.msg)
			}
			if after, _ := json.Marshal(s); !bytes.Equal(before, after) {
				t.Fatalf("the refused event changed the state:\n%s\n%s", before, after)
			}
		})
	}
}

// FuzzFold: a trace (JSONL) folded event by event. Nothing panics, the
// canvas keeps its size, and the bounds hold whatever the events say.
func FuzzFold(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		s := fold.New()
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			ev, err := protocol.Decode(sc.Bytes())
			if err != nil {
				continue
			}
			if s.Apply(ev) != nil {
				break
			}
		}
		if len(s.Canvas) != tokens.Grid*tokens.Grid || len(s.Bands) > protocol.MaxBands {
			t.Fatalf("canvas %d cells, %d bands", len(s.Canvas), len(s.Bands))
		}
		if px := s.Pixels; px != nil && (len(px.Pix) != 4*px.W*px.H || px.H < tokens.Grid) {
			t.Fatalf("a %d×%d picture with %d bytes", px.W, px.H, len(px.Pix))
		}
		for _, b := range s.Bands {
			if len(b.Attempts) > protocol.MaxPlanAttempts || len(b.Critiques) > fold.MaxRounds || len(b.Redraws) > fold.MaxRounds {
				t.Fatalf("a band grew past the bounds: %d attempts, %d critiques, %d redraws", len(b.Attempts), len(b.Critiques), len(b.Redraws))
			}
			for _, a := range b.Attempts {
				if len(a.Text) > fold.MaxText && !a.Done {
					t.Fatalf("a streaming plan kept %d bytes", len(a.Text))
				}
			}
		}
	})
}

// TestFoldPicture: with run_started's width and height, band_progress's PNG
// strips build the picture; a strip of the wrong rows or size, or pixels on
// a run without a picture, are refused and change nothing; a redraw clears
// the band's pixel rows only.
func TestFoldPicture(t *testing.T) {
	const w, h = 40, 32 // two pixel rows a token row
	strip := func(row int, v uint8) (*protocol.Rows, string) {
		r := canvas.CellRows(row, tokens.Grid, h)
		s := canvas.Strip{Rows: r, W: w, Pix: bytes.Repeat([]byte{v, 2 * v, 3, 255}, w*(r.End-r.Start))}
		b, err := s.EncodePNG()
		if err != nil {
			t.Fatal(err)
		}
		return &r, base64.StdEncoding.EncodeToString(b)
	}
	toks := make([]int, tokens.Grid)
	progress := func(row int, v uint8) *protocol.BandProgress {
		px, png := strip(row, v)
		return &protocol.BandProgress{Band: 0, Row: row, Tokens: toks, Pixels: px, PNG: png}
	}
	s := fold.New()
	for _, p := range []protocol.Payload{
		&protocol.RunStarted{Prompt: "a dune", Grid: tokens.Grid, Width: w, Height: h},
		&protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 2}},
		progress(0, 10), progress(1, 20),
	} {
		if err := s.ApplyPayload(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.Pixels == nil || s.Pixels.W != w || s.Pixels.H != h {
		t.Fatalf("picture %v, want %d×%d", s.Pixels, w, h)
	}
	if got := s.Pixels.Pix[4*w*3 : 4*w*3+4]; !bytes.Equal(got, []byte{20, 40, 3, 255}) {
		t.Fatalf("pixel row 3 starts %v, want row 1's strip", got)
	}
	if s.Pixels.Pix[4*w*4+3] != 0 {
		t.Fatal("an unpainted row is not transparent")
	}
	before := bytes.Clone(s.Pixels.Pix)
	wrongRows := progress(2, 30)
	wrongRows.Row = 3
	wrongSize := progress(2, 30)
	wrongSize.Pixels = &protocol.Rows{Start: 4, End: 7}
	noPNG := progress(2, 30)
	noPNG.PNG = ""
	for name, p := range map[string]*protocol.BandProgress{"rows of another row": wrongRows, "three pixel rows": wrongSize, "no png": noPNG} {
		if err := s.ApplyPayload(p); err == nil {
			t.Errorf("%s: folded", name)
		}
		if !bytes.Equal(s.Pixels.Pix, before) {
			t.Fatalf("%s: a refused event changed the picture", name)
		}
	}
	if err := s.ApplyPayload(&protocol.BandRedrawn{Band: 0, Round: 1, Rows: protocol.Rows{Start: 1, End: 2}, Thought: "x"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Pixels.Pix[:4*w*2], before[:4*w*2]) || slices.ContainsFunc(s.Pixels.Pix[4*w*2:4*w*4], func(b byte) bool { return b != 0 }) {
		t.Fatal("a redraw of row 1 must clear pixel rows [2,4) and nothing else")
	}

	plain := fold.New()
	if err := plain.ApplyPayload(&protocol.RunStarted{Prompt: "a dune", Grid: tokens.Grid}); err != nil {
		t.Fatal(err)
	}
	plain.ApplyPayload(&protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 2}})
	if err := plain.ApplyPayload(progress(0, 10)); err == nil || !strings.Contains(err.Error(), "paints no picture") {
		t.Fatalf("pixels on a token run: %v", err)
	}
	if err := fold.New().ApplyPayload(&protocol.RunStarted{Grid: tokens.Grid, Width: 10, Height: 8}); err == nil {
		t.Fatal("a picture fewer than 16 rows high folded")
	}
}
