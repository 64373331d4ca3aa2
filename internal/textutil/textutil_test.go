package textutil

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestOneLine(t *testing.T) {
	for in, want := range map[string]string{
		"":                             "",
		"a":                            "a",
		"  upstream said:\n\tno  \r\n": "upstream said: no",
		"a\u00a0b":                     "a b", // strings.Fields splits on Unicode spaces too
	} {
		if got := OneLine(in); got != want {
			t.Errorf("OneLine(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestClipAndCut(t *testing.T) {
	for _, tc := range []struct {
		in        string
		n         int
		clip, cut string
	}{
		{"short", 10, "short", "short"},
		{"exactly10!", 10, "exactly10!", "exactly10!"},
		{"a longer text", 4, "a lo…", "a lo"},
		{"héllo", 2, "h…", "h"}, // é is two bytes: never cut in half
		{"日本語", 4, "日…", "日"},
		{"abc", 0, "…", ""},
	} {
		if got := Clip(tc.in, tc.n); got != tc.clip {
			t.Errorf("Clip(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.clip)
		}
		if got := Cut(tc.in, tc.n); got != tc.cut {
			t.Errorf("Cut(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.cut)
		}
	}
}

func FuzzCut(f *testing.F) {
	for _, s := range []string{"", "abc", "héllo wörld", "日本語のテキスト", "\xff\xfe broken"} {
		f.Add(s, 5)
	}
	f.Fuzz(func(t *testing.T, s string, n int) {
		n %= 64
		got := Cut(s, n)
		if len(got) > max(n, 0) || !strings.HasPrefix(s, got) {
			t.Fatalf("Cut(%q, %d) = %q", s, n, got)
		}
		if utf8.ValidString(s) && !utf8.ValidString(got) {
			t.Fatalf("Cut(%q, %d) = %q: invalid UTF-8", s, n, got)
		}
		if c := Clip(s, n); len(s) > n && c != got+"…" {
			t.Fatalf("Clip(%q, %d) = %q", s, n, c)
		}
	})
}
