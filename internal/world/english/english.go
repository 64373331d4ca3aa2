package english

import (
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"

	"github.com/twig-project/twig/internal/world/scene"
)

// English prompts for a Spec. Phrase draws one of several phrasings; Canonical
// gives one deterministic phrasing. Every phrasing parses back (Parse) to an
// equivalent Spec (Equivalent).
//
// A Spec can be phrased when its relation graph is a set of paths: each group
// is related to at most two others, there are no cycles, no group is related
// to itself and no pair holds contradictory kinds (Expressible). Relations are
// said with a noun phrase ("a red circle above a blue square"), with "with …
// it" ("a blue square with a red circle on top of it") or with a pronoun that
// points back at the group mentioned just before ("three yellow diamonds and
// a purple circle to the left of them").

// Phrase returns one English phrasing of s, chosen with rng (nil gives the
// canonical phrasing). An inexpressible spec gives a debugging string that
// starts with "inexpressible spec".
func Phrase(s scene.Spec, rng *rand.Rand) string {
	if err := Expressible(s); err != nil {
		return fmt.Sprintf("inexpressible spec (%v): %v", err, s)
	}
	return enWriter{rng: rng}.spec(s)
}

// Canonical returns the deterministic phrasing of s.
func Canonical(s scene.Spec) string { return Phrase(s, nil) }

// Expressible reports why s cannot be phrased, or nil when it can.
func Expressible(s scene.Spec) error {
	if len(s.Groups) == 0 {
		return fmt.Errorf("no groups")
	}
	for i, g := range s.Groups {
		if g.Count < 1 || g.Count > 4 {
			return fmt.Errorf("group %d: count %d outside 1..4", i, g.Count)
		}
		if g.Shape < 0 || g.Shape >= len(scene.Shapes) || g.Color < scene.Any || g.Color >= len(scene.Colors) ||
			g.Size < scene.Any || g.Size >= len(scene.Sizes) || g.Texture < scene.Any || g.Texture >= len(scene.Textures) {
			return fmt.Errorf("group %d: attribute out of range", i)
		}
	}
	pairs, err := enPairs(s)
	if err != nil {
		return err
	}
	deg := make([]int, len(s.Groups))
	parent := make([]int, len(s.Groups))
	for i := range parent {
		parent[i] = i
	}
	find := func(x int) int {
		for parent[x] != x {
			x = parent[x]
		}
		return x
	}
	for k := range pairs {
		deg[k[0]]++
		deg[k[1]]++
		if deg[k[0]] > 2 || deg[k[1]] > 2 {
			return fmt.Errorf("a group is related to more than two others")
		}
		a, b := find(k[0]), find(k[1])
		if a == b {
			return fmt.Errorf("relations form a cycle")
		}
		parent[a] = b
	}
	return nil
}

// enPairs groups the relations by unordered pair {lo, hi}; the kinds are said
// from lo to hi, deduplicated and sorted.
func enPairs(s scene.Spec) (map[[2]int][]int, error) {
	pairs := map[[2]int][]int{}
	for _, r := range s.Relations {
		if r.A < 0 || r.B < 0 || r.A >= len(s.Groups) || r.B >= len(s.Groups) || r.Kind < 0 || r.Kind > scene.RightOf {
			return nil, fmt.Errorf("relation %v out of range", r)
		}
		if r.A == r.B {
			return nil, fmt.Errorf("group %d related to itself", r.A)
		}
		a, b, k := r.A, r.B, r.Kind
		if a > b {
			a, b, k = b, a, enInverse(k)
		}
		key := [2]int{a, b}
		dup := false
		for _, x := range pairs[key] {
			if x == k {
				dup = true
			}
			if x == enInverse(k) {
				return nil, fmt.Errorf("contradictory relations between groups %d and %d", a, b)
			}
		}
		if !dup {
			pairs[key] = append(pairs[key], k)
			sort.Ints(pairs[key])
		}
	}
	return pairs, nil
}

// enInverse turns "A k B" into "B k' A".
func enInverse(k int) int { return k ^ 1 }

type enWriter struct{ rng *rand.Rand }

func (w enWriter) pick(n int) int {
	if w.rng == nil || n <= 1 {
		return 0
	}
	return w.rng.IntN(n)
}

func (w enWriter) choose(opts ...string) string { return opts[w.pick(len(opts))] }

var enCountWords = []string{"", "one", "two", "three", "four"}

