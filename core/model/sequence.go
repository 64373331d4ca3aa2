package model

import (
	"math/rand/v2"

	"github.com/twig-project/twig/core/world"
)

// NoGrid is the row/column index of tokens that are not image tokens.
const NoGrid = world.Grid

// Doc is one training document: the token stream of one scene with, per
// token, its position information and the weight of predicting it.
type Doc struct {
	Tokens   []int32
	Row, Col []int32   // grid row/column of image tokens, NoGrid otherwise
	Weight   []float32 // loss weight for predicting this token from the one before
}

func (d *Doc) add(tok, row, col int, w float32) {
	d.Tokens = append(d.Tokens, int32(tok))
	d.Row = append(d.Row, int32(row))
	d.Col = append(d.Col, int32(col))
	d.Weight = append(d.Weight, w)
}

func (d *Doc) addWords(ids []int, w float32) {
	for _, id := range ids {
		d.add(id, NoGrid, NoGrid, w)
	}
}

func (d *Doc) addRows(t world.Tokens, r0, r1 int, w float32) {
	for r := r0; r < r1; r++ {
		for c := 0; c < world.Grid; c++ {
			d.add(t[r*world.Grid+c], r, c, w)
		}
	}
}

// Len is the number of tokens.
func (d *Doc) Len() int { return len(d.Tokens) }

// EqualBands splits the grid's rows into k bands as the engine does: the
// first Grid%k bands get one extra row. It returns k+1 cut rows.
func EqualBands(k int) []int {
	cuts := []int{0}
	base, extra := world.Grid/k, world.Grid%k
	r := 0
	for i := 0; i < k; i++ {
		r += base
		if i < extra {
			r++
		}
		cuts = append(cuts, r)
	}
	return cuts
}

// DocOptions sets the mixture of training documents.
type DocOptions struct {
	NoThink  float64 // share of documents without thoughts (thought dropout)
	Adaptive float64 // share of think documents whose bands start where objects begin
	Random   float64 // share of think documents with random band heights
	Look     float64 // chance a band is followed by the model's description of it
	Corrupt  float64 // chance a described band was drawn wrong first, then redrawn
	// Categories weighs how often each benchmark category is drawn; nil
	// means TrainCategoryWeights.
	Categories map[string]float64 `json:",omitempty"`
}

// DefaultDocOptions is the mixture the shipped weights were trained on.
var DefaultDocOptions = DocOptions{NoThink: 0.3, Adaptive: 0.2, Random: 0.15, Look: 0.3, Corrupt: 0.35}

// BuildDoc writes the training document of one scene drawn for spec.
func BuildDoc(rng *rand.Rand, v *Vocab, spec world.Spec, scene world.Scene, o DocOptions) Doc {
	var d Doc
	d.add(TokBOS, NoGrid, NoGrid, 0)
	d.addWords(v.MustIDs(world.ModelPromptWords(spec)), 0)
	img := world.Render(scene)
	if rng.Float64() < o.NoThink {
		d.add(TokImg, NoGrid, NoGrid, 1)
		d.addRows(img, 0, world.Grid, 1)
		if rng.Float64() < o.Look { // describe the whole picture (best-of-n's critic)
			d.add(TokLook, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(world.ThoughtWords(world.BandEntries(scene, 0, world.Grid))), 1)
			d.add(TokEndLook, NoGrid, NoGrid, 1)
		}
		d.add(TokEnd, NoGrid, NoGrid, 1)
		return d
	}
	var cuts []int
	open := TokThink
	switch u := rng.Float64(); {
	case u < o.Adaptive:
		cuts = objectCuts(scene)
		open = TokAThink
	case u < o.Adaptive+o.Random:
		cuts = randomCuts(rng)
	default:
		cuts = EqualBands(2 + rng.IntN(3))
	}
	for b := 0; b+1 < len(cuts); b++ {
		r0, r1 := cuts[b], cuts[b+1]
		thought := append(world.HeaderWords(r0, r1), world.ThoughtWords(world.BandEntries(scene, r0, r1))...)
		tok := TokThink
		if b == 0 {
			tok = open
		}
		d.add(tok, NoGrid, NoGrid, 1)
		d.addWords(v.MustIDs(thought), 1)
		d.add(TokEndThink, NoGrid, NoGrid, 1)
		if rng.Float64() < o.Look {
			drawn := img
			corrupt := rng.Float64() < o.Corrupt
			var bad world.Scene
			if corrupt {
				bad = Corrupt(rng, scene, r0, r1)
				drawn = world.Render(bad)
			} else {
				bad = scene
			}
			w := float32(1)
			if corrupt {
				w = 0 // never learn to draw the corruption
			}
			d.addRows(spliceRows(img, drawn, r0, r1), r0, r1, w)
			d.add(TokLook, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(world.ThoughtWords(world.BandEntries(bad, r0, r1))), 1)
			d.add(TokEndLook, NoGrid, NoGrid, 1)
			if !corrupt {
				continue
			}
			// The redraw: the same thought, the band drawn right.
			d.add(TokThink, NoGrid, NoGrid, 1)
			d.addWords(v.MustIDs(thought), 1)
			d.add(TokEndThink, NoGrid, NoGrid, 1)
		}
		d.addRows(img, r0, r1, 1)
	}
	d.add(TokEnd, NoGrid, NoGrid, 1)
	return d
}

