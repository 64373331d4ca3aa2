package remote

import (
	"os"
	"testing"
)

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestParseCritique(t *testing.T) {
	for _, tc := range []struct {
		in       string
		score    int
		parsed   bool
		revision string
	}{
		{`{"score": 85, "revision": "a red circle"}`, 85, true, "a red circle"},
		{"```json\n{\"score\": 40, \"revision\": \"x\"}\n```", 40, true, "x"},
		{"```\n{\"Score\": 40.6, \"Revised_Description\": \"y\"}\n```", 41, true, "y"},
		{`Here you go: {"rating": "8/10", "revision": "z"} Hope it helps.`, 80, true, "z"},
		{`{"score": null, "revision": "keep"}`, 0, false, "keep"},
		{`{"score": 140, "revision": "w"}`, 0, false, "w"},
		{`{"note": "no score here"} Score: 55`, 55, true, ""},
		{"Score: 72/100\nRevised description: a large blue square", 72, true, "a large blue square"},
		{"**Score**: 9/10\n**Revision**: keep it", 90, true, "keep it"},
		{"I'd give it 65 out of 100.", 65, true, ""},
		{"It matches about 80% of the description.", 80, true, ""},
		{"score of 3 out of 10", 30, true, ""},
		{"88", 88, true, ""},
		{"The band looks fine.", 0, false, ""},
		{"Score: 250", 0, false, ""},
		{"", 0, false, ""},
	} {
		got := ParseCritique(tc.in)
		if got.Score != tc.score || got.Parsed != tc.parsed || got.Revision != tc.revision {
			t.Errorf("ParseCritique(%q) = %+v, want %d %v %q", tc.in, got, tc.score, tc.parsed, tc.revision)
		}
	}
}

func FuzzParseCritique(f *testing.F) {
	for _, s := range []string{`{"score": 85, "revision": "a"}`, "Score: 7/10", "```json\n{}\n```", "{{{", "80%"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p := ParseCritique(s)
		if p.Score < 0 || p.Score > 100 || (!p.Parsed && p.Score != 0) {
			t.Fatalf("ParseCritique(%q) = %+v", s, p)
		}
	})
}

func FuzzSSE(f *testing.F) {
	f.Add("data: {\"a\":1}\n\ndata: [DONE]\n\n")
	f.Add(": comment\nevent: x\ndata: a\ndata: b\n\n")
	f.Fuzz(func(t *testing.T, s string) {
		r := newSSEReader(stringsReader(s))
		for i := 0; i < 1000; i++ {
			if _, err := r.next(); err != nil {
				return
			}
		}
	})
}
