// Package thought is the embedded model's thought grammar and plan rules:
// a band's description (BandEntries, ParseThought, ThoughtWords), the
// model's word list (ModelWords), whether a plan can still satisfy a spec
// (PlanCheck, PlanCompletable), a plan review (PlanReview), and the
// thought in plain English for people (HumanizeFor).
package thought

import (
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/twig-project/twig/internal/world/scene"
	"github.com/twig-project/twig/internal/world/tokens"
)

// A thought says what one band of rows holds, in a small fixed grammar that is
// both the model's plan and readable by people:
//
//	rows 0 5 : new small striped red circle at 2 7 ; cont blue square
//
// "new" objects begin (their top row) inside the band and carry their
// top-left cell (row, column); "cont" objects began above and continue into
// the band; "empty" says the band holds nothing. Entries run left to right.

// Entry is one object in a band description.
type Entry struct {
	New                         bool
	Size, Texture, Color, Shape int // Size and Texture are Any for cont entries
	Y, X                        int // top-left cell for new entries
}

// BandEntries describes which objects of a scene intersect rows [r0, r1).
func BandEntries(s scene.Scene, r0, r1 int) []Entry {
	var es []Entry
	for _, o := range s.Objects {
		top, bot := o.Y, o.Y+o.Side()
		if bot <= r0 || top >= r1 {
			continue
		}
		if top >= r0 {
			es = append(es, Entry{New: true, Size: o.Size, Texture: o.Texture, Color: o.Color, Shape: o.Shape, Y: o.Y, X: o.X})
		} else {
			es = append(es, Entry{Size: scene.Any, Texture: scene.Any, Color: o.Color, Shape: o.Shape, Y: o.Y, X: o.X})
		}
	}
	sort.SliceStable(es, func(i, j int) bool {
		if es[i].X != es[j].X {
			return es[i].X < es[j].X
		}
		return es[i].Y < es[j].Y
	})
	return es
}

// ThoughtWords renders a band description as words (without the row header).
func ThoughtWords(es []Entry) []string {
	if len(es) == 0 {
		return []string{"empty"}
	}
	var w []string
	for i, e := range es {
		if i > 0 {
			w = append(w, ";")
		}
		if e.New {
			w = append(w, "new", scene.Sizes[e.Size], scene.Textures[e.Texture], scene.Colors[e.Color], scene.Shapes[e.Shape], "at", strconv.Itoa(e.Y), strconv.Itoa(e.X))
		} else {
			w = append(w, "cont", scene.Colors[e.Color], scene.Shapes[e.Shape])
		}
	}
	return w
}

// HeaderWords is the row header that opens a thought: "rows R0 R1 :" where
// R1 is the last row of the band (inclusive).
func HeaderWords(r0, r1 int) []string {
	return []string{"rows", strconv.Itoa(r0), strconv.Itoa(r1 - 1), ":"}
}

// ParseThought reads a thought's words back into entries; it is lenient with
// malformed entries (they are skipped) because models write thoughts.
func ParseThought(text string) (entries []Entry, r0, r1 int, ok bool) {
	words := strings.Fields(text)
	r0, r1 = -1, -1
	if len(words) >= 4 && words[0] == "rows" && words[3] == ":" {
		a, e1 := strconv.Atoi(words[1])
		b, e2 := strconv.Atoi(words[2])
		if e1 == nil && e2 == nil {
			r0, r1 = a, b+1
		}
		words = words[4:]
	}
	ok = true
	var cur []string
	flush := func() {
		if len(cur) == 0 {
			return
		}
		if e, good := parseEntry(cur); good {
			entries = append(entries, e)
		} else if !(len(cur) == 1 && cur[0] == "empty") {
			ok = false
		}
		cur = nil
	}
	for _, w := range words {
		if w == ";" {
			flush()
			continue
		}
		cur = append(cur, w)
	}
	flush()
	return entries, r0, r1, ok
}

