package webhost

import (
	"bytes"
	"context"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/kernels"
	"github.com/twig-project/twig/internal/render"
)

const tinyWeights = "../../core/model/testdata/tiny.safetensors"

func loadTiny(t *testing.T) (*Host, []byte) {
	t.Helper()
	data, err := os.ReadFile(tinyWeights)
	if err != nil {
		t.Fatal(err)
	}
	h := NewHost()
	info, err := h.LoadWeights(data)
	if err != nil {
		t.Fatal(err)
	}
	if info.Bytes != len(data) || info.Version != 1 || info.Params == 0 {
		t.Fatalf("info %+v", info)
	}
	return h, data
}

// collect runs req and returns its decoded events.
func collect(t *testing.T, h *Host, ctx context.Context, req DrawRequest) ([]protocol.Event, []byte) {
	t.Helper()
	var trace bytes.Buffer
	var events []protocol.Event
	h.Draw(ctx, req, func(b []byte) {
		ev, err := protocol.Decode(b)
		if err != nil {
			t.Fatalf("event %s: %v", b, err)
		}
		events = append(events, ev)
		trace.Write(b)
		trace.WriteByte('\n')
	})
	return events, trace.Bytes()
}

func TestHostDrawAndFiles(t *testing.T) {
	h, _ := loadTiny(t)
	s := protocol.DefaultSettings()
	s.Seed, s.Threshold = 3, 100
	events, trace := collect(t, h, context.Background(), DrawRequest{RunID: "r1", Prompt: "a red circle above a blue square", Settings: s, Backend: BackendCPU})
	last := events[len(events)-1]
	done, ok := last.Payload.(*protocol.RunDone)
	if !ok {
		t.Fatalf("last event %s %+v, want run_done", last.Type, last.Payload)
	}
	if events[0].RunID != "r1" {
		t.Errorf("run id %q, want r1", events[0].RunID)
	}
	if st := events[0].Payload.(*protocol.RunStarted); !strings.Contains(st.Backend, "CPU") {
		t.Errorf("run_started backend %q does not say CPU", st.Backend)
	}
	if _, err := render.Rebuild(events); err != nil {
		t.Fatal(err)
	}
	png, err := PNG(done.Tokens)
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
		t.Fatalf("PNG: %v %q", err, png[:min(8, len(png))])
	}
	gif, err := GIF(trace)
	if err != nil || !bytes.HasPrefix(gif, []byte("GIF8")) {
		t.Fatalf("GIF: %v", err)
	}
	if _, err := PNG([]int{1, 2}); err == nil {
		t.Error("PNG of 2 tokens: no error")
	}
}

func TestHostCancel(t *testing.T) {
	h, _ := loadTiny(t)
	var once sync.Once
	var events []protocol.Event
	h.Draw(context.Background(), DrawRequest{RunID: "c1", Prompt: "a red circle"}, func(b []byte) {
		ev, _ := protocol.Decode(b)
		events = append(events, ev)
		if ev.Type == protocol.TypeBandProgress {
			once.Do(func() {
				if !h.Cancel("c1") {
					t.Error("Cancel(c1) = false during the run")
				}
			})
		}
	})
	last := events[len(events)-1].Payload
	if e, ok := last.(*protocol.Error); !ok || e.Code != protocol.CodeCanceled {
		t.Fatalf("last event %+v, want error canceled", last)
	}
	if h.Cancel("c1") {
		t.Error("Cancel(c1) = true after the run")
	}
}

