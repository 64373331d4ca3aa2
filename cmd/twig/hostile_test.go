package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"image/gif"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
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
	cell := regexp.MustCompile("`([a-z0-9/._-]+): ([^`]+)`")
	goTest := regexp.MustCompile(`^(Test|Fuzz)[A-Za-z0-9_]+$`)
	rows := 0
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(line, "## ") {
			break // the table of inputs comes first; measurements follow
		}
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
		if strings.HasSuffix(m[1], ".mjs") {
			checkNodeTest(t, m[1], m[2])
			continue
		}
		if !goTest.MatchString(m[2]) || !hasGoTest(t, filepath.Join(repoRoot, m[1]), m[2]) {
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
	for _, f := range []string{"./core/protocol:FuzzDecode", "./internal/world/english:FuzzParse"} {
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

// twigBin builds the twig command once for the tests that run it as a
// process (exit codes, stderr, peak memory are the process's). TWIG_BIN
// names a built one instead.
var twigBin = sync.OnceValues(func() (string, error) {
	if bin := os.Getenv("TWIG_BIN"); bin != "" {
		return filepath.Abs(bin)
	}
	dir, err := os.MkdirTemp("", "twig-hostile-")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "twig")
	// no embedded weights: these tests never draw with the default model
	if out, err := exec.Command("go", "build", "-tags", "twig_noembed", "-o", bin, ".").CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
})

// result is how a twig process ended.
type result struct {
	code           int
	stdout, stderr string
	maxRSSMiB      int64
}

// runTwig runs the built twig with a 2-minute cap; shell, when set, is a
// prefix run by sh (e.g. "ulimit -f 200;"). twig is started by this test
// binary run afresh as a go-between (see rssEnv), which reports its peak.
func runTwig(t *testing.T, shell string, args ...string) result {
	t.Helper()
	bin, err := twigBin()
	if err != nil {
		t.Fatal(err)
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	argv := append([]string{bin}, args...)
	if shell != "" {
		argv = append([]string{"sh", "-c", shell + ` exec "$0" "$@"`}, argv...)
	}
	peak := filepath.Join(t.TempDir(), "maxrss")
	cmd := exec.CommandContext(ctx, self, argv...)
	cmd.Env = append(os.Environ(), rssEnv+"="+peak)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err = cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("twig %s did not end in 2 minutes", strings.Join(args, " "))
	}
	r := result{stdout: out.String(), stderr: errb.String()}
	if cmd.ProcessState == nil {
		t.Fatal(err)
	}
	r.code = cmd.ProcessState.ExitCode()
	kib, err := os.ReadFile(peak)
	if err != nil {
		t.Fatalf("the go-between reported no peak: %v; stderr %s", err, clipLine(r.stderr))
	}
	if r.maxRSSMiB, err = strconv.ParseInt(string(kib), 10, 64); err != nil {
		t.Fatal(err)
	}
	r.maxRSSMiB >>= 10 // KiB on Linux
	return r
}

// rssEnv, when set in the environment, makes the test binary a go-between:
// it runs its arguments as a command and writes that command's peak RSS
// (KiB) to the file rssEnv names, exiting with the command's exit code.
//
// A child's ru_maxrss starts from the peak of the address space it was
// exec'ed from, and Go starts children with vfork (they share the
// parent's), so a twig started by the test process itself would report the
// test process's own peak: hundreds of MiB once other tests have run
// (go test -count=5). Started from this small, fresh process, its peak is
// its own.
const rssEnv = "TWIG_TEST_PEAK_RSS_FILE"

func TestMain(m *testing.M) {
	if file := os.Getenv(rssEnv); file != "" {
		os.Exit(goBetween(file, os.Args[1:]))
	}
	os.Exit(m.Run())
}

func goBetween(file string, argv []string) int {
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = slices.DeleteFunc(os.Environ(), func(kv string) bool { return strings.HasPrefix(kv, rssEnv+"=") })
	err := cmd.Run()
	if cmd.ProcessState == nil {
		fmt.Fprintln(os.Stderr, "go-between:", err)
		return 125
	}
	ru, _ := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	if ru == nil {
		fmt.Fprintln(os.Stderr, "go-between: no resource usage on this system")
		return 125
	}
	if err := os.WriteFile(file, []byte(strconv.FormatInt(int64(ru.Maxrss), 10)), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, "go-between:", err)
		return 125
	}
	if ws, ok := cmd.ProcessState.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal())
	}
	return cmd.ProcessState.ExitCode()
}

// oneLineError checks a failure's stderr: one line, no stack trace.
func oneLineError(t *testing.T, r result, want string) {
	t.Helper()
	if r.code != 1 {
		t.Errorf("exit code %d, want 1; stderr:\n%s", r.code, clipLine(r.stderr))
	}
	if lines := strings.Count(strings.TrimRight(r.stderr, "\n"), "\n") + 1; lines != 1 || strings.Contains(r.stderr, "goroutine ") {
		t.Errorf("stderr is %d lines, want one:\n%.600s", lines, r.stderr)
	}
	if !strings.Contains(r.stderr, want) {
		t.Errorf("stderr %q does not say %q", clipLine(r.stderr), want)
	}
}

