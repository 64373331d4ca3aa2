// Package judge reads a rendered picture of the world — never its tokens or
// its scene graph — finds the objects in it and checks a prompt's claims.
//
// Method: the picture is cut into the world's SubGrid×SubGrid sub-pixels;
// every picture pixel is classified as background (white, or the grey of an
// undrawn cell) or as the nearest palette colour, where a palette colour's
// light tint counts as that colour and as evidence of stripes. A sub-pixel
// takes its majority class. Sub-pixels of one colour form objects by
// 8-connectivity. Each object gets its colour, its texture (striped when
// more than a quarter of its coloured pixels are tint), and the shape and
// size whose scene.ShapeMask template fits it best (intersection over union);
// below MinIoU it is malformed and counts as no shape at all. Its location is
// the fitted template's bounding box in cells.
package judge

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// MinIoU is the least template fit for a blob to count as a shape.
const MinIoU = 0.6

// StripedFraction is the share of tint pixels above which an object is striped.
const StripedFraction = 0.25

// Found is one connected blob of one colour.
type Found struct {
	Object    scene.Object    // Shape and Size are scene.Any when Malformed
	Malformed bool            // no shape template fits with IoU ≥ MinIoU
	IoU       float64         // the best template fit
	Box       image.Rectangle // bounding box in sub-pixels
	SubPixels int
}

type template struct {
	shape, size int
	n           int
	mask        [][]bool
	box         image.Rectangle // tight box of the set sub-pixels
	area        int
}

var templates = func() []template {
	var ts []template
	for sh := range scene.Shapes {
		for sz, side := range scene.SizeCells {
			m := scene.ShapeMask(sh, side)
			t := template{shape: sh, size: sz, n: len(m), mask: m}
			x0, y0, x1, y1 := len(m), len(m), 0, 0
			for y := range m {
				for x := range m[y] {
					if m[y][x] {
						t.area++
						x0, y0, x1, y1 = min(x0, x), min(y0, y), max(x1, x+1), max(y1, y+1)
					}
				}
			}
			t.box = image.Rect(x0, y0, x1, y1)
			ts = append(ts, t)
		}
	}
	return ts
}()

// Pixel classes: 0 background, 1+c palette colour c, 1+nc+c tint of colour c.
var refColors = func() []color.RGBA {
	refs := []color.RGBA{tokens.Background, tokens.Undrawn, tokens.UndrawnAlt}
	refs = append(refs, tokens.Palette...)
	for c := range tokens.Palette {
		refs = append(refs, tokens.Tint(c))
	}
	return refs
}()

const nBackgroundRefs = 3

// classify returns -1 for background, else colour c, and whether it is a tint.
func classify(r, g, b uint8) (int, bool) {
	best, bd := 0, math.MaxInt
	for i, c := range refColors {
		dr, dg, db := int(r)-int(c.R), int(g)-int(c.G), int(b)-int(c.B)
		if d := dr*dr + dg*dg + db*db; d < bd {
			best, bd = i, d
		}
	}
	if best < nBackgroundRefs {
		return -1, false
	}
	k := best - nBackgroundRefs
	nc := len(tokens.Palette)
	return k % nc, k >= nc
}

type subPixel struct {
	color   int // -1 background
	colorPx int // pixels of that colour (plain + tint)
	tintPx  int
	compID  int
}

// subPixels reads the picture into the SubGrid×SubGrid sub-pixel grid.
func subPixels(img image.Image) [][]subPixel {
	const G = tokens.SubGrid
	b := img.Bounds()
	w, h := b.Dx(), b.Dy()
	rgba, _ := img.(*image.RGBA)
	var lastKey uint32 = 1 << 31
	lastC, lastT := -1, false
	read := func(x, y int) (int, bool) {
		var r, g, bl uint8
		if rgba != nil {
			i := rgba.PixOffset(x, y)
			r, g, bl = rgba.Pix[i], rgba.Pix[i+1], rgba.Pix[i+2]
		} else {
			c := color.RGBAModel.Convert(img.At(x, y)).(color.RGBA)
			r, g, bl = c.R, c.G, c.B
		}
		key := uint32(r)<<16 | uint32(g)<<8 | uint32(bl)
		if key != lastKey {
			lastKey = key
			lastC, lastT = classify(r, g, bl)
		}
		return lastC, lastT
	}
	grid := make([][]subPixel, G)
	nc := len(tokens.Palette)
	colPx := make([]int, nc)
	tintPx := make([]int, nc)
	for sy := 0; sy < G; sy++ {
		grid[sy] = make([]subPixel, G)
		y0, y1 := b.Min.Y+sy*h/G, b.Min.Y+(sy+1)*h/G
		if y1 <= y0 {
			y1 = y0 + 1
		}
		stepY := max(1, (y1-y0)/4)
		for sx := 0; sx < G; sx++ {
			x0, x1 := b.Min.X+sx*w/G, b.Min.X+(sx+1)*w/G
			if x1 <= x0 {
				x1 = x0 + 1
			}
			stepX := max(1, (x1-x0)/4)
			clear(colPx)
			clear(tintPx)
			bg := 0
			for y := y0; y < y1 && y < b.Max.Y; y += stepY {
				for x := x0; x < x1 && x < b.Max.X; x += stepX {
					c, t := read(x, y)
					if c < 0 {
						bg++
						continue
					}
					colPx[c]++
					if t {
						tintPx[c]++
					}
				}
			}
			best := 0
			for c := range colPx {
				if colPx[c] > colPx[best] {
					best = c
				}
			}
			sp := subPixel{color: -1, compID: -1}
			if colPx[best] > bg {
				sp = subPixel{color: best, colorPx: colPx[best], tintPx: tintPx[best], compID: -1}
			}
			grid[sy][sx] = sp
		}
	}
	return grid
}

