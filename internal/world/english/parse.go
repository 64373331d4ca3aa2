// Package english is the English the synthetic world is described in:
// Parse reads a prompt from people into a scene.Spec (with hints and
// suggestions for unknown words: Vocabulary, Suggest), and Phrase writes a
// spec back as English.
package english

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/twig-project/twig/internal/world/scene"
)

// Parsing English prompts from people into a Spec.
//
// Grammar (after lower-casing; "," ";" and a mid-text "." "!" "?" separate
// like "and"; a trailing "." "!" "?" and apostrophes are ignored; "-" is a
// space):
//
//	prompt  := [lead-in] clause (sep clause)*
//	lead-in := ["please"] [verb ["me"]] [("a"|"an") ("picture"|"image"|"drawing") "of"] | "there" ("is"|"are")
//	sep     := "," | "and" | "," "and" | "with"
//	clause  := np [rels (np-with-its-own-rels | pronoun)]
//	np      := [count] adjective* shape ["with" "stripes"]
//	rels    := rel ("and" rel)*        e.g. "above and to the left of"
//
// A pronoun ("it", "them", or "to its left" and the like) refers to the group
// mentioned just before the noun phrase it follows: in "a blue square with a
// red circle on top of it" that is the square; in "three diamonds and a circle
// to the left of them" the diamonds; in "a circle above a square and a
// triangle to the right of it" the square. A clause after "with" must relate
// its object to that group with a pronoun. Relations chain: "a circle above a
// square above a triangle". A relation binds only its two noun phrases: in
// "a circle above a square and a triangle" the triangle is unrelated.
//
// A singular noun without a count means one; a plural noun needs a count
// (one to four, in words or digits). Every word must be known; there is no
// guessing and nothing is dropped.

// ParseError says why a prompt could not be parsed. When the prompt has
// several words twig does not know, the error is about the first and More
// holds the others, so that people can fix them all at once.
type ParseError struct {
	Word        string   // the offending word ("" at the end of the text)
	Pos         int      // byte offset of Word in the text; -1 when the error is about the whole prompt
	Suggestions []string // nearest known words, for unknown words
	Msg         string
	// Hint says what would work in Word's place, e.g. the shapes or the
	// colours of this world; "" when Msg says it already.
	Hint string
	// More are the prompt's other unknown words, in order (each without More).
	More []*ParseError
}

func (e *ParseError) Error() string {
	var b strings.Builder
	e.describe(&b)
	for _, m := range e.More {
		b.WriteString("; ")
		m.describe(&b)
	}
	b.WriteString(" (run `twig vocab` to list the words twig knows)")
	return b.String()
}

// describe writes one error without the closing pointer to `twig vocab`.
func (e *ParseError) describe(b *strings.Builder) {
	switch {
	case e.Pos < 0:
		b.WriteString(e.Msg)
	case e.Word == "":
		fmt.Fprintf(b, "at the end (position %d): %s", e.Pos, e.Msg)
	default:
		fmt.Fprintf(b, "%q (position %d): %s", e.Word, e.Pos, e.Msg)
	}
	if e.Hint != "" {
		fmt.Fprintf(b, " (%s)", e.Hint)
	}
	if len(e.Suggestions) > 0 {
		q := make([]string, len(e.Suggestions))
		for i, s := range e.Suggestions {
			q[i] = strconv.Quote(s)
		}
		fmt.Fprintf(b, "; did you mean %s?", strings.Join(q, " or "))
	}
}

// VocabEntry is one word or phrase the parser knows.
type VocabEntry struct {
	Word    string // a word or a multi-word phrase such as "to the left of"
	Kind    string // count, size, texture, color, shape, relation, pronoun, connective, lead-in
	Meaning string // what it stands for, e.g. "large", "above", "1"
}

