package judge

import (
	"fmt"
	"image"
	"math/rand/v2"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// The test draws its own specs and scenes (independent of world's sampler):
// objects on the 16×16 grid with at least one empty cell between bounding
// boxes, relations held with at least one empty row or column of margin.

func tSpec(rng *rand.Rand, cat string) scene.Spec {
	nc, ns := len(scene.Colors), len(scene.Shapes)
	opt := func(p float64, n int) int {
		if rng.Float64() < p {
			return rng.IntN(n)
		}
		return scene.Any
	}
	grp := func(count int, pc, psz, pt float64) scene.Group {
		return scene.Group{Count: count, Shape: rng.IntN(ns), Color: opt(pc, nc), Size: opt(psz, 2), Texture: opt(pt, 2)}
	}
	s := scene.Spec{Category: cat}
	switch cat {
	case "single":
		s.Groups = []scene.Group{grp(1, 0.8, 0.5, 0.5)}
	case "color":
		a, b := grp(1, 1, 0.3, 0.3), grp(1, 1, 0.3, 0.3)
		for b.Color == a.Color {
			b.Color = rng.IntN(nc)
		}
		s.Groups = []scene.Group{a, b}
	case "shape":
		a, b := grp(1, 0.5, 0.6, 0.3), grp(1, 0.5, 0.6, 0.3)
		for b.Shape == a.Shape {
			b.Shape = rng.IntN(ns)
		}
		s.Groups = []scene.Group{a, b}
	case "texture":
		a, b := grp(1, 0.6, 0.3, 1), grp(1, 0.6, 0.3, 1)
		s.Groups = []scene.Group{a, b}
	case "spatial":
		s.Groups = []scene.Group{grp(1, 0.9, 0.4, 0.4), grp(1, 0.9, 0.4, 0.4)}
		s.Relations = []scene.Relation{{A: 0, B: 1, Kind: rng.IntN(4)}}
	case "numeracy":
		if rng.IntN(2) == 0 {
			g := grp(2+rng.IntN(3), 0.7, 0.4, 0.4)
			if g.Count > 2 {
				g.Size = 0
			}
			s.Groups = []scene.Group{g}
		} else {
			a, b := grp(1+rng.IntN(3), 0.8, 0, 0.3), grp(1+rng.IntN(2), 0.8, 0, 0.3)
			a.Size, b.Size = 0, 0
			s.Groups = []scene.Group{a, b}
		}
	case "complex":
		switch rng.IntN(3) {
		case 0:
			a := grp(2+rng.IntN(2), 0.9, 0, 0.4)
			a.Size = 0
			s.Groups = []scene.Group{a, grp(1, 1, 0.3, 0.3)}
			s.Relations = []scene.Relation{{A: 1, B: 0, Kind: rng.IntN(4)}}
		case 1:
			s.Groups = []scene.Group{grp(1, 1, 0.4, 0.4), grp(1, 1, 0.4, 0.4), grp(1, 1, 0.4, 0.4)}
			s.Relations = []scene.Relation{{A: 0, B: 1, Kind: rng.IntN(4)}}
		default:
			s.Groups = []scene.Group{grp(1, 1, 0.3, 0.3), grp(1, 1, 0.3, 0.3), grp(1, 1, 0.3, 0.3)}
			s.Relations = []scene.Relation{{A: 0, B: 1, Kind: rng.IntN(4)}, {A: 1, B: 2, Kind: rng.IntN(4)}}
		}
	}
	return s
}

// tDistinct: no object can fit two groups' descriptions.
func tDistinct(s scene.Spec) bool {
	differ := func(x, y int) bool { return x != scene.Any && y != scene.Any && x != y }
	for i := range s.Groups {
		for j := i + 1; j < len(s.Groups); j++ {
			a, b := s.Groups[i], s.Groups[j]
			if a.Shape == b.Shape && !differ(a.Color, b.Color) && !differ(a.Size, b.Size) && !differ(a.Texture, b.Texture) {
				return false
			}
		}
	}
	return true
}

func tSeparated(a, b scene.Object) bool {
	return a.X+a.Side() < b.X || b.X+b.Side() < a.X || a.Y+a.Side() < b.Y || b.Y+b.Side() < a.Y
}

// tHoldsMargin: the relation holds with at least one empty cell between.
func tHoldsMargin(a, b scene.Object, kind int) bool {
	switch kind {
	case scene.Above:
		return a.Y+a.Side() < b.Y
	case scene.Below:
		return b.Y+b.Side() < a.Y
	case scene.LeftOf:
		return a.X+a.Side() < b.X
	default:
		return b.X+b.Side() < a.X
	}
}

// tFill gives an object of group g with open attributes drawn at random, not
// matching any other group.
func tFill(rng *rand.Rand, s scene.Spec, gi int) (scene.Object, bool) {
	g := s.Groups[gi]
	for try := 0; try < 50; try++ {
		o := scene.Object{Color: g.Color, Shape: g.Shape, Size: g.Size, Texture: g.Texture}
		if o.Color == scene.Any {
			o.Color = rng.IntN(len(scene.Colors))
		}
		if o.Size == scene.Any {
			o.Size = rng.IntN(2)
		}
		if o.Texture == scene.Any {
			o.Texture = rng.IntN(2)
		}
		ok := true
		for gj, h := range s.Groups {
			if gj != gi && h.Matches(o) {
				ok = false
			}
		}
		if ok {
			return o, true
		}
	}
	return scene.Object{}, false
}

// tPlace finds a free spot for objs[i] given the others (and relations).
func tPlace(rng *rand.Rand, objs []scene.Object, groupOf []int, i int, rels []scene.Relation, ok func(scene.Object) bool) bool {
	side := objs[i].Side()
	for t := 0; t < 300; t++ {
		objs[i].X, objs[i].Y = rng.IntN(tokens.Grid-side+1), rng.IntN(tokens.Grid-side+1)
		good := ok == nil || ok(objs[i])
		for j := range objs {
			if j == i || !good {
				continue
			}
			if !tSeparated(objs[i], objs[j]) {
				good = false
			}
			for _, r := range rels {
				if r.A == groupOf[i] && r.B == groupOf[j] && !tHoldsMargin(objs[i], objs[j], r.Kind) ||
					r.B == groupOf[i] && r.A == groupOf[j] && !tHoldsMargin(objs[j], objs[i], r.Kind) {
					good = false
				}
			}
		}
		if good {
			return true
		}
	}
	return false
}

type tScene struct {
	spec    scene.Spec
	objs    []scene.Object
	groupOf []int
}

// tSample draws a spec of the category and a scene that satisfies it.
func tSample(rng *rand.Rand, cat string) tScene {
	for {
		s := tSpec(rng, cat)
		if !tDistinct(s) {
			continue
		}
		for try := 0; try < 20; try++ {
			var objs []scene.Object
			var groupOf []int
			ok := true
			for gi, g := range s.Groups {
				for k := 0; k < g.Count && ok; k++ {
					o, good := tFill(rng, s, gi)
					ok = good
					if tokens.Grid-o.Side() < 0 {
						ok = false
					}
					objs = append(objs, o)
					groupOf = append(groupOf, gi)
				}
			}
			if !ok {
				break
			}
			placed := true
			for i := range objs {
				if !tPlace(rng, objs[:i+1], groupOf, i, s.Relations, nil) {
					placed = false
					break
				}
			}
			if placed {
				return tScene{s, objs, groupOf}
			}
		}
	}
}

func picture(objs []scene.Object) *image.RGBA {
	return tokens.Picture(scene.Render(scene.Scene{Objects: objs}))
}

func TestDetectExact(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for i := 0; i < 500; i++ {
		sc := tSample(rng, scene.Categories[i%len(scene.Categories)])
		got := Detect(picture(sc.objs))
		if len(got) != len(sc.objs) {
			t.Fatalf("found %d objects, want %d: %+v vs %+v", len(got), len(sc.objs), got, sc.objs)
		}
		want := map[scene.Object]int{}
		for _, o := range sc.objs {
			want[o]++
		}
		for _, o := range got {
			if want[o] == 0 {
				t.Fatalf("found %+v not in scene %+v", o, sc.objs)
			}
			want[o]--
		}
	}
	// Scaling keeps the verdict: the judge works on any picture size.
	sc := tSample(rng, "complex")
	big := tokens.Scaled(picture(sc.objs), 512)
	if r := Check(sc.spec, big); !r.Pass {
		t.Errorf("scaled picture fails: %+v", r.Claims)
	}
}

// plant applies one kind of error to a correct scene; ok is false when the
// error does not apply to this scene (or no free space was found).
func plant(rng *rand.Rand, sc tScene, kind string) ([]scene.Object, bool) {
	objs := append([]scene.Object(nil), sc.objs...)
	groupOf := append([]int(nil), sc.groupOf...)
	s := sc.spec
	pickObj := func(cond func(g scene.Group) bool) int {
		var is []int
		for i := range objs {
			if cond(s.Groups[groupOf[i]]) {
				is = append(is, i)
			}
		}
		if len(is) == 0 {
			return -1
		}
		return is[rng.IntN(len(is))]
	}
	switch kind {
	case "colour swap":
		i := pickObj(func(g scene.Group) bool { return g.Color != scene.Any })
		if i < 0 {
			return nil, false
		}
		// Swap with an object of another named colour when there is one, else recolour.
		for j := range objs {
			if objs[j].Color != objs[i].Color && s.Groups[groupOf[j]].Color != scene.Any {
				objs[i].Color, objs[j].Color = objs[j].Color, objs[i].Color
				return objs, true
			}
		}
		objs[i].Color = (objs[i].Color + 1 + rng.IntN(len(scene.Colors)-1)) % len(scene.Colors)
	case "shape swap":
		i := rng.IntN(len(objs))
		objs[i].Shape = (objs[i].Shape + 1 + rng.IntN(len(scene.Shapes)-1)) % len(scene.Shapes)
	case "wrong texture":
		i := pickObj(func(g scene.Group) bool { return g.Texture != scene.Any })
		if i < 0 {
			return nil, false
		}
		objs[i].Texture = 1 - objs[i].Texture
	case "moved across relation":
		if len(s.Relations) == 0 {
			return nil, false
		}
		r := s.Relations[rng.IntN(len(s.Relations))]
		movers := []int{}
		for i := range objs {
			if groupOf[i] == r.A || groupOf[i] == r.B {
				movers = append(movers, i)
			}
		}
		for _, i := range rng.Perm(len(movers)) {
			m := movers[i]
			violates := func(o scene.Object) bool {
				for j := range objs {
					if j == m {
						continue
					}
					// The moved object overlaps the other along the relation's axis.
					if groupOf[m] == r.A && groupOf[j] == r.B && !scene.HoldsLoose(o, objs[j], r.Kind) ||
						groupOf[m] == r.B && groupOf[j] == r.A && !scene.HoldsLoose(objs[j], o, r.Kind) {
						return true
					}
				}
				return false
			}
			if tPlace(rng, objs, groupOf, m, nil, violates) {
				return objs, true
			}
		}
		return nil, false
	case "object dropped":
		i := rng.IntN(len(objs))
		objs = append(objs[:i], objs[i+1:]...)
	case "extra object":
		gi := rng.IntN(len(s.Groups))
		o, ok := tFill(rng, s, gi)
		if !ok {
			return nil, false
		}
		objs = append(objs, o)
		groupOf = append(groupOf, gi)
		if !tPlace(rng, objs, groupOf, len(objs)-1, nil, nil) {
			return nil, false
		}
	case "count off by one":
		gi := rng.IntN(len(s.Groups))
		if s.Groups[gi].Count >= 2 && rng.IntN(2) == 0 {
			for i := range objs {
				if groupOf[i] == gi {
					return append(objs[:i], objs[i+1:]...), true
				}
			}
		}
		o, ok := tFill(rng, s, gi)
		if !ok {
			return nil, false
		}
		objs = append(objs, o)
		groupOf = append(groupOf, gi)
		if !tPlace(rng, objs, groupOf, len(objs)-1, nil, nil) {
			return nil, false
		}
	}
	return objs, true
}

// tSatisfies is the ground truth: whether objs satisfy spec under some
// assignment of objects to groups (computed on the objects, not a picture).
func tSatisfies(s scene.Spec, objs []scene.Object) bool {
	owner := make([]int, len(objs))
	var try func(i int) bool
	try = func(i int) bool {
		if i == len(objs) {
			counts := make([]int, len(s.Groups))
			for _, g := range owner {
				if g >= 0 {
					counts[g]++
				}
			}
			for gi, g := range s.Groups {
				if counts[gi] != g.Count {
					return false
				}
			}
			for _, r := range s.Relations {
				for a := range objs {
					for b := range objs {
						if owner[a] == r.A && owner[b] == r.B && !scene.HoldsLoose(objs[a], objs[b], r.Kind) {
							return false
						}
					}
				}
			}
			return true
		}
		matched := false
		for gi, g := range s.Groups {
			if g.Matches(objs[i]) {
				matched = true
				owner[i] = gi
				if try(i + 1) {
					return true
				}
			}
		}
		if !matched {
			owner[i] = -1
			return try(i + 1)
		}
		return false
	}
	return try(0)
}

var plantKinds = []string{"colour swap", "shape swap", "wrong texture", "moved across relation", "object dropped", "extra object", "count off by one"}

type tally struct {
	mu       sync.Mutex
	n, ok    map[string]int
	failures []string
}

func (t *tally) add(key string, good bool, why string) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.n[key]++
	if good {
		t.ok[key]++
	} else if len(t.failures) < 5 {
		t.failures = append(t.failures, why)
	}
}