// np says a group: "a large striped orange square", "two green triangles".
// stripes allows the "with stripes" form.
func (w enWriter) np(g scene.Group, stripes bool) string {
	var adj []string
	if g.Size != scene.Any {
		if g.Size == 0 {
			adj = append(adj, w.choose("small", "small", "little", "tiny"))
		} else {
			adj = append(adj, w.choose("large", "large", "big"))
		}
	}
	tex, suffix := "", ""
	if g.Texture == 0 {
		tex = w.choose("solid", "solid", "plain")
	} else if g.Texture == 1 {
		if stripes && w.pick(4) == 3 {
			suffix = " with stripes"
		} else {
			tex = "striped"
		}
	}
	col := ""
	if g.Color != scene.Any {
		col = scene.Colors[g.Color]
	}
	if tex != "" && col != "" && w.pick(4) == 3 {
		adj = append(adj, col, tex)
	} else {
		if tex != "" {
			adj = append(adj, tex)
		}
		if col != "" {
			adj = append(adj, col)
		}
	}
	noun := scene.Shapes[g.Shape]
	if g.Count > 1 {
		noun += "s"
	}
	words := append(adj, noun)
	var det string
	if g.Count == 1 {
		if w.pick(6) == 5 {
			det = "one"
		} else {
			det = "a"
			if strings.ContainsRune("aeiou", rune(words[0][0])) {
				det = "an"
			}
		}
	} else {
		det = enCountWords[g.Count]
	}
	return det + " " + strings.Join(words, " ") + suffix
}

var (
	enRelNP = [][]string{ // kind → phrases followed by a noun phrase
		scene.Above:   {"above", "over", "on top of"},
		scene.Below:   {"below", "under", "beneath", "underneath"},
		scene.LeftOf:  {"to the left of", "left of", "on the left of"},
		scene.RightOf: {"to the right of", "right of", "on the right of"},
	}
	enSide = []string{scene.LeftOf: "left", scene.RightOf: "right"}
)

// rel says kinds (from the subject to the target) followed by the target
// noun phrase, e.g. "above and to the left of a blue square".
func (w enWriter) rel(kinds []int, target string) string {
	parts := make([]string, len(kinds))
	for i, k := range kinds {
		parts[i] = w.choose(enRelNP[k]...)
	}
	return strings.Join(parts, " and ") + " " + target
}

// relPron says kinds relative to a group mentioned before, with "it" or
// "them" by that group's count: "on top of it", "to their left".
func (w enWriter) relPron(kinds []int, count int) string {
	pron, poss := "it", "its"
	if count > 1 {
		pron, poss = "them", "their"
	}
	if len(kinds) == 1 && kinds[0] >= scene.LeftOf && w.pick(3) == 2 {
		return w.choose("to", "on") + " " + poss + " " + enSide[kinds[0]]
	}
	return w.rel(kinds, pron)
}

// kindsFrom returns the kinds of pair (a, b) said from a to b.
func kindsFrom(pairs map[[2]int][]int, a, b int) []int {
	if a < b {
		return pairs[[2]int{a, b}]
	}
	ks := pairs[[2]int{b, a}]
	out := make([]int, len(ks))
	for i, k := range ks {
		out[i] = enInverse(k)
	}
	return out
}