// Analyze finds every blob in the picture, malformed ones included, in
// reading order of their top-left sub-pixel.
func Analyze(img image.Image) []Found {
	const G = tokens.SubGrid
	grid := subPixels(img)
	var found []Found
	var stack [][2]int
	for sy := 0; sy < G; sy++ {
		for sx := 0; sx < G; sx++ {
			sp := &grid[sy][sx]
			if sp.color < 0 || sp.compID >= 0 {
				continue
			}
			id := len(found)
			col := sp.color
			var pix [][2]int
			colorPx, tintPx := 0, 0
			box := image.Rect(sx, sy, sx+1, sy+1)
			sp.compID = id
			stack = append(stack[:0], [2]int{sx, sy})
			for len(stack) > 0 {
				p := stack[len(stack)-1]
				stack = stack[:len(stack)-1]
				pix = append(pix, p)
				q := &grid[p[1]][p[0]]
				colorPx += q.colorPx
				tintPx += q.tintPx
				box = box.Union(image.Rect(p[0], p[1], p[0]+1, p[1]+1))
				for dy := -1; dy <= 1; dy++ {
					for dx := -1; dx <= 1; dx++ {
						x, y := p[0]+dx, p[1]+dy
						if x < 0 || y < 0 || x >= G || y >= G {
							continue
						}
						if n := &grid[y][x]; n.color == col && n.compID < 0 {
							n.compID = id
							stack = append(stack, [2]int{x, y})
						}
					}
				}
			}
			f := Found{Box: box, SubPixels: len(pix)}
			f.Object.Color = col
			f.Object.Texture = 0
			if float64(tintPx) > StripedFraction*float64(colorPx) {
				f.Object.Texture = 1
			}
			fit(&f, grid, id)
			found = append(found, f)
		}
	}
	return found
}

// fit matches a blob against every shape × size template.
func fit(f *Found, grid [][]subPixel, id int) {
	const G = tokens.SubGrid
	in := func(x, y int) bool {
		return x >= 0 && y >= 0 && x < G && y < G && grid[y][x].compID == id
	}
	best := -1.0
	var bt template
	var bx, by int
	for _, t := range templates {
		for _, anchor := range [][2]int{
			{f.Box.Min.X - t.box.Min.X, f.Box.Min.Y - t.box.Min.Y},
			{f.Box.Max.X - t.box.Max.X, f.Box.Max.Y - t.box.Max.Y},
		} {
			for dy := -1; dy <= 1; dy++ {
				for dx := -1; dx <= 1; dx++ {
					ox, oy := anchor[0]+dx, anchor[1]+dy
					inter := 0
					for y := 0; y < t.n; y++ {
						for x := 0; x < t.n; x++ {
							if t.mask[y][x] && in(ox+x, oy+y) {
								inter++
							}
						}
					}
					iou := float64(inter) / float64(f.SubPixels+t.area-inter)
					if iou > best {
						best, bt, bx, by = iou, t, ox, oy
					}
				}
			}
		}
	}
	f.IoU = best
	if best < MinIoU {
		f.Malformed = true
		f.Object.Shape, f.Object.Size = scene.Any, scene.Any
		f.Object.X, f.Object.Y = f.Box.Min.X/tokens.Sub, f.Box.Min.Y/tokens.Sub
		return
	}
	side := scene.SizeCells[bt.size]
	cell := func(o int) int {
		c := int(math.Floor(float64(o)/tokens.Sub + 0.5))
		return min(max(c, 0), tokens.Grid-side)
	}
	f.Object.Shape, f.Object.Size = bt.shape, bt.size
	f.Object.X, f.Object.Y = cell(bx), cell(by)
}

// Detect returns the well-formed objects in the picture (malformed blobs are
// left out; Analyze lists them).
func Detect(img image.Image) []scene.Object {
	var objs []scene.Object
	for _, f := range Analyze(img) {
		if !f.Malformed {
			objs = append(objs, f.Object)
		}
	}
	return objs
}

// Claim is one checked claim of a prompt.
type Claim struct {
	Text   string // e.g. "two striped green triangles", "a red circle above a blue square"
	OK     bool
	Detail string // what the judge saw
}

// Result is the judgement of one picture against one spec.
type Result struct {
	Claims  []Claim        // one per group, then one per relation
	Pass    bool           // every claim holds
	Objects []scene.Object // the well-formed objects found
}

