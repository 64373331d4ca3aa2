package fold_test

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"hash/crc32"
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
		case !slices.Equal(s.Canvas.Tokens, d.Tokens):
			t.Fatal("the folded canvas's tokens are not run_done's")
		case !bytes.Equal(pngPix(t, encodedPNG(t, d), s.Canvas.W, s.Canvas.H), s.Canvas.Pix):
			t.Fatal("the folded canvas is not run_done's png")
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
	strip := rolecalltest.TokenStrip(0, row)
	png, _ := strip.Base64()
	progress := func(band int, rows protocol.Rows, toks []int) *protocol.BandProgress {
		return &protocol.BandProgress{Band: band, Rows: rows, PNG: png, Tokens: toks}
	}
	for _, tc := range []struct {
		name string
		evs  []protocol.Event
		msg  string
	}{
		{"no run_started", good[1:], "not run_started"},
		{"a gap", slices.Delete(slices.Clone(good), 3, 4), "jump from seq"},
		{"another run", append(slices.Clone(good[:2]), protocol.Event{V: protocol.Version, RunID: "x", Seq: 2, Payload: &protocol.BandDone{}}), "one trace, one run"},
		{"a band not started", at(2, progress(1, strip.Rows, row)), "has not started"},
		{"a band out of range", at(2, &protocol.Critique{Band: protocol.MaxBands}), "bands are 0 to"},
		{"bands out of order", at(2, &protocol.BandStarted{Band: 3, Rows: protocol.Rows{Start: 0, End: 4}}), "in order"},
		{"a row past the canvas", at(2, progress(0, protocol.Rows{Start: 256, End: 272}, row)), "outside band 0's rows"},
		{"a strip past its band", at(2, progress(0, protocol.Rows{Start: 96, End: 112}, row)), "outside band 0's rows"},
		{"a token out of range", at(2, progress(0, strip.Rows, bad)), "token 181"},
		{"a png of other rows", at(2, progress(0, protocol.Rows{Start: 0, End: 32}, nil)), "want 256×32"},
		{"half a token row", at(2, progress(0, protocol.Rows{Start: 0, End: 8}, row[:8])), "want 256×8"},
		{"a twig/1 row in a twig/2 run", at(2, &protocol.BandProgress{Band: 0, Row: 0, Tokens: row}), "outside band 0's rows"},
		{"an attempt skipped", at(2, &protocol.ThoughtDelta{Band: 0, Attempt: 2, Text: "x"}), "before attempt"},
		{"a review of no plan", at(2, &protocol.PlanReview{Band: 0, Attempt: 0}), "before attempt 0"},
		{"a band end outside", at(2, &protocol.ThoughtDone{Band: 0, EndRow: 257}), "outside"},
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
		if len(s.Bands) > protocol.MaxBands {
			t.Fatalf("%d bands", len(s.Bands))
		}
		if c := s.Canvas; c != nil && (len(c.Pix) != 4*c.W*c.H || len(c.Painted) != c.H || len(c.Tokens) != c.Grid*c.Grid) {
			t.Fatalf("a %d×%d canvas with %d bytes, %d painted rows, %d tokens of a grid of %d", c.W, c.H, len(c.Pix), len(c.Painted), len(c.Tokens), c.Grid)
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

// pngPix is the pixels of a base64 PNG of a w×h canvas.
func pngPix(t *testing.T, b64 string, w, h int) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(b64)
	if err != nil {
		t.Fatal(err)
	}
	c, err := canvas.Decode(b, w, h)
	if err != nil {
		t.Fatal(err)
	}
	return c.Pix
}

// TestFoldPicture: a canvas with no token grid (a painter of pixels):
// band_progress's PNG strips build it, a strip of the wrong size, outside
// its band or with tokens is refused and changes nothing; a redraw clears
// the band's pixel rows only.
func TestFoldPicture(t *testing.T) {
	const w, h = 40, 32
	progress := func(rows protocol.Rows, v uint8) *protocol.BandProgress {
		s := canvas.Strip{Rows: rows, W: w, Pix: bytes.Repeat([]byte{v, 2 * v, 3, 255}, w*rows.Len())}
		png, err := s.Base64()
		if err != nil {
			t.Fatal(err)
		}
		return &protocol.BandProgress{Band: 0, Rows: rows, PNG: png}
	}
	s := fold.New()
	for _, p := range []protocol.Payload{
		&protocol.RunStarted{Prompt: "a dune", Width: w, Height: h},
		&protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 7}},
		progress(protocol.Rows{Start: 0, End: 3}, 10), progress(protocol.Rows{Start: 3, End: 7}, 20),
	} {
		if err := s.ApplyPayload(p); err != nil {
			t.Fatal(err)
		}
	}
	if s.Canvas == nil || s.Canvas.W != w || s.Canvas.H != h || s.Canvas.Grid != 0 {
		t.Fatalf("canvas %v, want %d×%d without a grid", s.Canvas, w, h)
	}
	if got := s.Canvas.Pix[4*w*3 : 4*w*3+4]; !bytes.Equal(got, []byte{20, 40, 3, 255}) {
		t.Fatalf("pixel row 3 starts %v, want the second strip", got)
	}
	if s.Canvas.Pix[4*w*7+3] != 0 || s.Canvas.Painted[7] || !s.Canvas.Painted[6] {
		t.Fatal("an unpainted row is not transparent and unpainted")
	}
	if s.Bands[0].Painted != 7 {
		t.Fatalf("%d rows painted, want 7", s.Bands[0].Painted)
	}
	before := bytes.Clone(s.Canvas.Pix)
	wrongSize := progress(protocol.Rows{Start: 2, End: 4}, 30)
	wrongSize.Rows = protocol.Rows{Start: 2, End: 5}
	outside := progress(protocol.Rows{Start: 5, End: 9}, 30)
	withTokens := progress(protocol.Rows{Start: 2, End: 4}, 30)
	withTokens.Tokens = []int{1}
	noPNG := progress(protocol.Rows{Start: 2, End: 4}, 30)
	noPNG.PNG = ""
	// A PNG whose header declares 65535×65535 pixels: refused from the
	// header, nothing decoded.
	bomb := progress(protocol.Rows{Start: 2, End: 4}, 30)
	ihdr := []byte("IHDR\x00\x00\xff\xff\x00\x00\xff\xff\x08\x06\x00\x00\x00")
	hdr := append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\x0d"), ihdr...)
	hdr = binary.BigEndian.AppendUint32(hdr, crc32.ChecksumIEEE(ihdr))
	bomb.PNG = base64.StdEncoding.EncodeToString(hdr)
	if err := s.ApplyPayload(bomb); err == nil || !strings.Contains(err.Error(), "65535×65535") {
		t.Fatalf("a 65535² header: %v, want it refused by its size", err)
	}
	for name, p := range map[string]*protocol.BandProgress{"a png header of 65535²": bomb, "a png of other rows": wrongSize, "outside the band": outside, "tokens without a grid": withTokens, "no png": noPNG} {
		if err := s.ApplyPayload(p); err == nil {
			t.Errorf("%s: folded", name)
		}
		if !bytes.Equal(s.Canvas.Pix, before) {
			t.Fatalf("%s: a refused event changed the canvas", name)
		}
	}
	if err := s.ApplyPayload(&protocol.BandRedrawn{Band: 0, Round: 1, Rows: protocol.Rows{Start: 2, End: 4}, Thought: "x"}); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(s.Canvas.Pix[:4*w*2], before[:4*w*2]) || !bytes.Equal(s.Canvas.Pix[4*w*4:], before[4*w*4:]) ||
		slices.ContainsFunc(s.Canvas.Pix[4*w*2:4*w*4], func(b byte) bool { return b != 0 }) {
		t.Fatal("a redraw of rows [2,4) must clear them and nothing else")
	}
	for _, bad := range []*protocol.RunStarted{{Prompt: "p"}, {Prompt: "p", Width: 5000, Height: 10}, {Prompt: "p", Width: 40, Height: 30, Grid: 16}} {
		if err := fold.New().ApplyPayload(bad); err == nil {
			t.Errorf("run_started %+v folded", bad)
		}
	}
}

