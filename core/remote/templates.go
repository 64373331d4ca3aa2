package remote

import (
	_ "embed"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
	"text/template"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/internal/textutil"
)

//go:embed templates.tmpl
var defaultTemplates string

// templateNames are the blocks every template set has.
var templateNames = []string{"prompt.user", "think.system", "think.user", "critique.system", "critique.user", "paint.prompt"}

// Templates are the prompts sent to remote models (see templates.tmpl).
type Templates struct{ t *template.Template }

// TemplateData is what every template block sees.
type TemplateData struct {
	// Prompt is the user's request.
	Prompt string
	// Role is "think", "critique" or "paint".
	Role string
	// Band is the band's index from 0; BandNumber is Band+1; Bands is the
	// number of bands of the run's schedule.
	Band, BandNumber, Bands int
	// Rows are the band's pixel rows; FirstRow and LastRow the first and
	// last (inclusive; LastRow is Grid-1 for an open-ended band).
	Rows              engine.Rows
	FirstRow, LastRow int
	// Open is true for an open-ended band (adaptive mode).
	Open bool
	// Grid is the canvas's height in pixel rows.
	Grid int
	// Thoughts are the earlier bands' thoughts ("" where none).
	Thoughts []string
	// Thought is the band's thought (critique, paint).
	Thought string
	// Round is 0 for a first drawing, r for the r-th redraw.
	Round int
	// Threshold is the score below which a band is redrawn.
	Threshold int
	// DrawnRows is how many pixel rows from the top the picture shows drawn.
	DrawnRows int
	// Partial is true when the picture has undrawn cells.
	Partial bool
	// FromPct and ToPct are where the band starts and ends, in percent of
	// the picture's height from the top; DrawnPct is how much of the
	// picture is drawn from the top, in percent. The default prompts talk
	// of a real picture in these terms, not of grid rows.
	FromPct, ToPct, DrawnPct int
}

var templateFuncs = template.FuncMap{
	"inc":     func(i int) int { return i + 1 },
	"dec":     func(i int) int { return i - 1 },
	"oneline": textutil.OneLine,
	"join":    func(a []string, sep string) string { return strings.Join(a, sep) },
	"quote":   strconv.Quote,
}

// DefaultTemplates returns twig's own prompts.
func DefaultTemplates() *Templates {
	t, err := parseTemplates("")
	if err != nil {
		panic("BUG: remote: the default templates do not parse: " + err.Error())
	}
	return t
}

// LoadTemplates reads a file of {{define "name"}}…{{end}} blocks that
// replace the defaults of the same names; the others stay.
func LoadTemplates(path string) (*Templates, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("remote: templates: %w", err)
	}
	t, err := parseTemplates(string(b))
	if err != nil {
		return nil, fmt.Errorf("remote: templates %s: %w", path, err)
	}
	return t, nil
}

// parseTemplates parses the defaults, then extra over them, and checks
// that every block runs on sample data.
func parseTemplates(extra string) (*Templates, error) {
	t, err := template.New("twig").Funcs(templateFuncs).Option("missingkey=error").Parse(defaultTemplates)
	if err != nil {
		return nil, err
	}
	if extra != "" {
		if t, err = t.Parse(extra); err != nil {
			return nil, err
		}
	}
	ts := &Templates{t: t}
	sample := TemplateData{Prompt: "a red circle above a blue square", Band: 1, BandNumber: 2, Bands: 3,
		Rows: engine.Rows{Start: 96, End: 176}, FirstRow: 96, LastRow: 175, Grid: 256, Thoughts: []string{"a red circle"},
		Thought: "a blue square", Threshold: 90, DrawnRows: 96, Partial: true, FromPct: 37, ToPct: 68, DrawnPct: 37}
	for _, name := range templateNames {
		if _, err := ts.render(name, sample); err != nil {
			return nil, err
		}
	}
	return ts, nil
}

// render runs one block and trims the result.
func (ts *Templates) render(name string, d TemplateData) (string, error) {
	var b strings.Builder
	if err := ts.t.ExecuteTemplate(&b, name, d); err != nil {
		return "", fmt.Errorf("template %q: %w", name, err)
	}
	return strings.TrimSpace(b.String()), nil
}

// data builds a block's data from a request's state.
func data(role string, st engine.State, thought string, round int) TemplateData {
	h := 1
	if st.Canvas != nil {
		h = st.Canvas.H
	}
	last := st.Rows.End - 1
	open := st.Rows.End < 0
	if open {
		last = h - 1
	}
	d := TemplateData{Prompt: st.Prompt, Role: role, Band: st.Band, BandNumber: st.Band + 1, Bands: st.Settings.Bands,
		Rows: st.Rows, FirstRow: st.Rows.Start, LastRow: last, Open: open, Grid: h, Thoughts: st.Thoughts,
		Thought: thought, Round: round, Threshold: st.Settings.Threshold}
	if d.Thoughts == nil {
		d.Thoughts = []string{}
	}
	d.DrawnRows, d.Partial = drawnRows(st.Canvas)
	d.FromPct, d.ToPct, d.DrawnPct = 100*d.FirstRow/h, 100*(last+1)/h, 100*d.DrawnRows/h
	return d
}

// drawnRows counts the painted pixel rows from the top and says whether
// any row is undrawn.
func drawnRows(c *canvas.Canvas) (rows int, partial bool) {
	if c == nil {
		return 0, true
	}
	rows = slices.Index(c.Painted, false)
	if rows < 0 {
		return c.H, false
	}
	return rows, true
}