// Lexicon tables. Index is the meaning where it is an attribute value.
var (
	psCounts = map[string]int{"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4,
		"1": 1, "2": 2, "3": 3, "4": 4}
	psSizes    = map[string]int{"small": 0, "little": 0, "tiny": 0, "large": 1, "big": 1, "huge": 1}
	psTextures = map[string]int{"solid": 0, "plain": 0, "filled": 0, "striped": 1, "stripy": 1, "stripey": 1}
	psColors   = map[string]int{"red": 0, "green": 1, "blue": 2, "yellow": 3, "purple": 4, "violet": 4, "orange": 5}
	psShapes   = map[string]int{"circle": 0, "square": 1, "triangle": 2, "diamond": 3, "rhombus": 3}
	psPlurals  = map[string]int{"circles": 0, "squares": 1, "triangles": 2, "diamonds": 3, "rhombuses": 3, "rhombi": 3}
	psPronouns = map[string]bool{"it": true, "them": true}
	// psRels are relation phrases followed by a noun phrase or a pronoun.
	psRels = []struct {
		words string
		kind  int
	}{
		{"above", scene.Above}, {"over", scene.Above}, {"on top of", scene.Above}, {"atop", scene.Above},
		{"below", scene.Below}, {"under", scene.Below}, {"beneath", scene.Below}, {"underneath", scene.Below},
		{"left of", scene.LeftOf}, {"to the left of", scene.LeftOf}, {"on the left of", scene.LeftOf},
		{"to the left side of", scene.LeftOf}, {"on the left side of", scene.LeftOf},
		{"right of", scene.RightOf}, {"to the right of", scene.RightOf}, {"on the right of", scene.RightOf},
		{"to the right side of", scene.RightOf}, {"on the right side of", scene.RightOf},
	}
	// psSelfRels are relation phrases that carry their own pronoun.
	psSelfRels = []struct {
		words string
		kind  int
	}{
		{"to its left", scene.LeftOf}, {"to their left", scene.LeftOf}, {"on its left", scene.LeftOf}, {"on their left", scene.LeftOf},
		{"to its right", scene.RightOf}, {"to their right", scene.RightOf}, {"on its right", scene.RightOf}, {"on their right", scene.RightOf},
	}
	psVerbs    = []string{"draw", "paint", "show", "make", "render", "generate", "create", "sketch"}
	psPictures = []string{"picture", "image", "drawing"}
	// psNotHere are words people use that this world lacks, with the reason.
	psNotHere = map[string]string{
		"grey": "grey is not a colour of this world: " + colourList, "gray": "gray is not a colour of this world: " + colourList,
		"black": "black is not a colour of this world: " + colourList, "white": "white is the background, not a colour to draw in: " + colourList,
		"pink": "pink is not a colour of this world: " + colourList, "brown": "brown is not a colour of this world: " + colourList,
		"medium": "sizes are small and large only",
		"tall":   "sizes are small and large only", "short": "sizes are small and large only",
		"zero": "counts go from one to four", "no": "counts go from one to four",
		"five": "counts go up to four", "six": "counts go up to four", "seven": "counts go up to four",
		"eight": "counts go up to four", "nine": "counts go up to four", "ten": "counts go up to four",
		"many": "say how many (one to four)", "several": "say how many (one to four)", "some": "say how many (one to four)",
		"next": "relations are above, below, left of and right of", "beside": "relations are above, below, left of and right of",
		"near": "relations are above, below, left of and right of", "between": "relations are above, below, left of and right of",
		"inside": "objects never overlap here", "behind": "objects never overlap here",
		"star": "shapes are circle, square, triangle and diamond", "stars": "shapes are circle, square, triangle and diamond",
		"rectangle": "shapes are circle, square, triangle and diamond", "oval": "shapes are circle, square, triangle and diamond",
		"shape": "name the shape: circle, square, triangle or diamond", "shapes": "name the shape: circle, square, triangle or diamond",
		"object": "name the shape: circle, square, triangle or diamond", "objects": "name the shape: circle, square, triangle or diamond",
		"thing": "name the shape: circle, square, triangle or diamond", "things": "name the shape: circle, square, triangle or diamond",
		"dotted": "textures are solid and striped", "spotted": "textures are solid and striped",
	}
)

var psKnown = func() map[string]bool {
	m := map[string]bool{"and": true, "with": true, "stripes": true, "the": true, "please": true,
		"me": true, "of": true, "there": true, "is": true, "are": true}
	for _, tab := range []map[string]int{psCounts, psSizes, psTextures, psColors, psShapes, psPlurals} {
		for w := range tab {
			m[w] = true
		}
	}
	for w := range psPronouns {
		m[w] = true
	}
	for _, r := range psRels {
		for _, w := range strings.Fields(r.words) {
			m[w] = true
		}
	}
	for _, r := range psSelfRels {
		for _, w := range strings.Fields(r.words) {
			m[w] = true
		}
	}
	for _, w := range append(append([]string{}, psVerbs...), psPictures...) {
		m[w] = true
	}
	return m
}()