// TestFoldTwig1: a twig/1 stream folds onto a 256×256 canvas with a token
// grid of 16, its token rows turned into pixel rows (drawn by
// canvas.TokenRenderer when set); a twig/1 real picture keeps its pixel
// rows and drops the tokens (the embedded model's view, not a painting);
// a run's events all speak its version.
func TestFoldTwig1(t *testing.T) {
	ev := func(seq int64, p protocol.Payload) protocol.Event {
		return protocol.Event{V: protocol.Version1, Type: p.EventType(), RunID: "r", Seq: seq, Payload: p}
	}
	row := slices.Repeat([]int{3}, tokens.Grid)
	s := fold.New()
	for i, p := range []protocol.Payload{
		&protocol.RunStarted{Prompt: "p", Grid: 16, Plan: []protocol.Rows{{Start: 0, End: 6}, {Start: 6, End: 16}}},
		&protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 6}},
		&protocol.ThoughtDone{Band: 0, Text: "t", Tokens: 1},
		&protocol.BandProgress{Band: 0, Row: 0, Tokens: row},
		&protocol.BandProgress{Band: 0, Row: 1, Tokens: row},
		&protocol.BandRedrawn{Band: 0, Round: 1, Rows: protocol.Rows{Start: 0, End: 6}, Thought: "u"},
		&protocol.BandProgress{Band: 0, Round: 1, Row: 0, Tokens: row},
	} {
		if err := s.Apply(ev(int64(i), p)); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	c := s.Canvas
	if s.V != protocol.Version1 || c.W != 256 || c.H != 256 || c.Grid != 16 {
		t.Fatalf("a twig/1 run folded on %s %d×%d grid %d", s.V, c.W, c.H, c.Grid)
	}
	if s.Plan[1] != (protocol.Rows{Start: 96, End: 256}) || s.Bands[0].Rows != (protocol.Rows{Start: 0, End: 96}) || s.Bands[0].Painted != 16 {
		t.Fatalf("rows not in pixels: plan %v band %+v", s.Plan, s.Bands[0])
	}
	if !c.Painted[15] || c.Painted[16] || c.Tokens[0] != 3 || c.Tokens[16] != -1 {
		t.Fatal("the redraw did not clear token row 1, or row 0 is not painted")
	}
	if c.Pix[3] != 255 { // the embedded model's renderer (package model) is not linked here: no pixels
		t.Log("no token renderer: token rows fold without pixels")
	}
	if err := s.Apply(protocol.Event{V: protocol.Version2, Type: protocol.TypeBandDone, RunID: "r", Seq: 7, Payload: &protocol.BandDone{Band: 0, Rows: protocol.Rows{Start: 0, End: 96}}}); err == nil {
		t.Fatal("a twig/2 event folded into a twig/1 run")
	}

	pic := fold.New()
	strip := canvas.Strip{Rows: protocol.Rows{Start: 0, End: 2}, W: 8, Pix: bytes.Repeat([]byte{9, 9, 9, 255}, 16)}
	png, _ := strip.Base64()
	for i, p := range []protocol.Payload{
		&protocol.RunStarted{Prompt: "p", Grid: 16, Width: 8, Height: 32},
		&protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 16}},
		&protocol.BandProgress{Band: 0, Row: 0, Tokens: row, Pixels: &protocol.Rows{Start: 0, End: 2}, PNG: png},
	} {
		if err := pic.Apply(ev(int64(i), p)); err != nil {
			t.Fatalf("picture event %d: %v", i, err)
		}
	}
	if pic.Canvas.Grid != 0 || pic.Canvas.Pix[0] != 9 || !pic.Canvas.Painted[1] || pic.Canvas.Painted[2] {
		t.Fatal("a twig/1 picture's strip did not fold at its pixel rows")
	}
	bad := &protocol.BandProgress{Band: 0, Row: 1, Tokens: row, Pixels: &protocol.Rows{Start: 0, End: 2}, PNG: png}
	if err := pic.Apply(ev(3, bad)); err == nil {
		t.Fatal("a twig/1 strip at another row's pixel rows folded")
	}
}

// encodedPNG is run_done's PNG: a native run's is encoded from its source.
func encodedPNG(t *testing.T, d *protocol.RunDone) string {
	t.Helper()
	png, err := d.EncodedPNG()
	if err != nil {
		t.Fatal(err)
	}
	return png
}
