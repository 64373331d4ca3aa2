package model

import (
	"image"
	"image/color"
	"slices"

	xdraw "golang.org/x/image/draw"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// The embedded model is a token model: it paints the world's 16×16 grid of
// image tokens and keeps that grid as its own view of the engine's pixel
// canvas. It paints token rows and hands each on as a strip of H/16 pixel
// rows (the world's picture of the tokens) with its tokens; it reads a
// canvas through view: the exact tokens where a token model painted the
// rows (so the embedded path is what it was before the canvas became
// pixels) and tokens.FromPicture of the pixels elsewhere (a remote
// painter's picture, read by an embedded thinker or critic).

func init() {
	canvas.TokenRenderer = renderRows
}

// Geometry is the embedded model's canvas: engine.TokenGeometry, the
// world's picture of a 16×16 grid (tokens.PxSize pixels a side).
var Geometry = engine.Geometry{Width: tokens.PxSize, Height: tokens.PxSize, Grid: tokens.Grid, Unit: tokens.PxSize / tokens.Grid}

// view is the engine's state as the model reads it: rows are token rows,
// the canvas is tokens.
type view struct {
	Settings engine.Settings
	Band     int
	// Rows are the band's token rows (End -1: open).
	Rows engine.Rows
	// Thoughts are the earlier bands' thoughts.
	Thoughts []string
	// Canvas is the canvas's token view, -1 where undrawn.
	Canvas tokens.Tokens
	// h is the canvas's height in pixels (token row r is its pixel rows
	// canvas.CellRows(r, Grid, h)).
	h int
}

// viewOf is st as the model reads it.
func viewOf(st engine.State) view {
	v := view{Settings: st.Settings, Band: st.Band, Thoughts: st.Thoughts, h: tokens.PxSize}
	c := st.Canvas
	if c != nil {
		v.h = c.H
	}
	v.Rows = engine.Rows{Start: v.tokRow(st.Rows.Start), End: -1}
	if st.Rows.End >= 0 {
		v.Rows.End = v.tokRowUp(st.Rows.End)
	}
	v.Canvas = tokenView(c)
	return v
}

// tokRow is the token row that pixel row y lies in.
func (v view) tokRow(y int) int { return min(tokens.Grid, y*tokens.Grid/v.h) }

// tokRowUp is the token row boundary at or after pixel row boundary y.
func (v view) tokRowUp(y int) int { return min(tokens.Grid, (y*tokens.Grid+v.h-1)/v.h) }

// pixRow is token row boundary r as a pixel row.
func (v view) pixRow(r int) int { return r * v.h / tokens.Grid }

// tokenView is c's token view: a token model's tokens where it painted the
// rows, tokens.FromPicture of the pixels for the other painted rows (a
// cell there that reads as undrawn grey is empty: the row is drawn), -1
// where undrawn.
func tokenView(c *canvas.Canvas) tokens.Tokens {
	t := tokens.NewTokens()
	if c == nil {
		return t
	}
	if c.Grid == tokens.Grid {
		copy(t, c.Tokens)
	}
	var seen tokens.Tokens // FromPicture of the canvas, computed once if needed
	for r := range tokens.Grid {
		rows := canvas.CellRows(r, tokens.Grid, c.H)
		if t[r*tokens.Grid] >= 0 || !slices.Contains(c.Painted[rows.Start:max(rows.End, rows.Start+1)], true) {
			continue
		}
		if seen == nil {
			seen = tokens.FromPicture(c.Image())
		}
		for i := r * tokens.Grid; i < (r+1)*tokens.Grid; i++ {
			t[i] = max(seen[i], tokens.EmptyToken) // a painted cell that reads grey is empty, never undrawn
		}
	}
	return t
}

// TokenStrip is token row r, painted with row, as a strip of the w×h
// canvas: its pixel rows of the world's picture, and its tokens — how the
// embedded model hands a painted row on (test painters that paint tokens
// use it too).
func TokenStrip(row []int, r, w, h int) canvas.Strip {
	if w == tokens.PxSize && h == tokens.PxSize {
		// The model's own canvas: draw the row alone (tokens.Picture of the
		// whole grid costs 16 times as much; TestTokenView holds them equal).
		return canvas.Strip{Rows: canvas.CellRows(r, tokens.Grid, h), W: w, Pix: rowPicture(row, r), Tokens: slices.Clone(row)}
	}
	t := tokens.NewTokens()
	copy(t[r*tokens.Grid:], row)
	s := renderRows(t, tokens.Grid, canvas.CellRows(r, tokens.Grid, h), w, h)
	s.Tokens = slices.Clone(row)
	return s
}

// rowPicture is token row r of tokens.Picture: its PxSize×(PxSize/Grid)
// pixels, opaque (so RGBA and NRGBA alike), each cell's sub-pixels filled
// with its colour, striped by picture row as Picture stripes them, or
// background.
func rowPicture(row []int, r int) []uint8 {
	const cellPx = tokens.Sub * tokens.PxPerSub
	pix := make([]uint8, 4*tokens.PxSize*cellPx)
	px := func(c color.RGBA) [4]uint8 { return [4]uint8{c.R, c.G, c.B, c.A} }
	bg := px(tokens.Background)
	for cx, tok := range row {
		var off, fg, tint [4]uint8
		var cell tokens.Cell
		switch {
		case tok < 0: // undrawn: the checkerboard's colour, the whole cell
			off = px(tokens.Undrawn)
			if (cx+r)%2 == 1 {
				off = px(tokens.UndrawnAlt)
			}
		default:
			cell = tokens.DecodeCell(tok)
			off, fg, tint = bg, px(tokens.Palette[cell.Color]), px(tokens.Tint(cell.Color))
		}
		for yy := range cellPx {
			y, sy := r*cellPx+yy, yy/tokens.PxPerSub
			on := fg
			if cell.Texture == 1 && (y/tokens.StripePx)%2 == 1 {
				on = tint
			}
			for sx := range tokens.Sub {
				c := off
				if cell.Mask&(1<<(sy*tokens.Sub+sx)) != 0 {
					c = on
				}
				i := 4 * (yy*tokens.PxSize + cx*cellPx + sx*tokens.PxPerSub)
				for k := range tokens.PxPerSub {
					copy(pix[i+4*k:i+4*k+4], c[:])
				}
			}
		}
	}
	return pix
}

// renderRows draws pixel rows rows of the w×h picture of token view toks
// (canvas.TokenRenderer): the world's picture, scaled (nearest neighbour)
// when the canvas is not tokens.PxSize a side.
func renderRows(toks []int, grid int, rows protocol.Rows, w, h int) canvas.Strip {
	s := canvas.Strip{Rows: rows, W: w}
	if grid != tokens.Grid || len(toks) != grid*grid || rows.Start < 0 || rows.End > h || rows.End <= rows.Start {
		return s
	}
	pic := tokens.Picture(tokens.Tokens(toks))
	var src *image.RGBA = pic
	if w != tokens.PxSize || h != tokens.PxSize {
		src = image.NewRGBA(image.Rect(0, 0, w, h))
		xdraw.NearestNeighbor.Scale(src, src.Rect, pic, pic.Rect, xdraw.Src, nil)
	}
	// The picture is opaque: its RGBA bytes are the NRGBA the canvas holds.
	s.Pix = slices.Clone(src.Pix[4*w*rows.Start : 4*w*rows.End])
	return s
}
