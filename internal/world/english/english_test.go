package english

import (
	"errors"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/world/scene"
)

// enSampleSpec draws a random spec of any shape the prompts use: one to three
// groups (each with a shape, optional colour, size and texture, count 1–4)
// and, sometimes, relations between groups 0 and 1 (and 1 and 2).
func enSampleSpec(rng *rand.Rand) scene.Spec {
	opt := func(n int) int {
		if rng.IntN(2) == 0 {
			return scene.Any
		}
		return rng.IntN(n)
	}
	ng := 1 + rng.IntN(3)
	s := scene.Spec{}
	for i := 0; i < ng; i++ {
		c := 1
		if rng.IntN(3) == 0 {
			c = 1 + rng.IntN(4)
		}
		s.Groups = append(s.Groups, scene.Group{Count: c, Shape: rng.IntN(len(scene.Shapes)),
			Color: opt(len(scene.Colors)), Size: opt(len(scene.Sizes)), Texture: opt(len(scene.Textures))})
	}
	if ng >= 2 && rng.IntN(2) == 0 {
		k := rng.IntN(4)
		s.Relations = append(s.Relations, scene.Relation{A: 0, B: 1, Kind: k})
		if rng.IntN(4) == 0 { // a diagonal: two kinds on one pair
			s.Relations = append(s.Relations, scene.Relation{A: 0, B: 1, Kind: (k + 2) % 4})
		}
		if ng == 3 && rng.IntN(2) == 0 {
			s.Relations = append(s.Relations, scene.Relation{A: 1, B: 2, Kind: rng.IntN(4)})
		}
	}
	s.Category = InferCategory(s)
	return s
}

func TestPhraseRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	n := 20000
	if testing.Short() {
		n = 3000
	}
	cats := map[string]int{}
	for i := 0; i < n; i++ {
		s := enSampleSpec(rng)
		cats[s.Category]++
		for _, text := range []string{Canonical(s), Phrase(s, rng)} {
			got, err := Parse(text)
			if err != nil {
				t.Fatalf("%q (from %+v): %v", text, s, err)
			}
			if !Equivalent(got, s) {
				t.Fatalf("%q: parsed %+v, want %+v", text, got, s)
			}
		}
	}
	for _, c := range scene.Categories {
		if cats[c] == 0 {
			t.Errorf("no %s specs sampled", c)
		}
	}
	t.Logf("round trip ok on %d specs: %v", n, cats)
}

func TestSampleSpecRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	agree, n := 0, 0
	miss := map[string]int{}
	for _, c := range scene.Categories {
		for i := 0; i < 300; i++ {
			s := scene.SampleSpec(rng, c, c != "single" && i%5 == 0)
			got, err := Parse(Phrase(s, rng))
			if err != nil {
				t.Fatalf("%v: %v", s, err)
			}
			n++
			if got.Category == s.Category {
				agree++
			} else {
				miss[s.Category+"→"+got.Category]++
			}
			got.Category = s.Category
			if !Equivalent(got, s) {
				t.Fatalf("%q: parsed %+v, want %+v", Phrase(s, nil), got, s)
			}
		}
	}
	t.Logf("InferCategory agrees with SampleSpec's category on %d/%d specs; disagreements %v", agree, n, miss)
}

func TestPhraseExamples(t *testing.T) {
	g := func(count, color, shape, size, tex int) scene.Group {
		return scene.Group{Count: count, Color: color, Shape: shape, Size: size, Texture: tex}
	}
	cases := []struct {
		s    scene.Spec
		want string
	}{
		{scene.Spec{Groups: []scene.Group{g(1, 0, 0, scene.Any, scene.Any), g(1, 2, 1, scene.Any, scene.Any)}, Relations: []scene.Relation{{A: 0, B: 1, Kind: scene.Above}}}, "a red circle above a blue square"},
		{scene.Spec{Groups: []scene.Group{g(2, 1, 2, scene.Any, 1)}}, "two striped green triangles"},
		{scene.Spec{Groups: []scene.Group{g(1, 5, 1, 1, 1)}}, "a large striped orange square"},
		{scene.Spec{Groups: []scene.Group{g(1, scene.Any, 0, 0, scene.Any), g(1, scene.Any, 1, 1, scene.Any)}}, "a small circle and a large square"},
	}
	for _, c := range cases {
		c.s.Category = InferCategory(c.s)
		if got := Canonical(c.s); got != c.want {
			t.Errorf("Canonical = %q, want %q", got, c.want)
		}
	}
}

