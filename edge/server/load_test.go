package server_test

import (
	"bufio"
	"context"
	"fmt"
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
// once, each doing one full run per iteration. Every stream is checked (no
// event lost, duplicated or out of order; it rebuilds into its final
// canvas) and every event's latency is measured from the engine emitting it
// (the gateway's OnEmit) to the client reading it (p50, p99), and to the
// gateway having written it to the socket (p99-written: the gateway's own
// share, without the client's scheduling). An iteration that takes
// longer than loadTimeout fails.
//
// scripted-apart is scripted with the server in a process of its own (this
// test binary again, as TestLoadServerProcess), so that its CPU and write
// calls are the server's alone (the others count the clients too), and so
// that the server and the load generator can be given a core each:
//
//	TWIG_LOAD_SERVER_CMD="taskset -c 0" taskset -c 1 ./server.test -test.bench ServeLoad/scripted-apart
//
// (TWIG_LOAD_SERVER_CMD prefixes the server's command line). Latency there
// is measured across the two processes by the wall clock.
const (
	loadSessions = 200
	loadTimeout  = 3 * time.Minute
)

func BenchmarkServeLoad(b *testing.B) {
	active := server.DefaultLimits().MaxActive
	b.Run("tiny-model", func(b *testing.B) { benchLoad(b, inProcess(b, tinyModel(b), active)) })
	// the same traffic from a scripted backend that costs no model time:
	// what the gateway itself adds
	b.Run("scripted", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 0).backend(), active)) })
	b.Run("scripted-apart", func(b *testing.B) { benchLoad(b, apart(b)) })
	// an open loop: all 200 runs stream at once (no MaxActive: the scripted
	// backend costs no CPU), each row 20 ms after the last (a band's 24
	// thought tokens come at once), about 45 K events/s in all, so that the
	// latency is the gateway's and the scheduler's, not a backlog: with the
	// unpaced backend the server out-runs the 200 clients (one process that
	// decodes and checks every event) and a faster server only fills their
	// sockets sooner
	b.Run("scripted-paced", func(b *testing.B) { benchLoad(b, inProcess(b, newFake(24, 20*time.Millisecond).backend(), 0)) })
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
	log  *emitLog                      // complete once sync returns
	sync func()                        // after an iteration: fill log
	cost func() (time.Duration, int64) // CPU time and write calls so far
	// written: emit → written to the socket (the gateway's own share)
	written func() []time.Duration
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
	ts := newServer(b, loadOptions(backend, active, log.add, onWrite))
	return &loadTarget{ws: ts.ws, log: log, sync: func() {}, cost: func() (time.Duration, int64) { return processCost(b) },
		written: func() []time.Duration { wmu.Lock(); defer wmu.Unlock(); return slices.Clone(written) }}
}

func loadOptions(backend engine.Backend, active int, onEmit, onWrite func(protocol.Event)) server.Options {
	return server.Options{Backend: backend, OnEmit: onEmit, OnWrite: onWrite,
		Limits: gateway.Limits{MaxConnsPerAddr: 4 * loadSessions, MaxInFlightPerAddr: 4 * loadSessions, MaxActive: active}}
}

func benchLoad(b *testing.B, ts *loadTarget) {
	var (
		mu       sync.Mutex
		reads    []loadRead
		runs     int
		events   int
		failures []string
	)
	b.ResetTimer()
	cpu0, sysw0 := ts.cost()
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
				runs++
				events += len(r.at)
			}()
		}
		wg.Wait()
		cancel()
		if len(failures) > 0 {
			b.Fatalf("%d of %d sessions failed; first: %s", len(failures), loadSessions, failures[0])
		}
	}
	elapsed := time.Since(t0)
	cpu1, sysw1 := ts.cost()
	b.StopTimer()
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
	// (which decode and check every event) together; apart, the server
	// alone. write-calls counts every write system call: the server's
	// socket writes, the Go runtime's wake-ups (and in process the clients'
	// start messages).
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(events), "cpu-ms/1k-events")
	b.ReportMetric(float64(sysw1-sysw0)/float64(events), "write-calls/event")
	b.ReportMetric(0, "ns/op")
}

