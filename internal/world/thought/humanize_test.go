package thought

import (
	"strings"
	"testing"

	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/scene"
)

func TestHumanizeFor(t *testing.T) {
	spec, err := english.Parse("two yellow triangles above a large striped red circle")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct{ thought, want string }{
		{"rows 0 5 : new small solid yellow triangle at 0 2 ; new large striped yellow triangle at 0 9",
			"Rows 1–6: a small solid yellow triangle starting at row 1, column 3 (size and stripes chosen by the model); " +
				"a large striped yellow triangle starting at row 1, column 10 (size and stripes chosen by the model)"},
		{"rows 6 11 : new large striped red circle at 7 4 ; cont yellow triangle",
			"Rows 7–12: a large striped red circle starting at row 8, column 5; the yellow triangle continues"},
		{"rows 12 12 : new small solid blue square at 12 0", "Row 13: a small solid blue square starting at row 13, column 1 (not in the prompt)"},
		{"rows 12 15 :", "Rows 13–16: nothing in these rows"},
		{"rows 3 3 :", "Row 4: nothing in this row"},
	} {
		if got := HumanizeFor(&spec, c.thought); got != c.want {
			t.Errorf("%q:\n got %q\nwant %q", c.thought, got, c.want)
		}
	}
	if got := HumanizeFor(nil, "rows 0 5 : new small solid yellow triangle at 0 2"); got != "Rows 1–6: a small solid yellow triangle starting at row 1, column 3" {
		t.Errorf("no spec: %q", got)
	}
	// prose (a remote model's thought) and malformed entries pass through untouched
	for _, text := range []string{"The top band holds a red circle on the left.", "rows 0 5 : new small solid pink blob at 0 2"} {
		if got := HumanizeFor(&spec, text); got != text {
			t.Errorf("%q came back as %q", text, got)
		}
	}
}

func FuzzHumanizeFor(f *testing.F) {
	f.Add("rows 0 5 : new small solid yellow triangle at 0 2 ; cont red circle", "two yellow triangles")
	f.Add("rows 3 3 :", "a circle")
	f.Add("", "")
	f.Fuzz(func(t *testing.T, thought, prompt string) {
		var spec *scene.Spec
		if s, err := english.Parse(prompt); err == nil {
			spec = &s
		}
		out := HumanizeFor(spec, thought)
		if out == "" && strings.TrimSpace(thought) != "" {
			t.Fatalf("%q: empty", thought)
		}
		if _, _, _, ok := ParseThought(thought); !ok && out != strings.TrimSpace(thought) {
			t.Fatalf("%q is not in the grammar, yet came back as %q", thought, out)
		}
	})
}
