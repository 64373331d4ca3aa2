package server_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/edge/server"
	"github.com/twig-project/twig/internal/render"
)

// The load benchmark: loadSessions websocket sessions on loopback, all at
// once, each doing one full run per iteration. Every event's latency is
// measured from the engine emitting it (the gateway's OnEmit) to the client
// having read its whole frame (p50, p99), and to the gateway having written
// it to the socket (p99-written: the gateway's own share, without the
// client's scheduling). The clients only read frames and timestamp them
// while the runs go (a reused buffer, no decoding), so that the load
// generator takes as little of the CPU the server needs as it can; after
// the iteration every stream is decoded and checked (no event lost,
// duplicated or out of order; it rebuilds into its final canvas). An
// iteration that takes longer than loadTimeout fails.
//
// What bounds the latency on a shared machine is the scheduler: runq-ms/s
// is the time the process's threads waited for a CPU (Linux's schedstat),
// summed over its threads, per second of the benchmark; when it is high
// (the machine busy with other work) a p99 of several milliseconds is the
// kernel's, whatever the gateway does.
//
// scripted-apart and remote-paced-apart are scripted and remote-paced with
// the server in a process of its own (this test binary again, as
// TestLoadServerProcess), so that its CPU and write calls are the server's
// alone (the others count the clients too), its scheduler is not the load
// generator's, and the two can be given a core each:
//
//	TWIG_LOAD_SERVER_CMD="taskset -c 0" taskset -c 1 ./server.test -test.bench ServeLoad/scripted-apart
//
// (TWIG_LOAD_SERVER_CMD prefixes the server's command line). Latency there
// is measured across the two processes by the wall clock.
const (
	loadSessions = 200
	loadTimeout  = 3 * time.Minute
)

// modelPace is the embedded model's pace in model-paced: the shipped
// weights emit about 63 events in a 15 ms run on one core of this
// machine's kind (AMD EPYC, AVX-512), one every 0.24 ms on average.
const modelPace = 250 * time.Microsecond

// remotePace is a remote model's pace in remote-paced: a chat model
// streaming 100 tokens a second, one event each.
const remotePace = 10 * time.Millisecond

func BenchmarkServeLoad(b *testing.B) {
	active := server.DefaultLimits().MaxActive
	b.Run("tiny-model", func(b *testing.B) { benchLoad(b, inProcess(b, tinyModel(b), active)) })
	// the same traffic from a scripted backend that costs no model time,
	// unpaced: a closed loop, a throughput test (the server emits faster
	// than 200 clients read, so the latency is the backlog it builds)
	b.Run("scripted", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 0).backend(), active)) })
	b.Run("scripted-apart", func(b *testing.B) { benchLoad(b, apart(b, 0, active)) })
	// an open loop: all 200 runs stream at once (no MaxActive: the scripted
	// backend costs no CPU), each row 20 ms after the last (a band's 24
	// thought tokens come at once), up to 45 K events/s in all in bursts
	b.Run("scripted-paced", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 20*time.Millisecond).backend(), 0)) })
	// the embedded model's traffic without its CPU: the runs wait for the
	// model's slots as in `twig serve` (CPUs − 1 at once), and each emits
	// its deltas and rows at the shipped model's pace, open loop: the
	// latency of a server whose model work is done elsewhere (a GPU, a
	// remote backend) at the embedded model's event rate
	b.Run("model-paced", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 0).paced(modelPace).backend(), active)) })
	// all 200 runs stream at once, each at a remote model's pace (an event
	// every remotePace, open loop), with no model slots (a proxy's backend
	// does no work of its own): 200 sessions streaming together
	b.Run("remote-paced", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 0).paced(remotePace).backend(), 0)) })
	// the same with the server in a process of its own: what the load
	// generator sharing the server's scheduler adds
	b.Run("remote-paced-apart", func(b *testing.B) { benchLoad(b, apart(b, remotePace, 0)) })
}

