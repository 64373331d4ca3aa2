package thought

import (
	"fmt"
	"strings"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
)

// HumanizeFor turns a thought into plain English for people, with rows and
// columns counted from 1 (as the page counts them), and says which of each
// new object's attributes the prompt left open — those the model chose —
// and which objects the prompt did not ask for. spec may be nil (no notes).
// E.g. "Rows 1–6: a large solid red circle starting at row 1, column 3
// (size and stripes chosen by the model); the blue square continues".
//
// A thought that is not in the thought grammar (a remote model's prose, or
// a malformed entry) is returned as it is: there is nothing to translate,
// and nothing may be dropped.
func HumanizeFor(spec *scene.Spec, text string) string {
	es, r0, r1, ok := ParseThought(text)
	if !ok || (r0 < 0 && len(es) == 0) {
		return strings.TrimSpace(text)
	}
	var parts []string
	for _, e := range es {
		if !e.New {
			parts = append(parts, fmt.Sprintf("the %s %s continues", scene.Colors[e.Color], scene.Shapes[e.Shape]))
			continue
		}
		p := fmt.Sprintf("a %s %s %s %s starting at row %d, column %d", scene.Sizes[e.Size], scene.Textures[e.Texture], scene.Colors[e.Color], scene.Shapes[e.Shape], e.Y+1, e.X+1)
		if spec != nil {
			p += chosenNote(spec, e)
		}
		parts = append(parts, p)
	}
	body := "nothing in these rows"
	if r0 >= 0 && r1-r0 == 1 {
		body = "nothing in this row"
	}
	if len(parts) > 0 {
		body = strings.Join(parts, "; ")
	}
	switch {
	case r0 >= 0 && r1-r0 == 1:
		return fmt.Sprintf("Row %d: %s", r0+1, body)
	case r0 >= 0:
		return fmt.Sprintf("Rows %d–%d: %s", r0+1, r1, body)
	}
	return strings.ToUpper(body[:1]) + body[1:]
}

// chosenNote says what the prompt left open about entry e's object: the
// attributes of the first group it fits that the prompt did not fix.
func chosenNote(spec *scene.Spec, e Entry) string {
	o := scene.Object{Color: e.Color, Shape: e.Shape, Size: e.Size, Texture: e.Texture}
	for _, g := range spec.Groups {
		if !g.Matches(o) {
			continue
		}
		var open []string
		if g.Size == scene.Any {
			open = append(open, "size")
		}
		if g.Texture == scene.Any {
			open = append(open, "stripes")
		}
		if g.Color == scene.Any {
			open = append(open, "colour")
		}
		if len(open) == 0 {
			return ""
		}
		return " (" + english.List(open, "and") + " chosen by the model)"
	}
	return " (not in the prompt)"
}