// Vocabulary lists every word and phrase the parser knows, grouped by kind.
func Vocabulary() []VocabEntry {
	var v []VocabEntry
	add := func(kind string, tab map[string]int, meaning func(int) string) {
		var ws []string
		for w := range tab {
			ws = append(ws, w)
		}
		sort.Slice(ws, func(i, j int) bool {
			if tab[ws[i]] != tab[ws[j]] {
				return tab[ws[i]] < tab[ws[j]]
			}
			return ws[i] < ws[j]
		})
		for _, w := range ws {
			v = append(v, VocabEntry{w, kind, meaning(tab[w])})
		}
	}
	add("count", psCounts, strconv.Itoa)
	add("size", psSizes, func(i int) string { return scene.Sizes[i] })
	add("texture", psTextures, func(i int) string { return scene.Textures[i] })
	v = append(v, VocabEntry{"with stripes", "texture", "striped"})
	add("color", psColors, func(i int) string { return scene.Colors[i] })
	add("shape", psShapes, func(i int) string { return scene.Shapes[i] })
	add("shape", psPlurals, func(i int) string { return scene.Shapes[i] + " (plural)" })
	for _, r := range psRels {
		v = append(v, VocabEntry{r.words, "relation", scene.RelationWords[r.kind]})
	}
	for _, r := range psSelfRels {
		v = append(v, VocabEntry{r.words, "relation", scene.RelationWords[r.kind] + " it"})
	}
	v = append(v,
		VocabEntry{"it", "pronoun", "the group mentioned just before"},
		VocabEntry{"them", "pronoun", "the group mentioned just before"},
		VocabEntry{"the", "count", "1 (before a singular noun)"},
		VocabEntry{"and", "connective", "joins objects or relations"},
		VocabEntry{",", "connective", "joins objects"},
		VocabEntry{"with", "connective", "X with Y <relation> it"},
	)
	for _, w := range psVerbs {
		v = append(v, VocabEntry{w, "lead-in", "ignored at the start"})
	}
	v = append(v, VocabEntry{"please", "lead-in", "ignored at the start"},
		VocabEntry{"me", "lead-in", "after show: ignored"},
		VocabEntry{"there is", "lead-in", "ignored at the start"},
		VocabEntry{"there are", "lead-in", "ignored at the start"})
	for _, w := range psPictures {
		v = append(v, VocabEntry{"a " + w + " of", "lead-in", "ignored at the start"})
	}
	return v
}

type psToken struct {
	text string
	pos  int
}

// psTokenize splits text into lower-case words and "," separators.
func psTokenize(text string) ([]psToken, error) {
	var toks []psToken
	var cur strings.Builder
	start := -1
	flush := func() {
		if start >= 0 {
			toks = append(toks, psToken{cur.String(), start})
			cur.Reset()
			start = -1
		}
	}
	for i, r := range text {
		switch {
		case unicode.IsLetter(r) || unicode.IsDigit(r):
			if start < 0 {
				start = i
			}
			cur.WriteRune(unicode.ToLower(r))
		case r == '\'' || r == '’' || r == '"' || r == '“' || r == '”':
			// apostrophes and quotes are ignored: "it's" reads as "its"
		case unicode.IsSpace(r) || r == '-':
			flush()
		case r == ',' || r == ';' || r == '.' || r == '!' || r == '?' || r == ':':
			flush()
			toks = append(toks, psToken{",", i})
		default:
			return nil, &ParseError{Word: string(r), Pos: i, Msg: "unexpected symbol"}
		}
	}
	flush()
	// Trailing punctuation ends the text; repeated separators count once.
	for len(toks) > 0 && toks[len(toks)-1].text == "," {
		toks = toks[:len(toks)-1]
	}
	out := toks[:0]
	for _, t := range toks {
		if t.text == "," && len(out) > 0 && out[len(out)-1].text == "," {
			continue
		}
		out = append(out, t)
	}
	return out, nil
}

type psParser struct {
	text  string
	toks  []psToken
	i     int
	spec  scene.Spec
	last  int // the group mentioned last, -1 before any
	total int
}