func TestJudgeAccuracy(t *testing.T) {
	n := 10000
	if testing.Short() {
		n = 1400
	}
	truth := &tally{n: map[string]int{}, ok: map[string]int{}}
	caught := &tally{n: map[string]int{}, ok: map[string]int{}}
	workers := runtime.GOMAXPROCS(0)
	start := time.Now()
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for i := w; i < n; i += workers {
				cat := scene.Categories[i%len(scene.Categories)]
				sc := tSample(rng, cat)
				if !tSatisfies(sc.spec, sc.objs) {
					panic("test sampler drew a scene that misses its spec")
				}
				r := Check(sc.spec, picture(sc.objs))
				truth.add(cat, r.Pass, fmt.Sprintf("truth %s %q %+v: %+v", cat, english.Canonical(sc.spec), sc.objs, r.Claims))
				kind := plantKinds[(i/len(scene.Categories))%len(plantKinds)]
				for try := 0; try < 5; try++ {
					bad, ok := plant(rng, sc, kind)
					if !ok || tSatisfies(sc.spec, bad) { // not applicable, or not an error after all
						continue
					}
					r := Check(sc.spec, picture(bad))
					caught.add(kind, !r.Pass, fmt.Sprintf("missed %s in %q: %+v → %+v", kind, english.Canonical(sc.spec), sc.objs, bad))
					break
				}
			}
		}(w)
	}
	wg.Wait()
	rate := func(tl *tally) (float64, int) {
		a, b := 0, 0
		for k := range tl.n {
			a += tl.ok[k]
			b += tl.n[k]
		}
		return float64(a) / float64(b), b
	}
	tr, tn := rate(truth)
	cr, cn := rate(caught)
	t.Logf("judge: ground truth pass %.4f on %d renders %v; planted errors caught %.4f of %d %v; %.1fs",
		tr, tn, truth.ok, cr, cn, caught.ok, time.Since(start).Seconds())
	t.Logf("planted per kind: %v; missed e.g. %v", caught.n, caught.failures)
	if tr < 0.995 {
		t.Errorf("ground truth pass %.4f < 0.995; e.g. %v", tr, truth.failures)
	}
	if cr < 0.99 {
		t.Errorf("planted errors caught %.4f < 0.99; e.g. %v", cr, caught.failures)
	}
	for _, k := range plantKinds {
		if caught.n[k] == 0 {
			t.Errorf("no %s planted", k)
		}
	}
}

