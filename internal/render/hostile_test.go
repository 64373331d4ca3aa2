package render_test

import (
	"strings"
	"testing"

	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/render"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Events a forged trace may hold: band indexes no run has are refused (each
// would grow the player's maps), a thought of megabytes is kept to a caption's
// worth, and a film of more than MaxFrames frames is refused as it grows.
func TestHostileEvents(t *testing.T) {
	start := protocol.Event{V: protocol.Version, Type: protocol.TypeRunStarted, RunID: "r", Seq: 0,
		Payload: &protocol.RunStarted{Prompt: "p", Grid: tokens.Grid, Width: 256, Height: 256}}
	at := func(seq int64, p protocol.Payload) protocol.Event {
		return protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: "r", Seq: seq, Payload: p}
	}
	for _, band := range []int{-1, protocol.MaxBands, 1 << 40} {
		_, err := render.Rebuild([]protocol.Event{start, at(1, &protocol.ThoughtDone{Band: band, Text: "x"})})
		if err == nil || !strings.Contains(err.Error(), "bands are 0 to") {
			t.Errorf("band %d: %v, want refused", band, err)
		}
	}
	huge := strings.Repeat("red circle ", 1<<18)
	band := at(1, &protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: 256}})
	film, err := render.Rebuild([]protocol.Event{start, band, at(2, &protocol.ThoughtDone{Band: 0, Text: huge})})
	if err != nil {
		t.Fatal(err)
	}
	for _, fr := range film.Frames {
		if len(fr.Text) > 1<<10 {
			t.Fatalf("a frame keeps %d bytes of caption", len(fr.Text))
		}
	}
	p := render.NewPlayer()
	if err := p.Apply(start); err != nil {
		t.Fatal(err)
	}
	if err := p.Apply(band); err != nil {
		t.Fatal(err)
	}
	row := model.TokenStrip(make([]int, tokens.Grid), 0, 256, 256)
	png, _ := row.Base64()
	var err2 error
	n := int64(2)
	for ; err2 == nil && n < 3*render.MaxFrames; n++ {
		err2 = p.Apply(at(n, &protocol.BandProgress{Rows: row.Rows, PNG: png, Tokens: row.Tokens}))
	}
	if err2 == nil || !strings.Contains(err2.Error(), "frames") || n > render.MaxFrames+3 {
		t.Fatalf("after %d frames: %v, want refused at %d", n, err2, render.MaxFrames)
	}
}