func TestParseForms(t *testing.T) {
	red, blue := 0, 2
	circle, square := 0, 1
	above := scene.Spec{Groups: []scene.Group{{Count: 1, Color: red, Shape: circle, Size: scene.Any, Texture: scene.Any}, {Count: 1, Color: blue, Shape: square, Size: scene.Any, Texture: scene.Any}},
		Relations: []scene.Relation{{A: 0, B: 1, Kind: scene.Above}}}
	above.Category = InferCategory(above)
	for _, text := range []string{
		"a red circle above a blue square",
		"A red circle over the blue square.",
		"a red circle on top of a blue square",
		"a blue square below a red circle",
		"a blue square under a red circle",
		"a blue square beneath a red circle",
		"a blue square underneath a red circle",
		"a blue square with a red circle on top of it",
		"a blue square with a red circle above it",
		"a blue square and a red circle above it",
		"Draw a red circle above a blue square!",
		"please show me a picture of a red circle above a blue square",
		"there is a red circle above a blue square",
		"1 red circle above 1 blue square",
	} {
		got, err := Parse(text)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if !Equivalent(got, above) {
			t.Errorf("%q: got %+v", text, got)
		}
	}
	left := scene.Spec{Groups: []scene.Group{{Count: 3, Color: 3, Shape: 3, Size: 0, Texture: scene.Any}, {Count: 1, Color: 4, Shape: circle, Size: scene.Any, Texture: scene.Any}},
		Relations: []scene.Relation{{A: 1, B: 0, Kind: scene.LeftOf}}}
	left.Category = InferCategory(left)
	for _, text := range []string{
		"three small yellow diamonds and a purple circle to the left of them",
		"3 little yellow diamonds, and a purple circle on the left of them",
		"three tiny yellow diamonds and a purple circle to their left",
		"a purple circle left of three small yellow diamonds",
		"a purple circle to the left side of three small yellow rhombi",
		"three small yellow diamonds with a purple circle on their left",
		"three small yellow diamonds to the right of a purple circle",
	} {
		got, err := Parse(text)
		if err != nil {
			t.Errorf("%q: %v", text, err)
			continue
		}
		if !Equivalent(got, left) {
			t.Errorf("%q: got %+v", text, got)
		}
	}
	for text, want := range map[string]scene.Group{
		"a big stripy red square":           {Count: 1, Color: red, Shape: square, Size: 1, Texture: 1},
		"one large red square with stripes": {Count: 1, Color: red, Shape: square, Size: 1, Texture: 1},
		"a plain little circle":             {Count: 1, Color: scene.Any, Shape: circle, Size: 0, Texture: 0},
		"two red circles":                   {Count: 2, Color: red, Shape: circle, Size: scene.Any, Texture: scene.Any},
		"FOUR Circles":                      {Count: 4, Color: scene.Any, Shape: circle, Size: scene.Any, Texture: scene.Any},
	} {
		got, err := Parse(text)
		if err != nil || len(got.Groups) != 1 || got.Groups[0] != want {
			t.Errorf("%q: got %+v, %v; want %+v", text, got, err, want)
		}
	}
	cat := map[string]string{
		"a red circle":                        "single",
		"a red circle and a blue circle":      "color",
		"a striped circle and a solid square": "texture",
		"a small circle and a large square":   "shape",
		"a red circle left of a blue square":  "spatial",
		"two red circles":                     "numeracy",
		"two red circles and a blue square":   "numeracy",
		"two red circles left of a square":    "complex",
		"a circle, a square and a triangle":   "complex",
	}
	for text, want := range cat {
		got, err := Parse(text)
		if err != nil || got.Category != want {
			t.Errorf("%q: category %q, %v; want %q", text, got.Category, err, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for text, word := range map[string]string{
		"a red sqare":                        "sqare",
		"a grey circle":                      "grey",
		"a gray circle":                      "gray",
		"five circles":                       "five",
		"7 circles":                          "7",
		"red circles":                        "circles",
		"a red":                              "",
		"a red circle next to a blue square": "next",
		"a circle above it":                  "",
		"a circle with a square":             "",
		"a red blue circle":                  "blue",
		"a circle square":                    "square",
		"a circle and":                       "",
		"a circle # a square":                "#",
		"a circle above a square, and a triangle above and below it": "",
		"":     "",
		"draw": "",
	} {
		_, err := Parse(text)
		var pe *ParseError
		if !errors.As(err, &pe) {
			t.Errorf("%q: err %v, want a *ParseError", text, err)
			continue
		}
		if word != "" && pe.Word != word {
			t.Errorf("%q: error names %q, want %q (%v)", text, pe.Word, word, err)
		}
		if !strings.Contains(err.Error(), "twig vocab") {
			t.Errorf("%q: %v does not point to twig vocab", text, err)
		}
	}
	_, err := Parse("a red sqare")
	if !strings.Contains(err.Error(), `"square"`) {
		t.Errorf("no suggestion in %v", err)
	}
	t.Logf("example error: %v", err)
}

// TestParseErrorsAll: every word twig does not know is reported at once,
// each with what would work instead (the colours, the shapes, the relations).
func TestParseErrorsAll(t *testing.T) {
	_, err := Parse("a pink elephant near a gren star")
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("err %v, want a *ParseError", err)
	}
	var words []string
	for i, e := range append([]*ParseError{pe}, pe.More...) {
		words = append(words, e.Word)
		if i > 0 && len(e.More) != 0 {
			t.Errorf("%q carries More of its own", e.Word)
		}
	}
	if want := []string{"pink", "elephant", "near", "gren", "star"}; !slices.Equal(words, want) {
		t.Errorf("bad words %v, want %v", words, want)
	}
	msg := err.Error()
	for _, want := range []string{
		"pink is not a colour of this world: the colours are red, green, blue, yellow, purple and orange",
		`"elephant" (position 7): unknown word (the shapes are circle, square, triangle and diamond)`,
		"relations are above, below, left of and right of",
		`"gren" (position 23): unknown word (the colours are`, `did you mean "green"`,
		"shapes are circle, square, triangle and diamond (run `twig vocab`",
	} {
		if !strings.Contains(msg, want) {
			t.Errorf("the error lacks %q:\n%s", want, msg)
		}
	}
	if strings.Count(msg, "twig vocab") != 1 {
		t.Errorf("the pointer to twig vocab is repeated: %s", msg)
	}
	// An unknown word alone in a sentence gets the whole list.
	_, err = Parse("zebra")
	if !errors.As(err, &pe) || !strings.Contains(pe.Hint, "shapes") {
		t.Errorf("zebra: %v", err)
	}
}

func TestVocabulary(t *testing.T) {
	v := Vocabulary()
	seen := map[string]bool{}
	for _, e := range v {
		seen[e.Word] = true
		if e.Kind == "" || e.Meaning == "" {
			t.Errorf("incomplete entry %+v", e)
		}
	}
	for _, w := range append(append(append([]string{}, scene.Colors...), scene.Shapes...), "on top of", "to the left of", "striped", "big") {
		if !seen[w] {
			t.Errorf("vocabulary lacks %q", w)
		}
	}
}

func FuzzParse(f *testing.F) {
	for _, s := range []string{"a red circle above a blue square", "two striped green triangles",
		"a blue square with a red circle on top of it", "three small yellow diamonds and a purple circle to the left of them",
		"a circle above and to the left of a square and a triangle to its right", "a red sqare", "",
		"a pink elephant near a gren star", "zebra, 7 stars"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, text string) {
		s, err := Parse(text)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("%q: non-ParseError %v", text, err)
			}
			_ = pe.Error()
			// every bad word is reported once, in order, inside the text
			// (quotes inside a word are dropped, so only its position is checked)
			last := -1
			for i, e := range append([]*ParseError{pe}, pe.More...) {
				if i > 0 && len(e.More) != 0 {
					t.Fatalf("%q: a nested More", text)
				}
				if len(pe.More) > 0 && (e.Pos <= last || e.Pos >= len(text) || e.Word == "") {
					t.Fatalf("%q: bad word %q at %d", text, e.Word, e.Pos)
				}
				last = e.Pos
			}
			return
		}
		again := Canonical(s)
		s2, err := Parse(again)
		if err != nil {
			t.Fatalf("%q → %q: %v", text, again, err)
		}
		if !Equivalent(s, s2) {
			t.Fatalf("%q → %+v → %q → %+v", text, s, again, s2)
		}
	})
}