// spliceRows returns rows [r0, r1) taken from drawn, the rest from img.
func spliceRows(img, drawn world.Tokens, r0, r1 int) world.Tokens {
	out := append(world.Tokens(nil), img...)
	copy(out[r0*world.Grid:r1*world.Grid], drawn[r0*world.Grid:r1*world.Grid])
	return out
}

func objectCuts(s world.Scene) []int {
	starts := map[int]bool{0: true}
	for _, o := range s.Objects {
		starts[o.Y] = true
	}
	var cuts []int
	for r := 0; r < world.Grid; r++ {
		if starts[r] {
			cuts = append(cuts, r)
		}
	}
	return append(cuts, world.Grid)
}

func randomCuts(rng *rand.Rand) []int {
	k := 2 + rng.IntN(4)
	set := map[int]bool{}
	for len(set) < k-1 {
		set[1+rng.IntN(world.Grid-1)] = true
	}
	cuts := []int{0}
	for r := 1; r < world.Grid; r++ {
		if set[r] {
			cuts = append(cuts, r)
		}
	}
	return append(cuts, world.Grid)
}

// Corrupt returns a copy of the scene with one mistake visible in rows
// [r0, r1): a colour, shape or texture swapped, an object moved or dropped,
// or an extra object. If no object touches the band, an extra one appears.
func Corrupt(rng *rand.Rand, s world.Scene, r0, r1 int) world.Scene {
	out := world.Scene{Objects: append([]world.Object(nil), s.Objects...)}
	var touching []int
	for i, o := range out.Objects {
		if o.Y < r1 && o.Y+o.Side() > r0 {
			touching = append(touching, i)
		}
	}
	kind := rng.IntN(6)
	if len(touching) == 0 {
		kind = 5
	}
	if kind < 5 {
		i := touching[rng.IntN(len(touching))]
		o := &out.Objects[i]
		switch kind {
		case 0:
			o.Color = (o.Color + 1 + rng.IntN(len(world.Colors)-1)) % len(world.Colors)
		case 1:
			o.Shape = (o.Shape + 1 + rng.IntN(len(world.Shapes)-1)) % len(world.Shapes)
		case 2:
			o.Texture = 1 - o.Texture
		case 3:
			dx := 2 + rng.IntN(4)
			if rng.IntN(2) == 0 {
				dx = -dx
			}
			o.X = min(max(o.X+dx, 0), world.Grid-o.Side())
		case 4:
			out.Objects = append(out.Objects[:i], out.Objects[i+1:]...)
		}
		return out
	}
	e := world.Object{Color: rng.IntN(len(world.Colors)), Shape: rng.IntN(len(world.Shapes)), Size: 0, Texture: rng.IntN(2)}
	e.Y = min(max(r0, 0), world.Grid-e.Side())
	e.X = rng.IntN(world.Grid - e.Side() + 1)
	out.Objects = append(out.Objects, e)
	return out
}