// Parse reads an English prompt into a Spec (see the grammar above). Errors
// are *ParseError.
func Parse(text string) (scene.Spec, error) {
	toks, err := psTokenize(text)
	if err != nil {
		return scene.Spec{}, err
	}
	var bad []*ParseError
	for k, t := range toks {
		if t.text == "," || psKnown[t.text] {
			continue
		}
		e := &ParseError{Word: t.text, Pos: t.pos}
		if why, ok := psNotHere[t.text]; ok {
			e.Msg = why
		} else if n, err := strconv.Atoi(t.text); err == nil {
			e.Msg = fmt.Sprintf("counts go from one to four, not %d", n)
		} else {
			e.Msg, e.Suggestions, e.Hint = "unknown word", Suggest(t.text), psHint(toks, k)
		}
		bad = append(bad, e)
	}
	if len(bad) > 0 {
		bad[0].More = bad[1:]
		return scene.Spec{}, bad[0]
	}
	p := &psParser{text: text, toks: toks, last: -1}
	if err := p.parse(); err != nil {
		return scene.Spec{}, err
	}
	if err := psCheckRelations(p.spec); err != nil {
		return scene.Spec{}, err
	}
	p.spec.Category = InferCategory(p.spec)
	return p.spec, nil
}

// The lists people need when a word is unknown.
var (
	colourList   = "the colours are " + List(scene.Colors, "and")
	shapeList    = "the shapes are " + List(scene.Shapes, "and")
	relationList = "the relations are above, below, left of and right of"
)

// List joins words as English: "a, b and c".
func List(ws []string, and string) string {
	if len(ws) < 2 {
		return strings.Join(ws, "")
	}
	return strings.Join(ws[:len(ws)-1], ", ") + " " + and + " " + ws[len(ws)-1]
}

// psHint says what would work in place of the unknown word toks[k], from
// where it stands: before a shape (or a word that stands where a shape
// would) it can only be a count, size, texture or
// colour; after those (or at the end of a noun phrase) a shape; elsewhere
// anything, so the hint names the shapes, colours and relations.
func psHint(toks []psToken, k int) string {
	next := ""
	if k+1 < len(toks) {
		next = toks[k+1].text
	}
	prev := ""
	if k > 0 {
		prev = toks[k-1].text
	}
	isShape := func(w string) bool { _, a := psShapes[w]; _, b := psPlurals[w]; return a || b }
	isAdj := func(w string) bool {
		_, a := psCounts[w]
		_, b := psSizes[w]
		_, c := psTextures[w]
		_, d := psColors[w]
		return a || b || c || d
	}
	endsPhrase := next == "" || next == "," || next == "and" || next == "with" ||
		strings.Contains(psNotHere[next], "relations") || strings.Contains(psNotHere[prev], "colour")
	for _, r := range psRels {
		endsPhrase = endsPhrase || strings.HasPrefix(r.words, next+" ") || r.words == next
	}
	switch {
	case isShape(next) || (next != "" && next != "," && !psKnown[next] && (psNotHere[next] == "" || strings.Contains(psNotHere[next], "shape"))):
		return colourList + "; sizes small and large; solid or striped"
	case isAdj(prev) || endsPhrase:
		return shapeList
	}
	return shapeList + "; " + colourList + "; " + relationList
}

// MaxObjects bounds how many objects a prompt may ask for: more small objects
// than this cannot fit on the grid with a cell between them.
const MaxObjects = 16

func (p *psParser) peek(k int) string {
	if p.i+k < len(p.toks) {
		return p.toks[p.i+k].text
	}
	return ""
}

func (p *psParser) errHere(msg string) *ParseError {
	if p.i < len(p.toks) {
		return &ParseError{Word: p.toks[p.i].text, Pos: p.toks[p.i].pos, Msg: msg}
	}
	return &ParseError{Pos: len(p.text), Msg: msg}
}

func psIn(list []string, w string) bool {
	for _, x := range list {
		if x == w {
			return true
		}
	}
	return false
}

func (p *psParser) leadIn() {
	if p.peek(0) == "there" && (p.peek(1) == "is" || p.peek(1) == "are") {
		p.i += 2
		return
	}
	if p.peek(0) == "please" {
		p.i++
	}
	if psIn(psVerbs, p.peek(0)) {
		p.i++
		if p.peek(0) == "me" {
			p.i++
		}
	}
	if (p.peek(0) == "a" || p.peek(0) == "an") && psIn(psPictures, p.peek(1)) && p.peek(2) == "of" {
		p.i += 3
	}
}