// emitLog records when each event of each run was emitted.
type emitLog struct {
	mu   sync.Mutex
	runs map[string][]time.Time // run id → emit time by seq
}

func (l *emitLog) add(ev protocol.Event) {
	now := time.Now()
	l.mu.Lock()
	l.runs[ev.RunID] = append(l.runs[ev.RunID], now)
	l.mu.Unlock()
}

func (l *emitLog) at(run string, seq int64) (time.Time, int) {
	l.mu.Lock()
	defer l.mu.Unlock()
	ts := l.runs[run]
	if int(seq) >= len(ts) {
		return time.Time{}, len(ts)
	}
	return ts[seq], len(ts)
}

// loadTarget is a server under load.
type loadTarget struct {
	ws   string
	log  *emitLog        // complete once sync returns
	sync func()          // after an iteration: fill log
	cost func() loadCost // the server's costs so far
	// written: emit → written to the socket (the gateway's own share)
	written func() []time.Duration
	apart   bool // the server is a process of its own
}

func inProcess(b *testing.B, backend engine.Backend, active int) *loadTarget {
	log := &emitLog{runs: map[string][]time.Time{}}
	var wmu sync.Mutex
	var written []time.Duration
	onWrite := func(ev protocol.Event) {
		now := time.Now()
		if at, _ := log.at(ev.RunID, ev.Seq); !at.IsZero() {
			wmu.Lock()
			written = append(written, now.Sub(at))
			wmu.Unlock()
		}
	}
	onEmit := func(ev protocol.Event) {
		if ev.RunID != "" { // not the connections' own events (hello)
			log.add(ev)
		}
	}
	ts := newServer(b, loadOptions(backend, active, onEmit, onWrite))
	return &loadTarget{ws: ts.ws, log: log, sync: func() {}, cost: func() loadCost { return processCost(b) },
		written: func() []time.Duration { wmu.Lock(); defer wmu.Unlock(); return slices.Clone(written) }}
}

func loadOptions(backend engine.Backend, active int, onEmit, onWrite func(protocol.Event)) server.Options {
	return server.Options{Backend: backend, OnEmit: onEmit, OnWrite: onWrite,
		Limits: gateway.Limits{MaxConnsPerAddr: 4 * loadSessions, MaxInFlightPerAddr: 4 * loadSessions, MaxActive: active}}
}

func benchLoad(b *testing.B, ts *loadTarget) {
	var (
		mu       sync.Mutex
		reads    []*loadRead
		failures []string
	)
	b.ResetTimer()
	c0, self0 := ts.cost(), processCost(b)
	t0 := time.Now()
	for it := 0; it < b.N; it++ {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		var wg sync.WaitGroup
		for s := 0; s < loadSessions; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("i%d-s%d", it, s)
				r, err := loadSession(ctx, ts.ws, id, int64(it*loadSessions+s+1))
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", id, err))
					return
				}
				reads = append(reads, r)
			}()
		}
		wg.Wait()
		cancel()
		if len(failures) > 0 {
			b.Fatalf("%d of %d sessions failed; first: %s", len(failures), loadSessions, failures[0])
		}
	}
	elapsed := time.Since(t0)
	c1, self1 := ts.cost(), processCost(b)
	b.StopTimer()
	// now that nothing is timed: decode and check every stream
	runs, events := 0, 0
	for _, r := range reads {
		if err := r.check(); err != nil {
			b.Fatalf("run %s: %v", r.id, err)
		}
		runs++
		events += len(r.at)
	}
	ts.sync()
	var lat []time.Duration
	for _, r := range reads {
		if _, n := ts.log.at(r.id, 0); n != len(r.at) {
			b.Fatalf("run %s: the engine emitted %d events, the client read %d", r.id, n, len(r.at))
		}
		for seq, read := range r.at {
			emitted, _ := ts.log.at(r.id, int64(seq))
			if !read.IsZero() { // a merged delta's earlier seqs were never sent on their own
				lat = append(lat, read.Sub(emitted))
			}
		}
	}
	q := func(d []time.Duration, p float64) float64 {
		slices.Sort(d)
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lat, 0.50), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(ts.written(), 0.99), "p99-written-ms")
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	// Per event: in process, the server and the load generator's clients
	// together; apart, the server alone. write-calls counts every write
	// system call: the server's socket writes, the Go runtime's wake-ups
	// (and in process the clients' start messages).
	b.ReportMetric(float64((c1.cpu-c0.cpu).Microseconds())/float64(events), "cpu-ms/1k-events")
	b.ReportMetric(float64(c1.writes-c0.writes)/float64(events), "write-calls/event")
	// the scheduler's share: the time the server's threads (runq-ms/s) and,
	// apart, the load generator's (gen-runq-ms/s) waited for a CPU, per
	// second of the benchmark
	b.ReportMetric(float64((c1.wait-c0.wait).Microseconds())/1000/elapsed.Seconds(), "runq-ms/s")
	if ts.apart {
		b.ReportMetric(float64((self1.wait-self0.wait).Microseconds())/1000/elapsed.Seconds(), "gen-runq-ms/s")
	}
	b.ReportMetric(0, "ns/op")
}