// frameBomb writes a trace of one run_started and n band_progress events,
// every one valid (row 0 painted again and again): each makes a frame.
func frameBomb(t *testing.T, path string, n int, done bool) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := bufio.NewWriter(f)
	pw := protocol.NewWriter(w)
	ev := func(seq int, p protocol.Payload) {
		// twig/1: an old trace (the reader folds it as twig/2 does)
		if err := pw.Write(protocol.Event{V: protocol.Version1, Type: p.EventType(), RunID: "bomb", Seq: int64(seq), Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	ev(0, &protocol.RunStarted{Prompt: "a red circle", Settings: protocol.DefaultSettings(), Grid: tokens.Grid,
		Plan: []protocol.Rows{{Start: 0, End: tokens.Grid}}})
	ev(1, &protocol.BandStarted{Band: 0, Rows: protocol.Rows{Start: 0, End: tokens.Grid}}) // a band opens before its rows
	row := make([]int, tokens.Grid)
	for i := 1; i <= n; i++ {
		row[i%tokens.Grid] = i % tokens.NumImageTokens
		ev(i+1, &protocol.BandProgress{Band: 0, Row: 0, Tokens: row})
	}
	if done {
		canvas := tokens.NewTokens()
		copy(canvas, row)
		ev(n+2, &protocol.RunDone{Tokens: canvas})
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	f.Close()
}

// A trace of 3000 valid band_progress events (a frame each) is refused as
// it is read: one line, exit 1, a small peak, and no output folder or file.
// (Before: every frame held as a 300 KB picture; 10 000 took 5.1 GB, 50 MB
// died out of memory with a stack trace and a 0-byte thinking.gif.)
func TestHostileReplayFrameBomb(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "bomb.jsonl")
	frameBomb(t, trace, 3000, true)
	out := filepath.Join(dir, "out")
	r := runTwig(t, "", "replay", "--out", out, trace)
	oneLineError(t, r, "more than 2000 frames")
	t.Logf("peak RSS %d MiB", r.maxRSSMiB)
	if r.maxRSSMiB > 200 {
		t.Errorf("replay of the frame bomb peaked at %d MiB, want under 200", r.maxRSSMiB)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("the refused replay made %s (%v)", out, err)
	}
}

// A long trace under the bound renders, one frame in memory at a time.
func TestHostileReplayLongTrace(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "long.jsonl")
	frameBomb(t, trace, 900, true)
	out := filepath.Join(dir, "out")
	r := runTwig(t, "", "replay", "--out", out, trace)
	if r.code != 0 {
		t.Fatalf("replay: exit %d: %s", r.code, r.stderr)
	}
	t.Logf("peak RSS %d MiB", r.maxRSSMiB)
	if r.maxRSSMiB > 150 {
		t.Errorf("replay of 900 frames peaked at %d MiB, want under 150 (the GIF streams)", r.maxRSSMiB)
	}
	f, err := os.Open(filepath.Join(out, gifFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g, err := gif.DecodeAll(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(g.Image) != 902 { // the prompt, 900 rows, the end
		t.Fatalf("the GIF has %d frames, want 902", len(g.Image))
	}
}

// A write that fails half-way (here the file-size limit, as a full disk
// would) leaves no half-written thinking.gif and no temporary file.
func TestHostileReplayNoHalfFile(t *testing.T) {
	dir := t.TempDir()
	trace := filepath.Join(dir, "run.jsonl")
	frameBomb(t, trace, 200, true)
	out := filepath.Join(dir, "out")
	r := runTwig(t, "ulimit -f 256;", "replay", "--out", out, trace) // 128 KiB (dash counts 512-byte blocks) or more
	oneLineError(t, r, "cannot write")
	entries, _ := os.ReadDir(out)
	for _, e := range entries {
		if e.Name() != imageFile {
			t.Errorf("the failed replay left %s in the output folder", e.Name())
		}
	}
}

// A forged weight file (layers 2^40, d 2^20) is refused with one line by
// the real binary, not a makeslice panic or an out-of-memory trace.
func TestHostileForgedWeightsCLI(t *testing.T) {
	src, err := os.ReadFile(filepath.Join(repoRoot, "core", "model", "testdata", "tiny.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, from, to string }{
		{"layers", `\"layers\":2,`, `\"layers\":1099511627776,`},
		{"d", `\"d\":48,`, `\"d\":1048576,`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			forged := bytes.Replace(src, []byte(tc.from), []byte(tc.to), 1)
			if bytes.Equal(forged, src) {
				t.Fatalf("%s not found in the tiny weights", tc.from)
			}
			// the header length in the first 8 bytes grows with the text
			n := binary.LittleEndian.Uint64(forged[:8]) + uint64(len(tc.to)-len(tc.from))
			binary.LittleEndian.PutUint64(forged[:8], n)
			path := filepath.Join(t.TempDir(), "forged.safetensors")
			if err := os.WriteFile(path, forged, 0o644); err != nil {
				t.Fatal(err)
			}
			r := runTwig(t, "", "draw", "--weights", path, "--out", t.TempDir(), "a red circle")
			oneLineError(t, r, "over the limits")
		})
	}
}

// --weights from a URL that accepts and never answers ends at --timeout
// with one line, instead of hanging.
func TestHostileWeightsURLTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		var held []net.Conn // accepted, never answered
		for {
			c, err := ln.Accept()
			if err != nil {
				for _, c := range held {
					c.Close()
				}
				return
			}
			held = append(held, c)
		}
	}()
	r := runTwig(t, "", "draw", "--timeout", "1s", "--weights", "http://"+ln.Addr().String()+"/w.safetensors", "--out", t.TempDir(), "a red circle")
	oneLineError(t, r, "deadline exceeded")
}