func (p *psParser) parse() error {
	p.leadIn()
	if p.i >= len(p.toks) {
		return p.errHere("the prompt names no object")
	}
	viaWith := false
	for {
		if err := p.clause(viaWith); err != nil {
			return err
		}
		if p.i >= len(p.toks) {
			return nil
		}
		viaWith = false
		switch p.peek(0) {
		case ",":
			p.i++
			if p.peek(0) == "and" {
				p.i++
			}
		case "and":
			p.i++
		case "with":
			p.i++
			viaWith = true
		default:
			return p.errHere("expected \"and\", \",\" or a relation such as \"above\" here")
		}
		if p.i >= len(p.toks) {
			return p.errHere("the prompt ends after a joining word")
		}
	}
}

// clause parses np [rels (np… | pronoun)], chaining relations.
func (p *psParser) clause(viaWith bool) error {
	ante := p.last
	subj, err := p.np()
	if err != nil {
		return err
	}
	related := false
	for {
		if p.peek(0) == "," { // "a circle, above a square"
			if _, n, _ := p.matchRel(p.i + 1); n > 0 {
				p.i++
			}
		}
		if _, n, _ := p.matchRel(p.i); n == 0 {
			break
		}
		relTok := p.toks[p.i]
		kinds, pron, err := p.rels()
		if err != nil {
			return err
		}
		if pron {
			if ante < 0 {
				return &ParseError{Word: relTok.text, Pos: relTok.pos, Msg: "\"it\"/\"them\" has nothing to refer to; name the object instead"}
			}
			for _, k := range kinds {
				p.spec.Relations = append(p.spec.Relations, scene.Relation{A: subj, B: ante, Kind: k})
			}
			related = true
			break
		}
		obj, err := p.np()
		if err != nil {
			return err
		}
		for _, k := range kinds {
			p.spec.Relations = append(p.spec.Relations, scene.Relation{A: subj, B: obj, Kind: k})
		}
		ante, subj = subj, obj
		if viaWith {
			break
		}
	}
	if viaWith && !related {
		return p.errHere("after \"with\", say where the object is relative to the one before, e.g. \"with a red circle on top of it\"")
	}
	return nil
}

// matchRel matches the longest relation phrase at token i: its kind, its
// length in tokens, and whether it carries its own pronoun.
func (p *psParser) matchRel(i int) (kind, n int, self bool) {
	try := func(words string) int {
		ws := strings.Fields(words)
		for k, w := range ws {
			if i+k >= len(p.toks) || p.toks[i+k].text != w {
				return 0
			}
		}
		return len(ws)
	}
	for _, r := range psRels {
		if m := try(r.words); m > n {
			kind, n, self = r.kind, m, false
		}
	}
	for _, r := range psSelfRels {
		if m := try(r.words); m > n {
			kind, n, self = r.kind, m, true
		}
	}
	return
}

// rels parses rel ("and" rel)* and, when the phrases refer back, the
// pronoun; pron reports that the target is the group mentioned before.
func (p *psParser) rels() (kinds []int, pron bool, err error) {
	needTarget := false
	for {
		k, n, self := p.matchRel(p.i)
		p.i += n
		kinds = append(kinds, k)
		needTarget = false
		switch {
		case self:
			pron = true
		case psPronouns[p.peek(0)]:
			p.i++
			pron = true
		default:
			needTarget = true
		}
		if p.peek(0) == "and" {
			if _, m, _ := p.matchRel(p.i + 1); m > 0 {
				p.i++
				continue
			}
		}
		break
	}
	if needTarget && pron {
		if psPronouns[p.peek(0)] {
			p.i++
			return kinds, true, nil
		}
		return nil, false, p.errHere("relations here mix \"it\" with a new object; say them separately")
	}
	if needTarget && psPronouns[p.peek(0)] {
		p.i++
		return kinds, true, nil
	}
	return kinds, pron, nil
}