func TestCheckClaims(t *testing.T) {
	spec, err := english.Parse("a red circle above a blue square")
	if err != nil {
		t.Fatal(err)
	}
	red := scene.Object{Color: 0, Shape: 0, Size: 1, X: 5, Y: 1}
	blue := scene.Object{Color: 2, Shape: 1, Size: 0, X: 6, Y: 9}
	r := Check(spec, picture([]scene.Object{red, blue}))
	if !r.Pass || len(r.Claims) != 3 {
		t.Fatalf("%+v", r)
	}
	red.Y, blue.Y = 10, 1
	r = Check(spec, picture([]scene.Object{red, blue}))
	if r.Pass || !r.Claims[0].OK || !r.Claims[1].OK || r.Claims[2].OK {
		t.Fatalf("%+v", r)
	}
	t.Logf("claims: %+v", r.Claims)
	// Open attributes are assigned fairly: "a circle and a red circle".
	spec, _ = english.Parse("a circle and a red circle")
	r = Check(spec, picture([]scene.Object{{Color: 0, Shape: 0, Size: 0, X: 1, Y: 1}, {Color: 2, Shape: 0, Size: 0, X: 8, Y: 8}}))
	if !r.Pass {
		t.Fatalf("%+v", r)
	}
	// Undrawn cells read as background; a malformed blob matches nothing.
	tok := tokens.NewTokens()
	for i, tk := range scene.ObjectTokens(scene.Object{Color: 1, Shape: 2, Size: 1, X: 3, Y: 3}) {
		tok[i] = tk
	}
	tok[0] = tokens.EncodeCell(tokens.Cell{Color: 1, Mask: 15})
	fs := Analyze(tokens.Picture(tok))
	want := scene.Object{Color: 1, Shape: 2, Size: 1, X: 3, Y: 3}
	if len(fs) != 2 || !fs[0].Malformed || fs[1].Malformed || fs[1].Object != want {
		t.Fatalf("found %+v", fs)
	}
	if objs := Detect(tokens.Picture(tok)); len(objs) != 1 || objs[0] != want {
		t.Fatalf("detect %+v", objs)
	}
}

func BenchmarkCheck(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 1))
	sc := tSample(rng, "complex")
	img := picture(sc.objs)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		Check(sc.spec, img)
	}
}
