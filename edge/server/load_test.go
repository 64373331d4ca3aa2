package server_test

import (
	"context"
	"fmt"
	"os"
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
	"github.com/twig-project/twig/core/render"
	"github.com/twig-project/twig/edge"
	"github.com/twig-project/twig/edge/server"
)

// The load benchmark: loadSessions websocket sessions on loopback, all at
// once, each doing one full run per iteration. Every stream is checked (no
// event lost, duplicated or out of order; it rebuilds into its final
// canvas) and every event's latency is measured from the engine emitting it
// (the gateway's OnEmit) to the client reading it (p50, p99), and to the
// gateway having written it to the socket (p99-written: the gateway's own
// share, without the client's scheduling). An iteration that takes
// longer than loadTimeout fails.
const (
	loadSessions = 200
	loadTimeout  = 3 * time.Minute
)

func BenchmarkServeLoad(b *testing.B) {
	active := server.DefaultLimits().MaxActive
	b.Run("tiny-model", func(b *testing.B) { benchLoad(b, tinyModel(b), active) })
	// the same traffic from a scripted backend that costs no model time:
	// what the gateway itself adds
	b.Run("scripted", func(b *testing.B) { benchLoad(b, newFake(24, 0).backend(), active) })
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

func benchLoad(b *testing.B, backend engine.Backend, active int) {
	log := &emitLog{runs: map[string][]time.Time{}}
	var wmu sync.Mutex
	var written []time.Duration // emit → written to the socket (the gateway's own share)
	onWrite := func(ev protocol.Event) {
		now := time.Now()
		if at, _ := log.at(ev.RunID, ev.Seq); !at.IsZero() {
			wmu.Lock()
			written = append(written, now.Sub(at))
			wmu.Unlock()
		}
	}
	ts := newServer(b, server.Options{Backend: backend, OnEmit: log.add, OnWrite: onWrite,
		Limits: edge.Limits{MaxConnsPerAddr: 4 * loadSessions, MaxInFlightPerAddr: 4 * loadSessions, MaxActive: active}})
	var (
		mu       sync.Mutex
		lat      []time.Duration
		runs     int
		events   int
		failures []string
	)
	b.ResetTimer()
	cpu0, sysw0 := processCost(b)
	t0 := time.Now()
	for it := 0; it < b.N; it++ {
		ctx, cancel := context.WithTimeout(context.Background(), loadTimeout)
		var wg sync.WaitGroup
		for s := 0; s < loadSessions; s++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				id := fmt.Sprintf("i%d-s%d", it, s)
				l, n, err := loadSession(ctx, ts.ws, id, int64(it*loadSessions+s+1), log)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					failures = append(failures, fmt.Sprintf("%s: %v", id, err))
					return
				}
				lat = append(lat, l...)
				runs++
				events += n
			}()
		}
		wg.Wait()
		cancel()
		if len(failures) > 0 {
			b.Fatalf("%d of %d sessions failed; first: %s", len(failures), loadSessions, failures[0])
		}
	}
	elapsed := time.Since(t0)
	cpu1, sysw1 := processCost(b)
	b.StopTimer()
	slices.Sort(lat)
	slices.Sort(written)
	q := func(d []time.Duration, p float64) float64 {
		return float64(d[int(p*float64(len(d)-1))].Microseconds()) / 1000
	}
	b.ReportMetric(q(lat, 0.50), "p50-ms")
	b.ReportMetric(q(lat, 0.99), "p99-ms")
	b.ReportMetric(q(written, 0.99), "p99-written-ms")
	b.ReportMetric(float64(runs)/elapsed.Seconds(), "runs/s")
	b.ReportMetric(float64(events)/elapsed.Seconds(), "events/s")
	// Per event, the whole process: the server and the load generator's 200
	// clients (which decode and check every event) share it. write-calls
	// counts every write system call: the server's socket writes, the
	// clients' start messages, the Go runtime's wake-ups.
	b.ReportMetric(float64((cpu1-cpu0).Microseconds())/float64(events), "cpu-ms/1k-events")
	b.ReportMetric(float64(sysw1-sysw0)/float64(events), "write-calls/event")
	b.ReportMetric(0, "ns/op")
}

// loadSession dials, runs once, checks the stream and returns each event's
// emit-to-read latency and the number of events.
func loadSession(ctx context.Context, url, id string, seed int64, log *emitLog) ([]time.Duration, int, error) {
	c, _, err := websocket.DefaultDialer.DialContext(ctx, url, nil)
	if err != nil {
		return nil, 0, err
	}
	defer c.Close()
	if dl, ok := ctx.Deadline(); ok {
		c.SetReadDeadline(dl)
	}
	if _, _, err := c.ReadMessage(); err != nil { // hello
		return nil, 0, err
	}
	s := protocol.DefaultSettings()
	s.Seed = seed
	if err := c.WriteJSON(start(id, "a red circle above a blue square", s)); err != nil {
		return nil, 0, err
	}
	var lat []time.Duration
	var evs []protocol.Event
	want := int64(0)
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return nil, 0, fmt.Errorf("after %d events: %w", len(evs), err)
		}
		read := time.Now()
		ev, err := protocol.Decode(msg)
		if err != nil {
			return nil, 0, err
		}
		if ev.RunID != id {
			return nil, 0, fmt.Errorf("an event of run %q on this connection", ev.RunID)
		}
		if ev.Seq != want+protocol.Span(ev)-1 {
			return nil, 0, fmt.Errorf("event seq %d, want %d: lost, duplicated or reordered", ev.Seq, want)
		}
		want = ev.Seq + 1
		emitted, _ := log.at(id, ev.Seq)
		if emitted.IsZero() {
			return nil, 0, fmt.Errorf("event seq %d was never emitted", ev.Seq)
		}
		lat = append(lat, read.Sub(emitted))
		evs = append(evs, ev)
		if ev.Type == protocol.TypeRunDone || ev.Type == protocol.TypeError {
			break
		}
	}
	if _, n := log.at(id, 0); int64(n) != want {
		return nil, 0, fmt.Errorf("the engine emitted %d events, the client read up to seq %d", n, want-1)
	}
	film, err := render.Rebuild(evs)
	if err != nil {
		return nil, 0, err
	}
	if film.Done == nil {
		return nil, 0, fmt.Errorf("the run failed: %+v", film.Failure)
	}
	return lat, len(evs), nil
}

// processCost returns the process's CPU time (user + system) and its number
// of write system calls so far (Linux's /proc/self/io; 0 elsewhere).
func processCost(b *testing.B) (time.Duration, int64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
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
