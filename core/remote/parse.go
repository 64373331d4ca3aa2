package remote

import (
	"encoding/json"
	"math"
	"regexp"
	"strconv"
	"strings"

	"github.com/twig-project/twig/internal/textutil"
)

// ParsedCritique is what ParseCritique read from a critic's answer.
type ParsedCritique struct {
	// Score is 0–100 (0 when not Parsed).
	Score int
	// Parsed is false when no score could be read.
	Parsed bool
	// Revision is the improved description, "" when none was found.
	Revision string
}

// ParseCritique reads a critic's answer leniently: a JSON object (bare, in
// a code fence, or inside prose) with a score and a revision under any of
// their usual names; else prose such as "Score: 72/100 … Revised
// description: …", "7/10" or "85%". Scores out of 10 are scaled to 100;
// a score outside its scale is no score.
func ParseCritique(text string) ParsedCritique {
	var p ParsedCritique
	for _, obj := range jsonObjects(text) {
		s, ok := scoreOf(obj)
		rev := revisionOf(obj)
		if _, has := lookup(obj, scoreKeys); has {
			// the object says where the score is: trust it, even when it is null
			return ParsedCritique{Score: s, Parsed: ok, Revision: rev}
		}
		if p.Revision == "" {
			p.Revision = rev
		}
	}
	if p.Revision == "" {
		p.Revision = proseRevision(text)
	}
	p.Score, p.Parsed = proseScore(text)
	if !p.Parsed {
		p.Score = 0
	}
	return p
}

var scoreKeys = []string{"score", "rating", "grade", "overall_score", "band_score"}
var revisionKeys = []string{"revision", "revised", "revised_description", "improved_description", "improved", "revised_thought", "thought", "description"}

// jsonObjects returns the JSON objects in text, in order: each '{' that
// starts a valid object (code fences and prose around it are skipped).
func jsonObjects(text string) []map[string]any {
	var out []map[string]any
	for i := 0; i < len(text) && len(out) < 8; i++ {
		if text[i] != '{' {
			continue
		}
		d := json.NewDecoder(strings.NewReader(text[i:]))
		d.UseNumber()
		var m map[string]any
		if d.Decode(&m) == nil {
			out = append(out, m)
			i += int(d.InputOffset()) - 1
		}
	}
	return out
}

func lookup(m map[string]any, keys []string) (any, bool) {
	for _, k := range keys {
		for mk, v := range m {
			if strings.EqualFold(mk, k) {
				return v, true
			}
		}
	}
	return nil, false
}

func scoreOf(m map[string]any) (int, bool) {
	v, ok := lookup(m, scoreKeys)
	if !ok {
		return 0, false
	}
	switch x := v.(type) {
	case json.Number:
		f, err := x.Float64()
		return scale(f, 100, err == nil)
	case string:
		return proseNumber(x)
	}
	return 0, false
}

func revisionOf(m map[string]any) string {
	v, _ := lookup(m, revisionKeys)
	s, _ := v.(string)
	return textutil.OneLine(s)
}

var (
	// "score: 72", "Score - 72/100", "**Score**: 8/10", "score of 85%"
	scoreLabelRe = regexp.MustCompile(`(?i)\b(?:score|rating|grade)\b[*_\s]*(?:[:=\-–]|is|of)?[*_\s]*(\d{1,3}(?:\.\d+)?)\s*(%|/\s*100\b|/\s*10\b|out of 100\b|out of 10\b)?`)
	// "72/100", "7/10", "72 out of 100", "85%"
	scoreBareRe = regexp.MustCompile(`(?i)\b(\d{1,3}(?:\.\d+)?)\s*(/\s*100\b|/\s*10\b|out of 100\b|out of 10\b|%)`)
	// a line that is only a number
	scoreLineRe  = regexp.MustCompile(`(?m)^\s*(\d{1,3})\s*$`)
	revisionRe   = regexp.MustCompile(`(?is)\b(?:revised|improved|better|new)\s+(?:description|thought|prompt)\b[*_\s]*[:：]?[*_\s]*(.+)`)
	revisionAlRe = regexp.MustCompile(`(?is)\b(?:revision|description)\b[*_\s]*[:：][*_\s]*(.+)`)
)

func proseScore(text string) (int, bool) {
	for _, re := range []*regexp.Regexp{scoreLabelRe, scoreBareRe} {
		if m := re.FindStringSubmatch(text); m != nil {
			f, err := strconv.ParseFloat(m[1], 64)
			return scale(f, outOf(m[2]), err == nil)
		}
	}
	if m := scoreLineRe.FindStringSubmatch(text); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		return scale(f, 100, err == nil)
	}
	return 0, false
}

// proseNumber reads a score written as text: "85", "8/10", "85%".
func proseNumber(s string) (int, bool) {
	if f, err := strconv.ParseFloat(strings.TrimSpace(s), 64); err == nil {
		return scale(f, 100, true)
	}
	if m := scoreBareRe.FindStringSubmatch(s); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		return scale(f, outOf(m[2]), err == nil)
	}
	return 0, false
}

func outOf(suffix string) float64 {
	s := strings.ToLower(strings.ReplaceAll(suffix, " ", ""))
	if s == "/10" || s == "outof10" {
		return 10
	}
	return 100
}

// scale maps a score out of `of` to 0–100; out of range is no score.
func scale(f, of float64, ok bool) (int, bool) {
	if !ok || math.IsNaN(f) || f < 0 || f > of {
		return 0, false
	}
	return int(math.Round(f * 100 / of)), true
}

func proseRevision(text string) string {
	for _, re := range []*regexp.Regexp{revisionRe, revisionAlRe} {
		if m := re.FindStringSubmatch(text); m != nil {
			s := m[1]
			if i := strings.Index(s, "\n\n"); i >= 0 {
				s = s[:i]
			}
			return strings.Trim(textutil.OneLine(s), `"“”'*`)
		}
	}
	return ""
}
