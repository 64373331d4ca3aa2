package model

import (
	"bytes"
	"slices"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// TestTokenView: the model reads back exactly the tokens it painted; rows a
// painter of pixels painted (here the world's picture of the same tokens,
// without them) read as tokens.FromPicture gives them; undrawn rows are -1;
// a strip is the world's picture of its token row, at any canvas size.
func TestTokenView(t *testing.T) {
	full := scene.Render(scene.Scene{Objects: []scene.Object{
		{Color: 0, Shape: 0, Size: 0, Texture: 0, X: 2, Y: 1},
		{Color: 2, Shape: 1, Size: 1, Texture: 1, X: 6, Y: 8},
	}})
	c, err := Geometry.NewCanvas()
	if err != nil {
		t.Fatal(err)
	}
	for r := range 8 { // token rows 0–7 from the model
		if err := c.Put(TokenStrip(full[r*tokens.Grid:(r+1)*tokens.Grid], r, c.W, c.H)); err != nil {
			t.Fatal(err)
		}
	}
	pic := tokens.Picture(full)
	rows := protocol.Rows{Start: 8 * 16, End: 12 * 16} // token rows 8–11 from a painter of pixels
	if err := c.Put(canvas.Strip{Rows: rows, W: 256, Pix: slices.Clone(pic.Pix[4*256*rows.Start : 4*256*rows.End])}); err != nil {
		t.Fatal(err)
	}
	v := viewOf(engine.State{Canvas: c, Rows: engine.Rows{Start: 96, End: 200}})
	if v.Rows != (engine.Rows{Start: 6, End: 13}) {
		t.Errorf("pixel rows [96,200) as token rows %v, want [6,13)", v.Rows)
	}
	for i, tok := range v.Canvas {
		want := full[i]
		if i >= 12*tokens.Grid {
			want = -1
		}
		if tok != want {
			t.Fatalf("cell %d reads %d, want %d", i, tok, want)
		}
	}
	if !bytes.Equal(c.Pix[:4*256*128], pic.Pix[:4*256*128]) {
		t.Error("the model's strips are not the world's picture of its tokens")
	}
	// Every token (and undrawn) in every row draws as tokens.Picture draws it.
	for r := range tokens.Grid {
		row := make([]int, tokens.Grid)
		for c := range row {
			row[c] = (r*tokens.Grid+c)*7%(tokens.NumImageTokens+1) - 1 // -1 … 180
		}
		grid := tokens.NewTokens()
		copy(grid[r*tokens.Grid:], row)
		want := tokens.Picture(grid).Pix[4*256*16*r : 4*256*16*(r+1)]
		if got := TokenStrip(row, r, 256, 256); !bytes.Equal(got.Pix, want) {
			t.Fatalf("token row %d: the strip is not tokens.Picture's rows", r)
		}
	}
	// At another size the strip is the picture scaled (nearest neighbour).
	s := TokenStrip(full[3*tokens.Grid:4*tokens.Grid], 3, 512, 512)
	if s.Rows != (protocol.Rows{Start: 96, End: 128}) || len(s.Pix) != 4*512*32 || !slices.Equal(s.Tokens, []int(full[3*tokens.Grid:4*tokens.Grid])) {
		t.Fatalf("a 512-px strip of token row 3: rows %v, %d bytes", s.Rows, len(s.Pix))
	}
	if got, want := s.Pix[4*(512*2+2):4*(512*2+2)+4], pic.Pix[4*(256*(48+1)+1):4*(256*(48+1)+1)+4]; !bytes.Equal(got, want) {
		t.Errorf("scaled pixel %v, want %v", got, want)
	}
	// A canvas.TokenRenderer is set: a reader of tokens alone draws the same.
	r := canvas.TokenRenderer(full, tokens.Grid, protocol.Rows{Start: 0, End: 16}, 256, 256)
	if !bytes.Equal(r.Pix, pic.Pix[:4*256*16]) {
		t.Error("canvas.TokenRenderer does not draw the model's picture")
	}
}

// BenchmarkTokenStrip is the cost of handing one painted token row on as
// pixels (the embedded model does it 16 times a picture, once a redrawn row).
func BenchmarkTokenStrip(b *testing.B) {
	row := make([]int, tokens.Grid)
	for i := range row {
		row[i] = 1 + 11*i
	}
	b.ReportAllocs()
	for b.Loop() {
		TokenStrip(row, 5, 256, 256)
	}
}