// loadRead is what one session read: each frame's bytes (frames[ends[i-1]:
// ends[i]]) and when it was read whole; check fills at, the time each seq
// of the run reached the client (zero for seqs a merged delta stood for).
type loadRead struct {
	id     string
	frames []byte
	ends   []int
	times  []time.Time
	at     []time.Time
}

// loadSession dials, runs once and returns the frames it read, checking
// nothing but each frame's type (to stop after the run's last).
func loadSession(ctx context.Context, url, id string, seed int64) (*loadRead, error) {
	r := &loadRead{id: id, frames: make([]byte, 0, 32<<10), ends: make([]int, 0, 128), times: make([]time.Time, 0, 128)}
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return r, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	if _, _, err := c.ReadMessage(); err != nil { // hello
		return r, err
	}
	s := protocol.DefaultSettings()
	s.Seed = seed
	if err := c.WriteJSON(start(id, "a red circle above a blue square", s)); err != nil {
		return r, err
	}
	for {
		_, rd, err := c.NextReader()
		if err != nil {
			return r, fmt.Errorf("after %d events: %w", len(r.ends), err)
		}
		from := len(r.frames)
		if r.frames, err = readFrame(r.frames, rd); err != nil {
			return r, fmt.Errorf("after %d events: %w", len(r.ends), err)
		}
		r.times = append(r.times, time.Now())
		r.ends = append(r.ends, len(r.frames))
		if endsRun(r.frames[from:]) {
			return r, nil
		}
	}
}

// readFrame appends a frame's bytes to dst.
func readFrame(dst []byte, rd io.Reader) ([]byte, error) {
	for {
		if len(dst) == cap(dst) {
			dst = slices.Grow(dst, len(dst)+1)
		}
		n, err := rd.Read(dst[len(dst):cap(dst)])
		dst = dst[:len(dst)+n]
		if err == io.EOF {
			return dst, nil
		}
		if err != nil {
			return dst, err
		}
	}
}

var typeKey = []byte(`"type":"`)

// endsRun reports whether a frame is a run_done or an error event, from its
// type field alone.
func endsRun(frame []byte) bool {
	i := bytes.Index(frame, typeKey)
	if i < 0 {
		return false
	}
	t := frame[i+len(typeKey):]
	return bytes.HasPrefix(t, []byte(protocol.TypeRunDone+`"`)) || bytes.HasPrefix(t, []byte(protocol.TypeError+`"`))
}

