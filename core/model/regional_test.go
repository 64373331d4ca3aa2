package model

import (
	"context"
	"reflect"
	"strings"
	"testing"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// A region's side session holds exactly the document of a picture of its
// object alone, as training writes single-object documents: the object's
// prompt, each band's plan naming only it, and the canvas with every cell
// outside the region empty. Objects whose region does not reach the band get
// none.
func TestRegionSideDocument(t *testing.T) {
	m := randomModel(t)
	circle := scene.Object{Color: 0, Shape: 0, Size: 0, Texture: 0, Y: 0, X: 0}
	square := scene.Object{Color: 2, Shape: 1, Size: 0, Texture: 0, Y: 0, X: 8}
	diamond := scene.Object{Color: 4, Shape: 3, Size: 0, Texture: 1, Y: 7, X: 9}
	band0 := aloneThoughtOf(scene.Scene{Objects: []scene.Object{circle, square}}, 0, 6)
	plan := aloneThoughtOf(scene.Scene{Objects: []scene.Object{diamond}}, 6, 11)
	canvas := tokens.NewTokens()
	drawn := scene.Render(scene.Scene{Objects: []scene.Object{circle, square}})
	copy(canvas[:6*tokens.Grid], drawn[:6*tokens.Grid])
	st := engine.DefaultSettings()
	st.Reflect = false
	v := view{Settings: st, Band: 1, Rows: engine.Rows{Start: 6, End: 11}, Thoughts: []string{band0}, Canvas: canvas, h: tokens.PxSize}
	s := newSession(m, nil, 1, DefaultSampling, false)
	regions := s.regions(v, 1, plan, 11)
	if len(regions) != 1 || regions[0].o != diamond {
		t.Fatalf("regions of band 1: %d, want the diamond's alone", len(regions))
	}
	g := regions[0]
	// Paint the band up to the diamond's first cell as the run would.
	for c := 0; c < tokens.Grid; c++ {
		g.painted(6, c, tokens.EmptyToken)
	}
	for c := 0; c < 9; c++ {
		g.painted(7, c, tokens.EmptyToken)
	}
	if _, err := g.sample(context.Background(), 7, 9, 0.6, make([]float32, m.W.Vocab.Size())); err != nil {
		t.Fatal(err)
	}
	alone := scene.Scene{Objects: []scene.Object{diamond}}
	var want Doc
	want.add(TokBOS, NoGrid, NoGrid, 0)
	want.addWords(m.W.Vocab.MustIDs(thought.ModelPromptWords(scene.Spec{Groups: []scene.Group{{Count: 1, Color: 4, Shape: 3, Size: 0, Texture: 1}}})), 0)
	for _, b := range [][2]int{{0, 6}, {6, 11}} {
		want.add(TokThink, NoGrid, NoGrid, 0)
		want.addWords(m.W.Vocab.MustIDs(strings.Fields(aloneThoughtOf(alone, b[0], b[1]))), 0)
		want.add(TokEndThink, NoGrid, NoGrid, 0)
		if b[0] == 0 {
			want.addRows(scene.Render(scene.Scene{}), 0, 6, 0) // the circle and the square are not in it
		}
	}
	empty := scene.Render(scene.Scene{})
	want.addRows(empty, 6, 7, 0)
	for c := 0; c < 9; c++ {
		want.add(empty[7*tokens.Grid+c], 7, c, 0)
	}
	var got Doc
	for _, it := range g.s.want {
		got.add(int(it.tok), int(it.row), int(it.col), 0)
	}
	if !reflect.DeepEqual(got.Tokens, want.Tokens) || !reflect.DeepEqual(got.Row, want.Row) || !reflect.DeepEqual(got.Col, want.Col) {
		t.Fatalf("side document\n got %v\nwant %v", got.Tokens, want.Tokens)
	}
}

func aloneThoughtOf(sc scene.Scene, r0, r1 int) string {
	return strings.Join(append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(sc, r0, r1))...), " ")
}

// A cell in an object's box is that object's; one in a single margin is its
// region's; one in two margins (or none) is the run's painter's alone.
func TestRegionAt(t *testing.T) {
	a := &region{o: scene.Object{Size: 0, Y: 0, X: 0}}
	b := &region{o: scene.Object{Size: 0, Y: 0, X: 6}}
	rs := []*region{a, b}
	for _, c := range []struct {
		r, c int
		want *region
	}{{0, 0, a}, {1, 7, b}, {0, 4, nil}, {4, 1, a}, {2, 9, b}, {10, 10, nil}} {
		if got := regionAt(rs, c.r, c.c); got != c.want {
			t.Errorf("cell (%d, %d): got region %v, want %v", c.r, c.c, got, c.want)
		}
	}
}

// Rollouts that RL learns from never paint regionally: with Regional on or
// off a recorded rollout is the same run, token for token.
func TestRolloutNeverRegional(t *testing.T) {
	m := randomModel(t)
	s := engine.DefaultSettings()
	run := func(regional bool) Rollout {
		mc := *m
		mc.Sampling.Regional = regional
		r, err := mc.Rollout(context.Background(), "a red circle above a blue square", 5, s, nil)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	on, off := run(true), run(false)
	if !reflect.DeepEqual(on.Result.Tokens, off.Result.Tokens) || !reflect.DeepEqual(on.Seqs, off.Seqs) {
		t.Fatal("a rollout painted differently with regional painting on")
	}
}

// With ReviewsAside an accepted plan's review stays out of the stream the
// band is painted after; without it "<review> ok </review>" follows the
// thought (the format RL's rollouts keep).
func TestReviewsAside(t *testing.T) {
	m := randomModel(t)
	if !m.canReview() {
		t.Fatal("the test model cannot review plans")
	}
	st := engine.DefaultSettings()
	reviews := func(aside bool) int {
		samp := DefaultSampling
		samp.ReviewsAside = aside
		s := newSession(m, nil, 1, samp, false)
		s.thoughtItems(view{Settings: st}, 0, "rows 0 5 : empty")
		n := 0
		for _, it := range s.want {
			if int(it.tok) == m.rv.open || int(it.tok) == m.rv.ok {
				n++
			}
		}
		return n
	}
	if n := reviews(false); n != 2 {
		t.Fatalf("reviews kept: %d review tokens, want <review> and ok", n)
	}
	if n := reviews(true); n != 0 {
		t.Fatalf("reviews aside: %d review tokens in the stream", n)
	}
}

// The longest side documents — sixteen one-row bands, reviews kept in the
// stream — fit a side session's capacity: runs of an untrained model (whose
// plans name objects anywhere) paint regionally to the end.
func TestRegionalSixteenBands(t *testing.T) {
	m := randomModel(t)
	m.Sampling.ReviewsAside = false
	s := engine.DefaultSettings()
	s.Bands = 16
	regions := 0
	for seed := int64(1); seed <= 6; seed++ {
		res, _ := drawOnce(t, m, s, seed)
		regions += len(thought.PlannedObjects(res.Thoughts...))
	}
	if regions == 0 {
		t.Fatal("no plan named an object: no side session was made")
	}
}
