package model

import (
	"strconv"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// The thought grammar, as a word-level state machine: after the forced
// header "rows A B :", a thought is "empty" or entries joined by ";" —
// "new SIZE TEXTURE COLOUR SHAPE at ROW COL" or "cont COLOUR SHAPE" — then
// </think>. The thinker samples each word among those the grammar allows
// next (constrained decoding, as structured output is for language
// models): it says which kind of word comes, never which one — the prompt's
// content decides nothing here, the model's logits choose among every
// size, colour, shape or cell. Unconstrained, the model sometimes skipped a
// word of an entry it was unsure of (a colour–shape pair it never drew
// beside other objects: "new small striped orange at 13 9"), and the
// malformed entry planned nothing.
type grammarState int

const (
	gEntry grammarState = iota // the first entry starts: new, cont or empty
	gMore                      // a later entry starts: new or cont
	gSize
	gTexture
	gColour
	gShape
	gAt
	gRow
	gCol
	gContColour
	gContShape
	gEnd // an entry ended: ";" or </think>
	gStates
)

// thoughtGrammar holds the token ids each state allows and where each word
// leads.
type thoughtGrammar struct {
	allowed [gStates][]int
	next    [gStates]map[int]grammarState
	// cells[size] are the rows (and columns) where an object of that size
	// fits on the grid, which the parser requires of a "new" entry.
	cells [][]int
	sizes map[int]int // a size word's id → its index in scene.Sizes
}

// allowedAfter is what may follow in state when the entry's size word was
// sizes' index size.
func (g *thoughtGrammar) allowedAfter(state grammarState, size int) []int {
	if (state == gRow || state == gCol) && size >= 0 {
		return g.cells[size]
	}
	return g.allowed[state]
}

// newThoughtGrammar builds the grammar over v's ids; ok is false when the
// vocabulary lacks a word of it (weights of another world).
func newThoughtGrammar(v *Vocab) (*thoughtGrammar, bool) {
	g := &thoughtGrammar{}
	cells := make([]string, tokens.Grid)
	for i := range cells {
		cells[i] = strconv.Itoa(i)
	}
	ok := true
	add := func(from grammarState, to grammarState, words ...string) {
		if g.next[from] == nil {
			g.next[from] = map[int]grammarState{}
		}
		for _, w := range words {
			id, err := v.ID(w)
			if err != nil {
				ok = false
				continue
			}
			g.allowed[from] = append(g.allowed[from], id)
			g.next[from][id] = to
		}
	}
	add(gEntry, gSize, "new")
	add(gEntry, gContColour, "cont")
	add(gEntry, gEnd, "empty") // only alone
	add(gMore, gSize, "new")
	add(gMore, gContColour, "cont")
	add(gSize, gTexture, scene.Sizes...)
	add(gTexture, gColour, scene.Textures...)
	add(gColour, gShape, scene.Colors...)
	add(gShape, gAt, scene.Shapes...)
	add(gAt, gRow, "at")
	add(gRow, gCol, cells...)
	add(gCol, gEnd, cells...)
	add(gContColour, gContShape, scene.Colors...)
	add(gContShape, gEnd, scene.Shapes...)
	add(gEnd, gMore, ";")
	g.allowed[gEnd] = append(g.allowed[gEnd], TokEndThink)
	g.sizes = map[int]int{}
	for i, w := range scene.Sizes {
		id, err := v.ID(w)
		if err != nil {
			return g, false
		}
		g.sizes[id] = i
		n := tokens.Grid - scene.SizeCells[i] + 1
		g.cells = append(g.cells, g.allowed[gRow][:max(n, 1)])
	}
	return g, ok
}

// grammarWalk follows the thought grammar word by word through one thought
// or description: which words may come next, and the state each word leads
// to. A description is a thought's entries without the header, closed by
// </look> instead of </think>: end is the closing token.
type grammarWalk struct {
	g     *thoughtGrammar
	state grammarState
	size  int // the entry's size (an index of scene.Sizes), -1 before it
	end   int
	buf   []int
}

// grammarWalk starts a walk closed by end, or nil when the session writes
// freely (Sampling.FreeThoughts) or the weights have no grammar.
func (s *session) grammarWalk(end int) *grammarWalk {
	if s.m.grammar == nil || s.samp.FreeThoughts {
		return nil
	}
	return &grammarWalk{g: s.m.grammar, state: gEntry, size: -1, end: end}
}

// allowed lists the ids that may come next.
func (w *grammarWalk) allowed() []int {
	a := w.g.allowedAfter(w.state, w.size)
	if w.end == TokEndThink {
		return a
	}
	w.buf = append(w.buf[:0], a...)
	for i, id := range w.buf {
		if id == TokEndThink {
			w.buf[i] = w.end
		}
	}
	return w.buf
}

// took moves the walk past the word id.
func (w *grammarWalk) took(id int) {
	if id == w.end {
		return
	}
	if w.state == gSize {
		w.size = w.g.sizes[id]
	} else if w.state == gEntry || w.state == gMore {
		w.size = -1
	}
	w.state = w.g.next[w.state][id]
}