// loadRead is what one session read: the time each seq of its run reached
// it (zero for seqs a merged delta stood for).
type loadRead struct {
	id string
	at []time.Time
}

// loadSession dials, runs once, checks the stream and returns when each
// event was read.
func loadSession(ctx context.Context, url, id string, seed int64) (loadRead, error) {
	r := loadRead{id: id}
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
	var evs []protocol.Event
	want := int64(0)
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return r, fmt.Errorf("after %d events: %w", len(evs), err)
		}
		read := time.Now()
		ev, err := protocol.Decode(msg)
		if err != nil {
			return r, err
		}
		if ev.RunID != id {
			return r, fmt.Errorf("an event of run %q on this connection", ev.RunID)
		}
		if ev.Seq != want+protocol.Span(ev)-1 {
			return r, fmt.Errorf("event seq %d, want %d: lost, duplicated or reordered", ev.Seq, want)
		}
		for len(r.at) < int(ev.Seq) {
			r.at = append(r.at, time.Time{})
		}
		r.at = append(r.at, read)
		want = ev.Seq + 1
		evs = append(evs, ev)
		if ev.Type == protocol.TypeRunDone || ev.Type == protocol.TypeError {
			break
		}
	}
	film, err := render.Rebuild(evs)
	if err != nil {
		return r, err
	}
	if film.Done == nil {
		return r, fmt.Errorf("the run failed: %+v", film.Failure)
	}
	return r, nil
}

// apart starts TestLoadServerProcess in a process of its own and talks to
// it over its standard input and output: the first line it prints is its
// URL; "sync" makes it print every emit time since the last ("run seq
// unix-nanoseconds" lines, then "end"); "written" every emit-to-written
// time in nanoseconds (then "end"); "cost" its CPU time and write calls.
func apart(b *testing.B) *loadTarget {
	args := strings.Fields(os.Getenv("TWIG_LOAD_SERVER_CMD"))
	args = append(args, os.Args[0], "-test.run=^TestLoadServerProcess$", "-test.count=1")
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), "TWIG_LOAD_SERVER=1")
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
	return &loadTarget{ws: url, log: log,
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
		cost: func() (time.Duration, int64) {
			ask("cost")
			var cpu, w int64
			if _, err := fmt.Sscan(line(), &cpu, &w); err != nil {
				b.Fatal(err)
			}
			return time.Duration(cpu), w
		}}
}

// TestLoadServerProcess is the server of BenchmarkServeLoad/scripted-apart;
// it runs only when that benchmark starts it (TWIG_LOAD_SERVER=1).
func TestLoadServerProcess(t *testing.T) {
	if os.Getenv("TWIG_LOAD_SERVER") != "1" {
		t.Skip("the server process of BenchmarkServeLoad/scripted-apart")
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
	ts := newServer(t, loadOptions(newFake(24, 0).backend(), server.DefaultLimits().MaxActive, onEmit, onWrite))
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
			cpu, sysw := processCost(t)
			fmt.Fprintln(w, int64(cpu), sysw)
		}
		w.Flush()
	}
	// the benchmark closed its end: exit now, without waiting for the
	// connections it may have left open
	os.Exit(0)
}

// processCost returns the process's CPU time (user + system) and its number
// of write system calls so far (Linux's /proc/self/io; 0 elsewhere).
func processCost(t testing.TB) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		t.Fatal(err)
	}
	cpu := time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	io, err := os.ReadFile("/proc/self/io")
	if err != nil {
		return cpu, 0
	}
	for line := range strings.Lines(string(io)) {
		if v, ok := strings.CutPrefix(line, "syscw:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(v), 10, 64)
			return cpu, n
		}
	}
	return cpu, 0
}