func (w enWriter) spec(s scene.Spec) string {
	pairs, _ := enPairs(s)
	adj := make([][]int, len(s.Groups))
	for k := range pairs {
		adj[k[0]] = append(adj[k[0]], k[1])
		adj[k[1]] = append(adj[k[1]], k[0])
	}
	for i := range adj {
		sort.Ints(adj[i])
	}
	// Components as paths, each started from its lower-numbered end.
	seen := make([]bool, len(s.Groups))
	var paths [][]int
	for i := range s.Groups {
		if seen[i] || len(adj[i]) == 2 {
			continue
		}
		path := []int{i}
		seen[i] = true
		for cur := i; ; {
			next := -1
			for _, n := range adj[cur] {
				if !seen[n] {
					next = n
				}
			}
			if next < 0 {
				break
			}
			seen[next] = true
			path = append(path, next)
			cur = next
		}
		paths = append(paths, path)
	}
	if w.rng != nil {
		w.rng.Shuffle(len(paths), func(i, j int) { paths[i], paths[j] = paths[j], paths[i] })
		for _, p := range paths {
			if w.pick(2) == 1 {
				for i, j := 0, len(p)-1; i < j; i, j = i+1, j-1 {
					p[i], p[j] = p[j], p[i]
				}
			}
		}
	}
	var items []string
	for _, p := range paths {
		g := func(i int) scene.Group { return s.Groups[p[i]] }
		if len(p) == 1 {
			items = append(items, w.np(g(0), true))
			continue
		}
		forms := 2
		if len(p) == 2 {
			forms = 3
		}
		switch w.pick(forms) {
		case 0: // "A above B"
			items = append(items, w.np(g(0), true)+" "+w.rel(kindsFrom(pairs, p[0], p[1]), w.np(g(1), true)))
		case 1: // "A and B to the left of it"
			items = append(items, w.np(g(0), true), w.np(g(1), true)+" "+w.relPron(kindsFrom(pairs, p[1], p[0]), g(0).Count))
		case 2: // "B with A on top of it" (the path's two ends swap roles)
			items = append(items, w.np(g(1), false)+" with "+w.np(g(0), false)+" "+w.relPron(kindsFrom(pairs, p[0], p[1]), g(1).Count))
		}
		for i := 2; i < len(p); i++ {
			items = append(items, w.np(g(i), true)+" "+w.relPron(kindsFrom(pairs, p[i], p[i-1]), g(i-1).Count))
		}
	}
	switch len(items) {
	case 1:
		return items[0]
	case 2:
		return items[0] + " and " + items[1]
	}
	head := strings.Join(items[:len(items)-1], ", ")
	return head + w.choose(", and ", " and ") + items[len(items)-1]
}

// InferCategory returns the benchmark category of a spec's claims; Parse sets
// Spec.Category with it. The rules, in order:
//
//   - one group of one object: "single";
//   - three or more groups: "complex";
//   - any relation: "spatial" when the spec asks for two objects, "complex" when more;
//   - any count above one: "numeracy";
//   - two single objects: "texture" when both name a texture, else "color"
//     when both name colours that differ, else "shape".
func InferCategory(s scene.Spec) string {
	total := 0
	for _, g := range s.Groups {
		total += g.Count
	}
	switch {
	case len(s.Groups) == 1 && total == 1:
		return "single"
	case len(s.Groups) >= 3:
		return "complex"
	case len(s.Relations) > 0 && total <= 2:
		return "spatial"
	case len(s.Relations) > 0:
		return "complex"
	case total > len(s.Groups):
		return "numeracy"
	}
	a, b := s.Groups[0], s.Groups[1]
	switch {
	case a.Texture != scene.Any && b.Texture != scene.Any:
		return "texture"
	case a.Color != scene.Any && b.Color != scene.Any && a.Color != b.Color:
		return "color"
	}
	return "shape"
}

// Equivalent reports whether two specs make the same claims: the same
// category and, under some renumbering of groups, the same groups and the same
// relations (where "A below B" is "B above A" and duplicates count once).
func Equivalent(a, b scene.Spec) bool {
	if a.Category != b.Category || len(a.Groups) != len(b.Groups) {
		return false
	}
	n := len(a.Groups)
	ra, rb := enRelSet(a.Relations), enRelSet(b.Relations)
	if len(ra) != len(rb) {
		return false
	}
	perm := make([]int, n) // a's group i is b's group perm[i]
	used := make([]bool, n)
	var try func(i int) bool
	// consistent checks the relations whose later group is i.
	consistent := func(i int) bool {
		for r := range ra {
			if max(r[0], r[1]) == i && !rb[[3]int{perm[r[0]], perm[r[1]], r[2]}] {
				return false
			}
		}
		return true
	}
	try = func(i int) bool {
		if i == n {
			return true
		}
		for j := 0; j < n; j++ {
			if !used[j] && a.Groups[i] == b.Groups[j] {
				used[j], perm[i] = true, j
				if consistent(i) && try(i+1) {
					return true
				}
				used[j] = false
			}
		}
		return false
	}
	return try(0)
}

// enRelSet normalises relations to Above/LeftOf triples (a, b, kind).
func enRelSet(rs []scene.Relation) map[[3]int]bool {
	m := map[[3]int]bool{}
	for _, r := range rs {
		a, b, k := r.A, r.B, r.Kind
		if k == scene.Below || k == scene.RightOf {
			a, b, k = b, a, enInverse(k)
		}
		m[[3]int{a, b, k}] = true
	}
	return m
}
