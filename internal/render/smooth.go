package render

import (
	"image"
	"image/color"
	"math"
	"math/bits"
	"slices"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Smooth decodes a token canvas into a side×side picture with smooth,
// anti-aliased edges: what people look at (PNGs, GIFs, the page). It is
// tokens.Picture with its stair-steps sanded off, not a redrawing: nothing
// recognises shapes, so a malformed blob stays malformed.
//
// Method. The canvas is a SubGrid×SubGrid grid of sub-pixels, each of one
// class: background, undrawn, or a (colour, texture) pair. The outline of
// every coloured class is traced along the sub-pixel edges (diagonal
// neighbours join, as the judge's 8-connectivity has it). Each loop becomes
// the midpoints of its unit edges (with points halfway between them) and is
// smoothed along the loop by the [1 2 1]/4 filter, smoothPasses times (a
// Gaussian of about one sub-pixel): stair-steps of slope 1:1 and 1:2 all but
// vanish into straight or round edges, straight runs stay where they were,
// and a turn between two straight runs of pinRun or more sub-pixels is a
// real corner and stays sharp (squares stay square). Each loop is then
// pushed out along its normals until it encloses the area of the tokens'
// outline, so small parts do not shrink away. The loops are filled even-odd
// with 4 sub-scanlines a pixel row and exact horizontal coverage, which is
// the anti-aliasing. Undrawn cells stay the crisp grey checkerboard; stripes
// are those of tokens.Picture (tokens.StripePx rows of a tokens.PxSize picture).
//
// The judge and the benchmark keep reading tokens.Picture, the exact token
// picture; the tests check that the judge passes every benchmark prompt's
// ground truth read from Smooth too, and that each token's mask keeps its
// coverage.
//
// web/twig.js draws the page's canvas with the same arithmetic, step for
// step (e2e/browser checks that the two agree).
func Smooth(t tokens.Tokens, side int) *image.RGBA {
	img := image.NewRGBA(image.Rect(0, 0, max(side, 0), max(side, 0)))
	if side <= 0 {
		return img
	}
	var cls [tokens.SubGrid * tokens.SubGrid]int8
	subClasses(t, &cls)
	for y := 0; y < side; y++ {
		for x := 0; x < side; x++ {
			c := fill(classBackground, x, y, side)
			if undrawnAt(t, x, y, side) {
				c = fill(classUndrawn, x, y, side)
			}
			o := img.PixOffset(x, y)
			img.Pix[o], img.Pix[o+1], img.Pix[o+2], img.Pix[o+3] = c.R, c.G, c.B, 255
		}
	}
	scale := float64(side) / float64(tokens.SubGrid)
	cover := make([]float64, side)
	for c := int8(0); c < int8(len(tokens.Palette)*len(scene.Textures)); c++ {
		loops := outline(&cls, c)
		if len(loops) == 0 {
			continue
		}
		var edges []edge
		y0, y1 := side, 0
		for _, l := range loops {
			p := smoothLoop(l)
			for k := range p {
				a, b := p[k], p[(k+1)%len(p)]
				e := edge{a.x * scale, a.y * scale, b.x * scale, b.y * scale}
				if e.ay == e.by {
					continue // horizontal: never crosses a scanline
				}
				edges = append(edges, e)
				y0 = min(y0, int(math.Floor(math.Min(e.ay, e.by))))
				y1 = max(y1, int(math.Ceil(math.Max(e.ay, e.by))))
			}
		}
		for y := max(y0, 0); y < min(y1, side); y++ {
			if !coverRow(edges, y, cover) {
				continue
			}
			for x, a := range cover {
				if a <= 0 || undrawnAt(t, x, y, side) {
					continue
				}
				o := img.PixOffset(x, y)
				under := color.RGBA{img.Pix[o], img.Pix[o+1], img.Pix[o+2], 255}
				col := blend(fill(c, x, y, side), under, min(a, 1))
				img.Pix[o], img.Pix[o+1], img.Pix[o+2] = col.R, col.G, col.B
			}
		}
	}
	return img
}

// Sub-pixel classes: classUndrawn, classBackground, or colour*len(Textures)+texture.
const (
	classUndrawn    = -2
	classBackground = -1
)

// subClasses reads every sub-pixel's class out of the tokens.
func subClasses(t tokens.Tokens, cls *[tokens.SubGrid * tokens.SubGrid]int8) {
	for i := 0; i < tokens.Grid*tokens.Grid; i++ {
		tok := -1
		if i < len(t) {
			tok = t[i]
		}
		cx, cy := i%tokens.Grid, i/tokens.Grid
		cell := tokens.DecodeCell(tok)
		for sy := 0; sy < tokens.Sub; sy++ {
			for sx := 0; sx < tokens.Sub; sx++ {
				k := (cy*tokens.Sub+sy)*tokens.SubGrid + cx*tokens.Sub + sx
				switch {
				case tok < 0:
					cls[k] = classUndrawn
				case cell.Mask&(1<<(sy*tokens.Sub+sx)) != 0:
					cls[k] = int8(cell.Color*len(scene.Textures) + cell.Texture)
				default:
					cls[k] = classBackground
				}
			}
		}
	}
}

// undrawnAt says whether pixel (x, y) lies in an undrawn cell.
func undrawnAt(t tokens.Tokens, x, y, side int) bool {
	i := (y*tokens.Grid/side)*tokens.Grid + x*tokens.Grid/side
	return i >= len(t) || t[i] < 0
}

type point struct{ x, y float64 }

type edge struct{ ax, ay, bx, by float64 }

// outline traces the boundary loops of the sub-pixels of class c, as lattice
// corners in sub-pixel units, walking each loop with the class on its left
// (x right, y down). Diagonal neighbours join into one loop.
func outline(cls *[tokens.SubGrid * tokens.SubGrid]int8, c int8) [][]point {
	const G = tokens.SubGrid
	in := func(x, y int) bool { return x >= 0 && y >= 0 && x < G && y < G && cls[y*G+x] == c }
	// out[v] holds the directions of the unit edges leaving lattice vertex v
	// (bit 0 +x, 1 +y, 2 -x, 3 -y); used[v] the ones already walked.
	const V = G + 1
	var out, used [V * V]uint8
	found := false
	for y := 0; y < G; y++ {
		for x := 0; x < G; x++ {
			if !in(x, y) {
				continue
			}
			found = true
			if !in(x, y-1) { // top edge, walked towards -x
				out[y*V+x+1] |= 1 << 2
			}
			if !in(x, y+1) { // bottom edge, towards +x
				out[(y+1)*V+x] |= 1 << 0
			}
			if !in(x-1, y) { // left edge, towards +y
				out[y*V+x] |= 1 << 1
			}
			if !in(x+1, y) { // right edge, towards -y
				out[(y+1)*V+x+1] |= 1 << 3
			}
		}
	}
	if !found {
		return nil
	}
	dx := [4]int{1, 0, -1, 0}
	dy := [4]int{0, 1, 0, -1}
	var loops [][]point
	// Start loops where only one edge leaves (never at a saddle), so that
	// every saddle is passed by the joining rule below.
	for pass := 0; pass < 2; pass++ {
		for v0 := 0; v0 < V*V; v0++ {
			for out[v0]&^used[v0] != 0 && (pass == 1 || bits.OnesCount8(out[v0]) == 1) {
				d := bits.TrailingZeros8(out[v0] &^ used[v0])
				var loop []point
				v := v0
				for {
					used[v] |= 1 << d
					loop = append(loop, point{float64(v % V), float64(v / V)})
					v += dy[d]*V + dx[d]
					free := out[v] &^ used[v]
					if free == 0 {
						break // back where the loop began
					}
					// At a saddle two edges leave v: the class lies at d-90°
					// (y down); turning to d+90° joins the diagonal neighbour.
					if turn := (d + 1) % 4; free&(1<<turn) != 0 {
						d = turn
					} else {
						d = bits.TrailingZeros8(free)
					}
				}
				loops = append(loops, loop)
			}
		}
	}
	return loops
}

// smoothPasses is how often the [1 2 1]/4 filter runs along a loop of half
// unit edges: 8 passes smooth with a standard deviation of one sub-pixel.
const smoothPasses = 8

// pinRun is the shortest straight run (in unit edges) on both sides of a
// turn that makes the turn a real corner, kept sharp: stair-steps of circles,
// diamonds and triangles are runs of one or two.
const pinRun = 3

// smoothLoop turns a traced loop into its smoothed outline (see Smooth).
func smoothLoop(l []point) []point {
	m := len(l)
	// run[k] is the length of the straight run that edge k (l[k] → l[k+1]) belongs to.
	dir := func(k int) point { a, b := l[k%m], l[(k+1)%m]; return point{b.x - a.x, b.y - a.y} }
	run := make([]int, m)
	start := 0 // the first edge of a run
	for start < m && dir(start+m-1) == dir(start) {
		start++
	}
	if start == m { // cannot happen for a closed lattice loop; be safe
		start = 0
	}
	for i := 0; i < m; {
		j := i + 1
		for j < m && dir(start+j) == dir(start+i) {
			j++
		}
		for k := i; k < j; k++ {
			run[(start+k)%m] = j - i
		}
		i = j
	}
	// The midpoints of the unit edges and the points halfway between them
	// (twice as many points make a rounder curve for the same smoothing).
	// A corner between two straight runs of pinRun or more unit edges is a
	// real corner, not a stair-step: it is pinned where it is.
	n := 2 * m
	p := make([]point, n)
	pinned := make([]bool, n)
	for k := range l {
		a, b, c := l[k], l[(k+1)%m], l[(k+2)%m]
		p[2*k] = point{(a.x + b.x) / 2, (a.y + b.y) / 2}
		p[2*k+1] = point{(a.x + 2*b.x + c.x) / 4, (a.y + 2*b.y + c.y) / 4}
		if k1 := (k + 1) % m; dir(k) != dir(k1) && run[k] >= pinRun && run[k1] >= pinRun {
			p[2*k+1], pinned[2*k+1] = b, true
		}
	}
	q := make([]point, n)
	for pass := 0; pass < smoothPasses; pass++ {
		for k := range p {
			if pinned[k] {
				q[k] = p[k]
				continue
			}
			a, b, c := p[(k+n-1)%n], p[k], p[(k+1)%n]
			q[k] = point{(a.x + 2*b.x + c.x) / 4, (a.y + 2*b.y + c.y) / 4}
		}
		p, q = q, p
	}
	// Push the free points out along the normals until the area is the traced loop's.
	want := area(l)
	g := make([]point, n)
	for pass := 0; pass < 2; pass++ {
		norm := 0.0
		for k := range p {
			a, c := p[(k+n-1)%n], p[(k+1)%n]
			g[k] = point{(c.y - a.y) / 2, (a.x - c.x) / 2} // ∂area/∂p[k]
			if !pinned[k] {
				norm += math.Hypot(g[k].x, g[k].y)
			}
		}
		if norm == 0 {
			break
		}
		delta := (want - area(p)) / norm
		for k := range p {
			if h := math.Hypot(g[k].x, g[k].y); h > 0 && !pinned[k] {
				p[k].x += delta * g[k].x / h
				p[k].y += delta * g[k].y / h
			}
		}
	}
	return p
}

// area is the loop's signed area (shoelace).
func area(p []point) float64 {
	s := 0.0
	for k := range p {
		a, b := p[k], p[(k+1)%len(p)]
		s += a.x*b.y - b.x*a.y
	}
	return s / 2
}

// coverRow sets cover[x] to the share of pixel (x, y) inside the edges
// (even-odd), sampled on 4 sub-scanlines with exact horizontal coverage; it
// reports whether any pixel is covered.
func coverRow(edges []edge, y int, cover []float64) bool {
	clear(cover)
	side := float64(len(cover))
	hit := false
	var xs []float64
	for s := 0; s < 4; s++ {
		sy := float64(y) + (float64(s)+0.5)/4
		xs = xs[:0]
		for _, e := range edges {
			if (e.ay <= sy) != (e.by <= sy) {
				xs = append(xs, e.ax+(sy-e.ay)*(e.bx-e.ax)/(e.by-e.ay))
			}
		}
		slices.Sort(xs)
		for i := 0; i+1 < len(xs); i += 2 {
			a, b := math.Max(xs[i], 0), math.Min(xs[i+1], side)
			if b <= a {
				continue
			}
			hit = true
			ia, ib := int(a), int(b)
			if ia == ib {
				cover[ia] += (b - a) / 4
				continue
			}
			cover[ia] += (float64(ia+1) - a) / 4
			for x := ia + 1; x < ib; x++ {
				cover[x] += 0.25
			}
			if ib < len(cover) {
				cover[ib] += (b - float64(ib)) / 4
			}
		}
	}
	return hit
}

// fill is the colour class c paints at pixel (x, y).
func fill(c int8, x, y, side int) color.RGBA {
	switch c {
	case classBackground:
		return tokens.Background
	case classUndrawn:
		if (x*tokens.Grid/side+y*tokens.Grid/side)%2 == 1 {
			return tokens.UndrawnAlt
		}
		return tokens.Undrawn
	}
	col, tex := int(c)/len(scene.Textures), int(c)%len(scene.Textures)
	if tex == 1 && (y*tokens.PxSize/side/tokens.StripePx)%2 == 1 {
		return tokens.Tint(col)
	}
	return tokens.Palette[col]
}

// blend mixes a over b with weight alpha, rounding to the nearest level.
func blend(a, b color.RGBA, alpha float64) color.RGBA {
	mix := func(p, q uint8) uint8 {
		return uint8(math.Floor(float64(alpha*float64(p)) + float64((1-alpha)*float64(q)) + 0.5))
	}
	return color.RGBA{mix(a.R, b.R), mix(a.G, b.G), mix(a.B, b.B), 255}
}