// check decodes the frames and checks the stream: every event of this run,
// in order, none lost or duplicated (a merged delta stands for its span),
// ending with run_done, rebuilding into a finished film. It fills at.
func (r *loadRead) check() error {
	var evs []protocol.Event
	want := int64(0)
	from := 0
	for i, end := range r.ends {
		ev, err := protocol.Decode(r.frames[from:end])
		from = end
		if err != nil {
			return err
		}
		if ev.RunID != r.id {
			return fmt.Errorf("an event of run %q on this connection", ev.RunID)
		}
		if ev.Seq != want+protocol.Span(ev)-1 {
			return fmt.Errorf("event seq %d, want %d: lost, duplicated or reordered", ev.Seq, want)
		}
		for len(r.at) < int(ev.Seq) {
			r.at = append(r.at, time.Time{})
		}
		r.at = append(r.at, r.times[i])
		want = ev.Seq + 1
		evs = append(evs, ev)
	}
	if len(evs) == 0 || (evs[len(evs)-1].Type != protocol.TypeRunDone && evs[len(evs)-1].Type != protocol.TypeError) {
		return fmt.Errorf("the stream ended after %d events without run_done or error", len(evs))
	}
	film, err := render.Rebuild(evs)
	if err != nil {
		return err
	}
	if film.Done == nil {
		return fmt.Errorf("the run failed: %+v", film.Failure)
	}
	r.frames, r.times = nil, nil
	return nil
}

// apart starts TestLoadServerProcess in a process of its own and talks to
// it over its standard input and output: the first line it prints is its
// URL; "sync" makes it print every emit time since the last ("run seq
// unix-nanoseconds" lines, then "end"); "written" every emit-to-written
// time in nanoseconds (then "end"); "cost" its CPU time, write calls and
// run-queue wait. Its backend is the scripted one, paced at pace (0: not
// paced), with active model slots (TWIG_LOAD_SERVER_BACKEND).
func apart(b *testing.B, pace time.Duration, active int) *loadTarget {
	args := strings.Fields(os.Getenv("TWIG_LOAD_SERVER_CMD"))
	args = append(args, os.Args[0], "-test.run=^TestLoadServerProcess$", "-test.count=1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "TWIG_LOAD_SERVER=1", fmt.Sprintf("TWIG_LOAD_SERVER_BACKEND=%d %d", pace, active))
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		b.Fatal(err)
	}
	outPipe, err := cmd.StdoutPipe()
	if err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { in.Close(); cmd.Wait() })
	out := bufio.NewScanner(outPipe)
	out.Buffer(nil, 1<<20)
	line := func() string {
		if !out.Scan() {
			b.Fatalf("the server process ended: %v", out.Err())
		}
		return out.Text()
	}
	url := line()
	for !strings.HasPrefix(url, "ws://") { // the test binary's own lines
		url = line()
	}
	log := &emitLog{runs: map[string][]time.Time{}}
	ask := func(q string) {
		if _, err := fmt.Fprintln(in, q); err != nil {
			b.Fatal(err)
		}
	}
	return &loadTarget{ws: url, log: log, apart: true,
		sync: func() {
			ask("sync")
			for l := line(); l != "end"; l = line() {
				var run string
				var seq, ns int64
				if _, err := fmt.Sscan(l, &run, &seq, &ns); err != nil {
					b.Fatalf("server process: %q: %v", l, err)
				}
				ts := log.runs[run]
				if int64(len(ts)) != seq {
					b.Fatalf("server process: run %s seq %d after %d emits", run, seq, len(ts))
				}
				log.runs[run] = append(ts, time.Unix(0, ns))
			}
		},
		written: func() []time.Duration {
			ask("written")
			var ds []time.Duration
			for l := line(); l != "end"; l = line() {
				d, err := strconv.ParseInt(l, 10, 64)
				if err != nil {
					b.Fatalf("server process: %q: %v", l, err)
				}
				ds = append(ds, time.Duration(d))
			}
			return ds
		},
		cost: func() loadCost {
			ask("cost")
			var cpu, w, wait int64
			if _, err := fmt.Sscan(line(), &cpu, &w, &wait); err != nil {
				b.Fatal(err)
			}
			return loadCost{cpu: time.Duration(cpu), writes: w, wait: time.Duration(wait)}
		}}
}