func TestHostErrors(t *testing.T) {
	h := NewHost()
	events, _ := collect(t, h, context.Background(), DrawRequest{RunID: "x", Prompt: "a red circle"})
	if e, ok := events[0].Payload.(*protocol.Error); len(events) != 1 || !ok || !strings.Contains(e.Message, "not loaded") {
		t.Fatalf("draw without weights: %+v", events)
	}
	h, data := loadTiny(t)
	events, _ = collect(t, h, context.Background(), DrawRequest{Prompt: "a red circle", Backend: BackendGPU})
	if e, ok := events[0].Payload.(*protocol.Error); !ok || !strings.Contains(e.Message, "WebGPU is not available") {
		t.Fatalf("webgpu without accelerator: %+v", events[0].Payload)
	}

	bad := bytes.Clone(data)
	i := bytes.Index(bad, []byte(`\"version\":1`))
	if i < 0 {
		t.Fatal("no version in the tiny weights' header")
	}
	bad[i+len(`\"version\":`)] = '7'
	if _, err := h.LoadWeights(bad); err == nil || !strings.Contains(err.Error(), "format version 7") {
		t.Errorf("version 7: %v", err)
	}
	bad = bytes.Clone(data)
	bad[len(bad)-3] ^= 0x40
	if _, err := h.LoadWeights(bad); err == nil || !strings.Contains(err.Error(), "checksum mismatch") {
		t.Errorf("corrupt data: %v", err)
	}
}

func TestParse(t *testing.T) {
	if r := Parse("a red circle above a blue square"); !r.OK || r.Canonical == "" {
		t.Errorf("good prompt: %+v", r)
	}
	r := Parse("a red circel")
	if r.OK || r.Error == nil || r.Error.Word != "circel" || r.Error.Pos != 6 || len(r.Error.Suggestions) == 0 || r.Error.Suggestions[0] != "circle" {
		t.Errorf("unknown word: %+v %+v", r, r.Error)
	}
	r = Parse("a pink elephant")
	if r.OK || r.Error == nil || r.Error.Word != "pink" || len(r.Error.More) != 1 || r.Error.More[0].Word != "elephant" || r.Error.More[0].Hint == "" {
		t.Errorf("two bad words: %+v", r.Error)
	}
	if got := Humanize("rows 0 5 : new small solid red circle at 0 2", "a red circle"); got != "Rows 1–6: a small solid red circle starting at row 1, column 3 (size and stripes chosen by the model)" {
		t.Errorf("humanize: %q", got)
	}
	if len(Vocabulary()) < 30 {
		t.Error("vocabulary is short")
	}
}

// cpuMatVec stands in for WebGPU: the reference kernel.
type cpuMatVec struct{}

func (cpuMatVec) MatVec(out, x, w, bias []float32, k, n int) {
	kernels.MatMulTRef(out, x, w, 1, k, n)
	for i := range bias {
		out[i] += bias[i]
	}
}

func TestAcceleratorAndCompare(t *testing.T) {
	h, _ := loadTiny(t)
	info, err := h.SetAccelerator(cpuMatVec{}, "reference")
	if err != nil {
		t.Fatal(err)
	}
	if !info.Check.Agree || info.Check.Steps != autoCheckSteps || info.Why == "" {
		t.Fatalf("accelerator check %+v", info)
	}
	a, err := h.Compare(40)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("reference vs CPU kernels: matvec %.3g, logits %.3g (|logit| ≤ %.3g), argmax %d/%d",
		a.MatVecMaxAbsDiff, a.LogitsMaxAbsDiff, a.LogitsMaxAbs, a.ArgmaxAgree, a.Steps)
	if !a.Agree || a.ArgmaxAgree < a.Steps-1 {
		t.Errorf("compare %+v", a)
	}
	events, _ := collect(t, h, context.Background(), DrawRequest{Prompt: "a green square", Backend: BackendGPU})
	if st := events[0].Payload.(*protocol.RunStarted); !strings.Contains(st.Backend, "reference") {
		t.Errorf("backend %q", st.Backend)
	}
	if events[len(events)-1].Type != protocol.TypeRunDone {
		t.Errorf("accelerated run ended with %s", events[len(events)-1].Type)
	}
	if b, why := chooseAuto(Agreement{Agree: false, Tolerance: 1e-3, LogitsMaxAbsDiff: 1}); b != BackendCPU || !strings.Contains(why, "disagrees") {
		t.Errorf("disagreeing accelerator: auto %s (%s)", b, why)
	}
}
