package main

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// repoRoot is the repository's root, two folders up from cmd/twig.
const repoRoot = "../.."

// Every row of docs/HOSTILE.md names a test that exists: the table cannot
// claim a case nothing checks.
func TestHostileTable(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(repoRoot, "docs", "HOSTILE.md"))
	if err != nil {
		t.Fatal(err)
	}
	cell := regexp.MustCompile("`([a-z0-9/._-]+): ((?:Test|Fuzz)[A-Za-z0-9_]+|[a-z0-9 ./_-]+\\.mjs [^`]+)`")
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(line, "| ") || strings.HasPrefix(line, "| input") {
			continue
		}
		cols := strings.Split(strings.Trim(line, "| "), " | ")
		m := cell.FindStringSubmatch(cols[len(cols)-1])
		if m == nil {
			t.Errorf("row %q names no test (`package: TestName`)", clipLine(line))
			continue
		}
		rows++
		if strings.HasSuffix(m[1], ".mjs") || strings.Contains(m[2], ".mjs") {
			checkNodeTest(t, m[1], m[2])
			continue
		}
		if !hasGoTest(t, filepath.Join(repoRoot, m[1]), m[2]) {
			t.Errorf("docs/HOSTILE.md names %s: %s, which does not exist", m[1], m[2])
		}
	}
	if rows < 5 {
		t.Fatalf("docs/HOSTILE.md has %d rows", rows)
	}
}

// hasGoTest reports whether a _test.go file of dir declares func name.
func hasGoTest(t *testing.T, dir, name string) bool {
	files, _ := filepath.Glob(filepath.Join(dir, "*_test.go"))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(b), "\nfunc "+name+"(") {
			return true
		}
	}
	return false
}

// checkNodeTest: "e2e/edge/hostile.test.mjs: name" must be a test(...) there.
func checkNodeTest(t *testing.T, file, name string) {
	b, err := os.ReadFile(filepath.Join(repoRoot, file))
	if err != nil {
		t.Errorf("docs/HOSTILE.md names %s: %v", file, err)
		return
	}
	if !strings.Contains(string(b), "test(\""+name+"\"") && !strings.Contains(string(b), "test('"+name+"'") {
		t.Errorf("docs/HOSTILE.md names test %q, not in %s", name, file)
	}
}

func clipLine(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// `make fuzz` runs every fuzzer even after one fails, and lists all the
// failures at the end. The go command here is a script that fails two
// fuzzers and records every call.
func TestMakeFuzzRunsEveryFuzzer(t *testing.T) {
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("no make")
	}
	dir := t.TempDir()
	log := filepath.Join(dir, "calls")
	fake := filepath.Join(dir, "go")
	script := "#!/bin/sh\necho \"$@\" >> " + log + "\ncase \"$*\" in *FuzzDecode\\$*|*FuzzParse\\$*) exit 1;; esac\nexit 0\n"
	if err := os.WriteFile(fake, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command("make", "-s", "fuzz", "GO="+fake, "FUZZTIME=1x")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("make fuzz passed with two failing fuzzers:\n%s", out)
	}
	want := countFuzzers(t)
	calls, _ := os.ReadFile(log)
	if n := strings.Count(string(calls), "\n"); n != want {
		t.Fatalf("make fuzz ran %d fuzzers, the repository has %d:\n%s", n, want, out)
	}
	for _, f := range []string{"./core/protocol:FuzzDecode", "./core/world:FuzzParse"} {
		if !strings.Contains(string(out), "  "+f+"\n") {
			t.Errorf("the summary does not list %s:\n%s", f, out)
		}
	}
	if !strings.Contains(string(out), "fuzzers failed") {
		t.Errorf("no summary line:\n%s", out)
	}
}

// countFuzzers counts the func FuzzX declarations of the repository's tests.
func countFuzzers(t *testing.T) int {
	n := 0
	filepath.WalkDir(repoRoot, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return nil
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") && p != repoRoot {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, "_test.go") {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return nil
		}
		defer f.Close()
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if strings.HasPrefix(sc.Text(), "func Fuzz") {
				n++
			}
		}
		return nil
	})
	if n == 0 {
		t.Fatal("no fuzzers found")
	}
	return n
}
