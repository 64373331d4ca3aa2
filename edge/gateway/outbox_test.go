package gateway

import (
	"errors"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

func ev(run string, seq int64, p protocol.Payload) protocol.Event {
	return protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: run, Seq: seq, Payload: p}
}

// The outbound policy: queue, then merge deltas when behind, then refuse.
func TestOutboxPolicy(t *testing.T) {
	o := newOutbox(Limits{QueueMessages: 6, CoalesceAt: 2, MaxCoalescedBytes: 8}.withDefaults())
	push := func(e protocol.Event) error { t.Helper(); return o.push(e) }
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(push(ev("a", 0, &protocol.RunStarted{})))
	must(push(ev("a", 1, &protocol.ThoughtDelta{Band: 0, Text: "ab"})))  // 2 queued: behind from now on
	must(push(ev("a", 2, &protocol.ThoughtDelta{Band: 0, Text: "cd"})))  // merged into seq 1
	must(push(ev("b", 0, &protocol.ThoughtDelta{Band: 0, Text: "xy"})))  // another stream: queued
	must(push(ev("a", 3, &protocol.ThoughtDelta{Band: 0, Text: "ef"})))  // merged: a's last queued message is still its delta
	must(push(ev("a", 4, &protocol.ThoughtDelta{Band: 0, Text: "ghi"}))) // over 8 bytes: queued
	must(push(ev("a", 5, &protocol.ThoughtDelta{Band: 1, Text: "j"})))   // another band: queued
	if n := o.len(); n != 5 {
		t.Fatalf("%d queued, want 5", n)
	}
	must(push(ev("a", 6, &protocol.BandProgress{Band: 1})))
	if err := push(ev("a", 7, &protocol.BandProgress{Band: 1})); !errors.Is(err, errQueueFull) {
		t.Fatalf("push into a full queue: %v, want errQueueFull", err)
	}
	want := []struct {
		run       string
		seq       int64
		text      string
		coalesced int
	}{{"a", 0, "", 0}, {"a", 3, "abcdef", 3}, {"b", 0, "xy", 0}, {"a", 4, "ghi", 0}, {"a", 5, "j", 0}, {"a", 6, "", 0}}
	for i, w := range want {
		e, ok := o.next()
		if !ok {
			t.Fatalf("message %d missing", i)
		}
		text, co := "", 0
		if d, ok := e.Payload.(*protocol.ThoughtDelta); ok {
			text, co = d.Text, d.Coalesced
		}
		if e.RunID != w.run || e.Seq != w.seq || text != w.text || co != w.coalesced {
			t.Errorf("message %d: %s seq %d %q ×%d, want %s seq %d %q ×%d", i, e.RunID, e.Seq, text, co, w.run, w.seq, w.text, w.coalesced)
		}
	}
	// a delta never merges into a message the writer already took
	must(push(ev("a", 7, &protocol.ThoughtDelta{Band: 1, Text: "k"})))
	o.close(4001, "slow", false)
	if _, ok := o.next(); ok {
		t.Fatal("a dropping close still hands out messages")
	}
	if err := push(ev("a", 8, &protocol.BandDone{})); !errors.Is(err, errClosed) {
		t.Fatalf("push after close: %v", err)
	}
	if code, reason := o.closeInfo(); code != 4001 || reason != "slow" {
		t.Fatalf("close info %d %q", code, reason)
	}
}

// A flushing close hands out what is queued, then stops.
func TestOutboxFlush(t *testing.T) {
	o := newOutbox(DefaultLimits())
	o.push(ev("a", 0, &protocol.RunStarted{}))
	o.push(ev("a", 1, &protocol.RunDone{}))
	o.close(1001, "bye", true)
	for i := 0; i < 2; i++ {
		if _, ok := o.next(); !ok {
			t.Fatalf("message %d not flushed", i)
		}
	}
	if _, ok := o.next(); ok {
		t.Fatal("more than was queued")
	}
}