// np parses [count] adjective* shape ["with" "stripes"] and adds its group.
func (p *psParser) np() (int, error) {
	g := scene.Group{Color: scene.Any, Size: scene.Any, Texture: scene.Any, Shape: scene.Any}
	count := 0
	switch w := p.peek(0); {
	case w == "the":
		p.i++
	case psCounts[w] > 0:
		count = psCounts[w]
		p.i++
	}
	set := func(field *int, v int, what string) error {
		if *field != scene.Any && *field != v {
			return p.errHere("the " + what + " is named twice")
		}
		*field = v
		return nil
	}
	for {
		w := p.peek(0)
		var err error
		if v, ok := psSizes[w]; ok {
			err = set(&g.Size, v, "size")
		} else if v, ok := psTextures[w]; ok {
			err = set(&g.Texture, v, "texture")
		} else if v, ok := psColors[w]; ok {
			err = set(&g.Color, v, "colour")
		} else {
			break
		}
		if err != nil {
			return 0, err
		}
		p.i++
	}
	plural := false
	w, nounTok := p.peek(0), p.i
	if v, ok := psShapes[w]; ok {
		g.Shape = v
	} else if v, ok := psPlurals[w]; ok {
		g.Shape, plural = v, true
	} else if p.i >= len(p.toks) {
		return 0, p.errHere("the prompt ends before naming a shape (circle, square, triangle or diamond)")
	} else {
		return 0, p.errHere("expected a shape (circle, square, triangle or diamond) or a word describing it")
	}
	p.i++
	if p.peek(0) == "with" && p.peek(1) == "stripes" {
		if err := set(&g.Texture, 1, "texture"); err != nil {
			return 0, err
		}
		p.i += 2
	}
	if count == 0 {
		if plural {
			t := p.toks[nounTok]
			return 0, &ParseError{Word: t.text, Pos: t.pos, Msg: fmt.Sprintf("say how many %s (one to four)", w)}
		}
		count = 1
	}
	g.Count = count
	p.total += count
	if p.total > MaxObjects {
		return 0, p.errHere(fmt.Sprintf("more than %d objects do not fit on the grid", MaxObjects))
	}
	p.spec.Groups = append(p.spec.Groups, g)
	p.last = len(p.spec.Groups) - 1
	return p.last, nil
}

// psCheckRelations rejects contradictory relations (A above B and B above A,
// or any cycle along one axis).
func psCheckRelations(s scene.Spec) error {
	n := len(s.Groups)
	for axis := 0; axis < 2; axis++ {
		out := make([][]int, n)
		for r := range enRelSet(s.Relations) {
			if r[2]/2 == axis {
				out[r[0]] = append(out[r[0]], r[1])
			}
		}
		state := make([]int, n) // 0 new, 1 on stack, 2 done
		var cyc func(int) bool
		cyc = func(v int) bool {
			state[v] = 1
			for _, w := range out[v] {
				if state[w] == 1 || (state[w] == 0 && cyc(w)) {
					return true
				}
			}
			state[v] = 2
			return false
		}
		for v := 0; v < n; v++ {
			if state[v] == 0 && cyc(v) {
				return &ParseError{Pos: -1, Msg: "the relations contradict each other"}
			}
		}
	}
	return nil
}

// psNoSuggest are function words never offered as suggestions.
var psNoSuggest = map[string]bool{"is": true, "are": true, "me": true, "of": true, "the": true, "there": true,
	"please": true, "it": true, "them": true, "its": true, "their": true, "to": true, "on": true, "a": true, "an": true,
	"side": true, "top": true}

// Suggest returns up to three known words nearest to w by edit distance.
func Suggest(w string) []string {
	type cand struct {
		word string
		d    int
	}
	var cs []cand
	limit := 2
	if len(w) <= 3 {
		limit = 1
	}
	for k := range psKnown {
		if psNoSuggest[k] {
			continue
		}
		if d := psEditDistance(w, k); d <= limit {
			cs = append(cs, cand{k, d})
		}
	}
	sort.Slice(cs, func(i, j int) bool {
		if cs[i].d != cs[j].d {
			return cs[i].d < cs[j].d
		}
		return cs[i].word < cs[j].word
	})
	var out []string
	for i := 0; i < len(cs) && i < 3; i++ {
		out = append(out, cs[i].word)
	}
	return out
}

func psEditDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			c := prev[j-1]
			if ra[i-1] != rb[j-1] {
				c++
			}
			cur[j] = min(c, prev[j]+1, cur[j-1]+1)
		}
		prev, cur = cur, prev
	}
	return prev[len(rb)]
}