// TestLoadServerProcess is the server of BenchmarkServeLoad's -apart
// scenarios; it runs only when one starts it (TWIG_LOAD_SERVER=1).
func TestLoadServerProcess(t *testing.T) {
	if os.Getenv("TWIG_LOAD_SERVER") != "1" {
		t.Skip("the server process of BenchmarkServeLoad's -apart scenarios")
	}
	var mu sync.Mutex
	var pending []string // emits not yet synced, "run seq ns"
	log := &emitLog{runs: map[string][]time.Time{}}
	var written []time.Duration
	onEmit := func(ev protocol.Event) {
		if ev.RunID == "" {
			return // the connection's own events (hello)
		}
		log.add(ev)
		_, n := log.at(ev.RunID, 0)
		at, _ := log.at(ev.RunID, int64(n-1))
		mu.Lock()
		pending = append(pending, fmt.Sprintf("%s %d %d", ev.RunID, n-1, at.UnixNano()))
		mu.Unlock()
	}
	onWrite := func(ev protocol.Event) {
		now := time.Now()
		if at, _ := log.at(ev.RunID, ev.Seq); !at.IsZero() {
			mu.Lock()
			written = append(written, now.Sub(at))
			mu.Unlock()
		}
	}
	var pace time.Duration
	var active int
	if _, err := fmt.Sscan(os.Getenv("TWIG_LOAD_SERVER_BACKEND"), &pace, &active); err != nil {
		t.Fatalf("TWIG_LOAD_SERVER_BACKEND: %v", err)
	}
	ts := newServer(t, loadOptions(newFake(24, 0).paced(pace).backend(), active, onEmit, onWrite))
	w := bufio.NewWriter(os.Stdout)
	fmt.Fprintln(w, ts.ws)
	w.Flush()
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "sync":
			mu.Lock()
			p := pending
			pending = nil
			mu.Unlock()
			for _, l := range p {
				fmt.Fprintln(w, l)
			}
			fmt.Fprintln(w, "end")
		case "written":
			mu.Lock()
			for _, d := range written {
				fmt.Fprintln(w, int64(d))
			}
			mu.Unlock()
			fmt.Fprintln(w, "end")
		case "cost":
			c := processCost(t)
			fmt.Fprintln(w, int64(c.cpu), c.writes, int64(c.wait))
		}
		w.Flush()
	}
	// the benchmark closed its end: exit now, without waiting for the
	// connections it may have left open
	os.Exit(0)
}

// loadCost is what a process has spent so far: CPU time (user + system),
// write system calls (Linux's /proc/self/io; 0 elsewhere) and the time its
// threads waited on a run queue for a CPU (Linux's schedstat, summed over
// the threads alive now; 0 elsewhere).
type loadCost struct {
	cpu, wait time.Duration
	writes    int64
}

func processCost(t testing.TB) loadCost {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	c := loadCost{cpu: time.Duration(ru.Utime.Nano() + ru.Stime.Nano())}
	if io, err := os.ReadFile("/proc/self/io"); err == nil {
		for line := range strings.Lines(string(io)) {
			if v, ok := strings.CutPrefix(line, "syscw:"); ok {
				c.writes, _ = strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			}
		}
	}
	tasks, _ := os.ReadDir("/proc/self/task")
	for _, task := range tasks {
		// schedstat: time on the CPU, time waiting on a run queue (ns), slices
		st, err := os.ReadFile("/proc/self/task/" + task.Name() + "/schedstat")
		if f := strings.Fields(string(st)); err == nil && len(f) >= 2 {
			ns, _ := strconv.ParseInt(f[1], 10, 64)
			c.wait += time.Duration(ns)
		}
	}
	return c
}
