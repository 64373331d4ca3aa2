package model

import (
	"context"
	"strings"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Regional painting (Sampling.Regional). A small model draws a colour–shape
// pair it has only seen alone far better alone than beside other objects: on
// prompts that name the world's held-out pairs, the shipped painter drew 178
// of 202 held-out objects its own plans placed right in the picture as a
// whole, and 192 of them in a picture of that object alone (same plan, same
// place). So each object the band's plan names is also painted by a side
// session that holds the document of a picture of that object alone — its
// prompt names only the object, its plans only it, its canvas only the
// object's own cells (every other cell empty): exactly what training's
// single-object documents look like. A cell near a planned object is sampled
// from the product of the two painters (the sum of their logits); every
// other cell from the run's own. Nothing here reads the prompt or judges a
// picture: the regions are the model's own plan.

// regionMargin is how far around an object's planned box its region reaches:
// painters place an object a cell or two off its plan at times.
const regionMargin = 2

// sideCapacity bounds a side session's stream, and so its KV cache (640
// tokens, not the model's 1024: a run may hold several side sessions). A
// picture of one object holds BOS, a prompt of at most 10 words, at most
// protocol.MaxBands plans of at most 14 tokens each (<think>, the header,
// one entry, </think>; 3 more with a review kept) and 256 cells: 539 tokens
// at the most.
const sideCapacity = 640

// region is one planned object painted as in a picture of it alone.
type region struct {
	o       scene.Object
	s       *session  // the side session: a picture of o alone
	v       view      // its view: o's plans, o's cells
	thought string    // its plan of the band being painted
	comb    []float32 // scratch: the product's logits
}

// regions makes a region for each object of the plan (the earlier bands'
// thoughts and this band's) whose cells, margin included, reach rows
// [v.Rows.Start, end). Side sessions are kept per object for the whole run,
// so a later band only feeds what is new.
func (s *session) regions(v view, band int, plan string, end int) []*region {
	earlier := v.Thoughts[:min(band, len(v.Thoughts))]
	objs := thought.PlannedObjects(append(append([]string(nil), earlier...), plan)...)
	var out []*region
	for _, o := range objs {
		g := &region{o: o}
		if g.top() >= end || g.bottom() <= v.Rows.Start {
			continue
		}
		alone := scene.Scene{Objects: []scene.Object{o}}
		g.s = s.sideSession(o)
		g.v = view{Settings: v.Settings, Band: band, Rows: v.Rows, h: v.h, Canvas: tokens.NewTokens()}
		for b, t := range earlier {
			_, r0, r1, _ := thought.ParseThought(t)
			if r0 < 0 {
				r0 = s.bandStart[b]
			}
			g.s.bandStart[b] = r0
			g.v.Thoughts = append(g.v.Thoughts, aloneThought(alone, r0, max(r0, r1)))
		}
		r0, r1 := v.Rows.Start, end
		if _, h0, h1, _ := thought.ParseThought(plan); h0 == r0 && h1 > h0 {
			r1 = h1 // an open band's plan says where it ends
		}
		g.thought = aloneThought(alone, r0, r1)
		for i := 0; i < v.Rows.Start*tokens.Grid && i < len(v.Canvas); i++ {
			if v.Canvas[i] >= 0 {
				g.painted(i/tokens.Grid, i%tokens.Grid, v.Canvas[i])
			}
		}
		out = append(out, g)
	}
	return out
}

// sideSession is the run's side session for object o, made on first use.
func (s *session) sideSession(o scene.Object) *session {
	if side, ok := s.side[o]; ok {
		return side
	}
	spec := scene.Spec{Category: "single", Groups: []scene.Group{{Count: 1, Color: o.Color, Shape: o.Shape, Size: o.Size, Texture: o.Texture}}}
	ids := s.m.W.Vocab.MustIDs(thought.ModelPromptWords(spec))
	side := newSessionOf(s.m, ids, int64(s.rng.Uint64()>>1), s.samp, s.adaptive, sideCapacity)
	if s.side == nil {
		s.side = map[scene.Object]*session{}
	}
	s.side[o] = side
	return side
}

// aloneThought is the plan of rows [r0, r1) of a picture of one object.
func aloneThought(alone scene.Scene, r0, r1 int) string {
	return strings.Join(append(thought.HeaderWords(r0, r1), thought.ThoughtWords(thought.BandEntries(alone, r0, r1))...), " ")
}

func (g *region) top() int    { return g.o.Y - regionMargin }
func (g *region) bottom() int { return g.o.Y + g.o.Side() + regionMargin }

// inBox reports whether cell (r, c) lies in the object's planned box.
func (g *region) inBox(r, c int) bool {
	return r >= g.o.Y && r < g.o.Y+g.o.Side() && c >= g.o.X && c < g.o.X+g.o.Side()
}

// covers reports whether cell (r, c) lies in the region: the box and its margin.
func (g *region) covers(r, c int) bool {
	return r >= g.top() && r < g.bottom() && c >= g.o.X-regionMargin && c < g.o.X+g.o.Side()+regionMargin
}

// painted records the token the run painted at (r, c) in the side view: the
// region's cells as painted, every other cell empty.
func (g *region) painted(r, c, tok int) {
	if !g.covers(r, c) {
		tok = tokens.EmptyToken
	}
	g.v.Canvas[r*tokens.Grid+c] = tok
}

// regionAt is the region that paints cell (r, c): the one whose box holds it,
// else the only one whose margin does; nil = the run's own painter alone.
func regionAt(regions []*region, r, c int) *region {
	var near *region
	n := 0
	for _, g := range regions {
		if g.inBox(r, c) {
			return g
		}
		if g.covers(r, c) {
			near, n = g, n+1
		}
	}
	if n == 1 {
		return near
	}
	return nil
}

// sample draws the token of cell (r, c) from the product of the side
// session's painter and the run's (whose logits are main).
func (g *region) sample(ctx context.Context, r, c int, temp float32, main []float32) (int, error) {
	s := g.s
	r0 := g.v.Rows.Start
	s.stream(g.v, r0)
	s.thoughtItems(g.v, g.v.Band, g.thought)
	for rr := r0; rr <= r; rr++ {
		for cc := 0; cc < tokens.Grid && (rr < r || cc < c); cc++ {
			s.want = append(s.want, item{int32(g.v.Canvas[rr*tokens.Grid+cc]), int32(rr), int32(cc)})
		}
	}
	if err := s.sync(ctx); err != nil {
		return 0, err
	}
	if len(g.comb) < tokens.NumImageTokens {
		g.comb = make([]float32, len(s.logits))
	}
	copy(g.comb, s.logits)
	for i := 0; i < tokens.NumImageTokens; i++ {
		g.comb[i] += main[i]
	}
	own := s.logits
	s.logits = g.comb
	tok := s.sample(0, tokens.NumImageTokens, -1, temp)
	s.logits = own
	return tok, nil
}