// Score is the share of claims that hold (1 when there are none).
func (r Result) Score() float64 {
	if len(r.Claims) == 0 {
		return 1
	}
	n := 0
	for _, c := range r.Claims {
		if c.OK {
			n++
		}
	}
	return float64(n) / float64(len(r.Claims))
}

// maxLeaves bounds the assignment search on cluttered pictures.
const maxLeaves = 50000

// Check judges img against spec. Each group claims exactly Count objects
// matching its description with no further matching object left over; each
// relation claims that every object of group A stands in its kind to every
// object of group B. Objects are assigned to groups by searching all fair
// assignments (an object serves at most one group; with open attributes an
// object may serve any group it matches) and keeping the one under which the
// most claims hold.
func Check(spec scene.Spec, img image.Image) Result {
	objs := Detect(img)
	ng := len(spec.Groups)
	res := Result{Objects: objs}
	owner := make([]int, len(objs))
	for i := range owner {
		owner[i] = -1
	}
	assigned := make([][]int, ng)
	bestScore := -1
	var bestClaims []Claim
	leaves := 0
	total := ng + len(spec.Relations)

	evaluate := func() {
		leaves++
		claims := make([]Claim, 0, total)
		score := 0
		complete := make([]bool, ng)
		for gi, g := range spec.Groups {
			extra := 0
			for oi, o := range objs {
				if owner[oi] < 0 && g.Matches(o) {
					extra++
				}
			}
			ok := len(assigned[gi]) == g.Count && extra == 0
			complete[gi] = len(assigned[gi]) > 0
			detail := fmt.Sprintf("found %d", len(assigned[gi])+extra)
			claims = append(claims, Claim{Text: groupText(g), OK: ok, Detail: detail})
			if ok {
				score++
			}
		}
		for _, r := range spec.Relations {
			ok := r.A >= 0 && r.B >= 0 && r.A < ng && r.B < ng && complete[r.A] && complete[r.B]
			bad := 0
			if ok {
				for _, a := range assigned[r.A] {
					for _, b := range assigned[r.B] {
						if !scene.HoldsLoose(objs[a], objs[b], r.Kind) {
							bad++
						}
					}
				}
				ok = bad == 0
			}
			detail := "holds"
			switch {
			case !ok && bad > 0:
				detail = fmt.Sprintf("%d pair(s) out of place", bad)
			case !ok:
				detail = "an object is missing"
			}
			claims = append(claims, Claim{Text: relationText(spec, r), OK: ok, Detail: detail})
			if ok {
				score++
			}
		}
		if score > bestScore {
			bestScore, bestClaims = score, claims
		}
	}

	var search func(gi int)
	search = func(gi int) {
		if bestScore == total || leaves >= maxLeaves {
			return
		}
		if gi == ng {
			evaluate()
			return
		}
		g := spec.Groups[gi]
		var cands []int
		for oi, o := range objs {
			if owner[oi] < 0 && g.Matches(o) {
				cands = append(cands, oi)
			}
		}
		k := min(g.Count, len(cands))
		if k <= 0 {
			search(gi + 1)
			return
		}
		// Every k-subset of the candidates, in lexicographic order.
		idx := make([]int, k)
		for i := range idx {
			idx[i] = i
		}
		for {
			assigned[gi] = assigned[gi][:0]
			for _, i := range idx {
				owner[cands[i]] = gi
				assigned[gi] = append(assigned[gi], cands[i])
			}
			search(gi + 1)
			for _, i := range idx {
				owner[cands[i]] = -1
			}
			assigned[gi] = assigned[gi][:0]
			if bestScore == total || leaves >= maxLeaves {
				return
			}
			j := k - 1
			for j >= 0 && idx[j] == len(cands)-k+j {
				j--
			}
			if j < 0 {
				return
			}
			idx[j]++
			for l := j + 1; l < k; l++ {
				idx[l] = idx[l-1] + 1
			}
		}
	}
	search(0)
	res.Claims = bestClaims
	res.Pass = bestScore == total
	return res
}

func groupText(g scene.Group) string {
	if g.Count < 1 || g.Count > 4 {
		return g.String()
	}
	return english.Canonical(scene.Spec{Groups: []scene.Group{g}})
}

func relationText(s scene.Spec, r scene.Relation) string {
	if r.A < 0 || r.B < 0 || r.A >= len(s.Groups) || r.B >= len(s.Groups) || r.A == r.B || r.Kind < 0 || r.Kind >= len(scene.RelationWords) {
		return fmt.Sprintf("invalid relation %v", r)
	}
	a, b := s.Groups[r.A], s.Groups[r.B]
	if a.Count < 1 || a.Count > 4 || b.Count < 1 || b.Count > 4 {
		return a.String() + " " + scene.RelationWords[r.Kind] + " " + b.String()
	}
	return english.Canonical(scene.Spec{Groups: []scene.Group{a, b}, Relations: []scene.Relation{{A: 0, B: 1, Kind: r.Kind}}})
}
