package gateway

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/twig-project/twig/core/protocol"
)

// FuzzAppendEvent: the writer's encoder gives exactly the bytes of
// protocol.Event's MarshalJSON for every event Decode accepts, reusing its
// buffers (the same encoder encodes every input, appending to one buffer).
// Seeds in testdata/fuzz/FuzzAppendEvent (protocol's FuzzDecode corpus).
func FuzzAppendEvent(f *testing.F) {
	f.Add([]byte(`{"v":"twig/2","type":"thought_delta","run_id":"r<1>&\"é\u2028","seq":3,"t_ms":9,"band":0,"text":"a <b> & \"c\"\n\u00e9\u2028"}`))
	f.Add([]byte(`{"v":"twig/2","type":"run_done","run_id":"","seq":0,"t_ms":0}`))
	enc := newEventEncoder()
	var buf []byte
	f.Fuzz(func(t *testing.T, line []byte) {
		ev, err := protocol.Decode(line)
		if err != nil {
			return
		}
		want, werr := json.Marshal(ev)
		start := len(buf)
		got, gerr := enc.appendEvent(buf, ev)
		if (werr == nil) != (gerr == nil) {
			t.Fatalf("%s: json.Marshal error %v, appendEvent error %v", line, werr, gerr)
		}
		if werr != nil {
			return
		}
		if !bytes.Equal(got[start:], want) {
			t.Fatalf("appendEvent differs from MarshalJSON:\n got %s\nwant %s", got[start:], want)
		}
		if len(got) > 1<<16 {
			got = got[:0]
		}
		buf = got
	})
}

func TestAppendEventRejects(t *testing.T) {
	enc := newEventEncoder()
	for _, ev := range []protocol.Event{{RunID: "r"}, {RunID: "r", Payload: &protocol.Unknown{Type: "x"}}} {
		if _, err := enc.appendEvent(nil, ev); err == nil {
			t.Errorf("%+v: no error", ev)
		}
	}
}

// TestNextBatch: the writer takes what waits, in order, at most max at a
// time, and a taken delta is not merged into any more.
func TestNextBatch(t *testing.T) {
	o := newOutbox(Limits{QueueMessages: 100, CoalesceAt: 1, MaxCoalescedBytes: 100})
	delta := func(seq int64, text string) protocol.Event {
		return protocol.Event{RunID: "r", Seq: seq, Type: protocol.TypeThoughtDelta, Payload: &protocol.ThoughtDelta{Text: text}}
	}
	for i := range 5 {
		if err := o.push(delta(int64(i), "w")); err != nil {
			t.Fatal(err)
		}
	}
	// CoalesceAt 1: the last four merged into the first
	evs, ok := o.nextBatch(nil, 10)
	if !ok || len(evs) != 1 || evs[0].Payload.(*protocol.ThoughtDelta).Text != "wwwww" || evs[0].Seq != 4 {
		t.Fatalf("got %d events %+v, want one merged delta ending at seq 4", len(evs), evs)
	}
	o.push(delta(5, "x")) // not merged into the taken one
	o.push(protocol.Event{RunID: "r", Seq: 6, Type: protocol.TypeRunDone, Payload: &protocol.RunDone{}})
	o.push(protocol.Event{RunID: "s", Seq: 0, Type: protocol.TypeRunDone, Payload: &protocol.RunDone{}})
	evs, ok = o.nextBatch(evs[:0], 2)
	if !ok || len(evs) != 2 || evs[0].Seq != 5 || evs[0].Payload.(*protocol.ThoughtDelta).Text != "x" || evs[1].Seq != 6 {
		t.Fatalf("got %+v, want seq 5 (x) and 6", evs)
	}
	evs, ok = o.nextBatch(evs[:0], 2)
	if !ok || len(evs) != 1 || evs[0].RunID != "s" {
		t.Fatalf("got %+v, want run s's run_done", evs)
	}
	o.close(0, "", true)
	if _, ok := o.nextBatch(nil, 2); ok {
		t.Fatal("a closed, empty outbox gave a batch")
	}
}