func parseEntry(w []string) (Entry, bool) {
	idx := func(list []string, s string) int {
		for i, v := range list {
			if v == s {
				return i
			}
		}
		return -1
	}
	switch {
	case len(w) == 8 && w[0] == "new" && w[5] == "at":
		e := Entry{New: true, Size: idx(scene.Sizes, w[1]), Texture: idx(scene.Textures, w[2]), Color: idx(scene.Colors, w[3]), Shape: idx(scene.Shapes, w[4])}
		var err1, err2 error
		e.Y, err1 = strconv.Atoi(w[6])
		e.X, err2 = strconv.Atoi(w[7])
		good := e.Size >= 0 && e.Texture >= 0 && e.Color >= 0 && e.Shape >= 0 && err1 == nil && err2 == nil &&
			e.Y >= 0 && e.X >= 0 && e.Y+scene.SizeCells[e.Size] <= tokens.Grid && e.X+scene.SizeCells[e.Size] <= tokens.Grid
		return e, good
	case len(w) == 3 && w[0] == "cont":
		e := Entry{Size: scene.Any, Texture: scene.Any, Color: idx(scene.Colors, w[1]), Shape: idx(scene.Shapes, w[2])}
		return e, e.Color >= 0 && e.Shape >= 0
	}
	return Entry{}, false
}

// Humanize turns a thought into a sentence for people, e.g.
// "rows 0–5: a small striped red circle begins at row 2, column 7; the blue square continues".
func Humanize(text string) string {
	es, r0, r1, _ := ParseThought(text)
	var parts []string
	for _, e := range es {
		if e.New {
			parts = append(parts, fmt.Sprintf("a %s %s %s %s begins at row %d, column %d", scene.Sizes[e.Size], scene.Textures[e.Texture], scene.Colors[e.Color], scene.Shapes[e.Shape], e.Y, e.X))
		} else {
			parts = append(parts, fmt.Sprintf("the %s %s continues", scene.Colors[e.Color], scene.Shapes[e.Shape]))
		}
	}
	body := "nothing here"
	if len(parts) > 0 {
		body = strings.Join(parts, "; ")
	}
	if r0 >= 0 {
		return fmt.Sprintf("rows %d–%d: %s", r0, r1-1, body)
	}
	return body
}

// EntriesMatch scores how well a band description agrees with a planned one:
// the share of entries in either list that have an equal partner in the
// other, on a 0–100 scale (100 when both are empty).
func EntriesMatch(plan, seen []Entry) int {
	if len(plan) == 0 && len(seen) == 0 {
		return 100
	}
	used := make([]bool, len(seen))
	matched := 0
	for _, p := range plan {
		for j, s := range seen {
			if !used[j] && p == s {
				used[j] = true
				matched++
				break
			}
		}
	}
	total := len(plan) + len(seen) - matched
	return 100 * matched / total
}

// ModelPromptWords is the normalised form of a spec the embedded model reads:
// groups joined by "and", then relations naming groups by ordinal, e.g.
// "two small red circle and one blue square , first above second".
func ModelPromptWords(s scene.Spec) []string {
	var w []string
	for i, g := range s.Groups {
		if i > 0 {
			w = append(w, "and")
		}
		w = append(w, NumberWords[g.Count])
		w = append(w, GroupWords(g)...)
	}
	for _, r := range s.Relations {
		w = append(w, ",", OrdinalWords[r.A], relationToken[r.Kind], OrdinalWords[r.B])
	}
	return w
}

// NumberWords and OrdinalWords are the model's number vocabulary.
var (
	NumberWords   = []string{"zero", "one", "two", "three", "four"}
	OrdinalWords  = []string{"first", "second", "third"}
	relationToken = []string{"above", "below", "left", "right"}
)

// ModelWords lists every word the model's prompts, thoughts and reviews can
// contain. The review words come last: weights trained before reviews
// existed hold the words before them, with the same ids.
func ModelWords() []string {
	w := []string{"and", ",", "rows", ":", ";", "new", "cont", "at", "empty"}
	w = append(w, NumberWords...)
	w = append(w, OrdinalWords...)
	w = append(w, relationToken...)
	w = append(w, scene.Colors...)
	w = append(w, scene.Shapes...)
	w = append(w, scene.Sizes...)
	w = append(w, scene.Textures...)
	for i := 0; i < tokens.Grid; i++ {
		w = append(w, strconv.Itoa(i))
	}
	return append(w, ReviewWords...)
}
