// Package webhost is the logic of twig's browser build (wasm/js), free of
// syscall/js so it also runs (and is tested) natively: the model behind the
// CPU and the accelerated backend, runs and their cancellation, the prompt
// parser, and the files a page offers for download. wasm/js's main_js.go
// only moves values between it and JS; its gpu_js.go is the accelerator.
package webhost

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/model"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/nn"
	"github.com/twig-project/twig/internal/render"
	"github.com/twig-project/twig/internal/world/english"
	"github.com/twig-project/twig/internal/world/thought"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Backend names a draw request may ask for.
const (
	BackendAuto = "auto"   // the faster of the two, measured when the accelerator is set
	BackendCPU  = "cpu"    // the portable Go kernels, compiled to wasm
	BackendGPU  = "webgpu" // the decoder's products on WebGPU (Params.MatVec)
)

// Host holds one loaded model and the runs going on over it. Its methods may
// be called from several goroutines.
type Host struct {
	// Yield, when set, is called between rows and thought tokens at most
	// every YieldEvery, so that a single-threaded runtime (Go in a browser
	// worker) gets to deliver messages, e.g. a cancel, while a run computes.
	Yield      func()
	YieldEvery time.Duration

	mu      sync.Mutex
	cpu     *model.Model
	gpu     *model.Model // nil without an accelerator
	gpuName string
	auto    string // BackendCPU or BackendGPU
	info    WeightsInfo
	runs    map[string]context.CancelFunc
}

// NewHost returns a Host without a model.
func NewHost() *Host {
	return &Host{runs: map[string]context.CancelFunc{}, auto: BackendCPU, YieldEvery: 8 * time.Millisecond}
}

// WeightsInfo describes the loaded weights.
type WeightsInfo struct {
	// Model is the model's name (dimensions and size).
	Model string `json:"model"`
	// Bytes is the weight file's size.
	Bytes int `json:"bytes"`
	// Params is the number of parameters.
	Params int `json:"params"`
	// Version is the weight file's format version.
	Version int `json:"version"`
	// DefaultBands is the model's default number of bands.
	DefaultBands int `json:"default_bands"`
}

// LoadWeights decodes a weight file (model.Decode checks its format version
// and checksum) and makes it the model of later runs. A file of the wrong
// version or a corrupt one gives an error saying so and what to do.
func (h *Host) LoadWeights(data []byte) (WeightsInfo, error) {
	w, err := model.Decode(data)
	if err != nil {
		return WeightsInfo{}, fmt.Errorf("%w — the page needs twig weights of format version %d next to it: rebuild them with `make web`, then reload (the cached copy has been dropped)", err, model.FormatVersion)
	}
	m := model.New(w)
	info := WeightsInfo{Model: m.Name(), Bytes: len(data), Params: w.Params.NumParams(),
		Version: w.Config.Version, DefaultBands: w.Config.DefaultBands}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.cpu, h.gpu, h.auto, h.info = m, nil, BackendCPU, info
	return info, nil
}

// AccelInfo says what backend "webgpu" is and what auto chose.
type AccelInfo struct {
	// Name names the accelerated path, e.g. "WebGPU (google swiftshader)".
	Name string `json:"name"`
	// Check is its agreement with the CPU on a few products and decoder steps.
	Check Agreement `json:"check"`
	// Auto is the backend auto runs on: cpu or webgpu.
	Auto string `json:"auto"`
	// Why says why auto chose it.
	Why string `json:"why"`
}

// autoCheckSteps is the number of decoder steps SetAccelerator compares and times.
const autoCheckSteps = 6

// SetAccelerator makes backend "webgpu" run the decoder's products on mv
// (named e.g. "WebGPU (google swiftshader)"), checks it against the CPU and
// lets auto pick the faster of the two when they agree.
func (h *Host) SetAccelerator(mv nn.MatVec, name string) (AccelInfo, error) {
	h.mu.Lock()
	if h.cpu == nil {
		h.mu.Unlock()
		return AccelInfo{}, errors.New("twig: no weights loaded yet")
	}
	cpu, gpu := h.cpu, withMatVec(h.cpu, mv)
	h.mu.Unlock()
	a, err := compare(cpu.W.Params, gpu.W.Params, name, autoCheckSteps)
	if err != nil {
		return AccelInfo{}, err
	}
	auto, why := chooseAuto(a)
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cpu != cpu {
		return AccelInfo{}, errors.New("twig: the weights changed while the accelerator was checked")
	}
	h.gpu, h.gpuName, h.auto = gpu, name, auto
	return AccelInfo{Name: name, Check: a, Auto: auto, Why: why}, nil
}

// withMatVec returns a model sharing m's weights whose decoders use mv.
func withMatVec(m *model.Model, mv nn.MatVec) *model.Model {
	p := *m.W.Params
	p.MatVec = mv
	w := *m.W
	w.Params = &p
	g := model.New(&w)
	g.Sampling = m.Sampling
	return g
}

// named gives a backend the name recorded in run_started.
type named struct {
	*model.Model
	name string
}

func (n named) Name() string { return n.name }

// DrawRequest asks for one run.
type DrawRequest struct {
	// RunID names the run (the page makes it, so it can cancel before the first event).
	RunID string `json:"run_id"`
	// Prompt is what to draw.
	Prompt string `json:"prompt"`
	// Settings are the run's settings; missing fields take their defaults.
	Settings protocol.Settings `json:"settings"`
	// Backend is auto, cpu or webgpu ("" = auto).
	Backend string `json:"backend,omitempty"`
}

// backend resolves a request's backend name.
func (h *Host) backend(name string) (engine.Backend, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.cpu == nil {
		return nil, errors.New("twig: the model's weights are not loaded yet")
	}
	if name == "" || name == BackendAuto {
		name = h.auto
	}
	switch name {
	case BackendCPU:
		return named{h.cpu, h.cpu.Name() + " · CPU (wasm)"}, nil
	case BackendGPU:
		if h.gpu == nil {
			return nil, errors.New("twig: WebGPU is not available in this browser (no adapter, or it failed to start): choose the CPU backend")
		}
		return named{h.gpu, h.gpu.Name() + " · " + h.gpuName}, nil
	}
	return nil, fmt.Errorf("twig: unknown backend %q: use auto, cpu or webgpu", name)
}

// Draw plays one run, calling emit with each event's protocol JSON in order.
// The stream ends with run_done or error like every twig stream; a request
// that cannot start (no weights, bad backend) gets a lone error event. Draw
// returns when the run has ended.
func (h *Host) Draw(ctx context.Context, req DrawRequest, emit func([]byte)) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if req.RunID != "" {
		h.mu.Lock()
		h.runs[req.RunID] = cancel
		h.mu.Unlock()
		defer func() {
			h.mu.Lock()
			delete(h.runs, req.RunID)
			h.mu.Unlock()
		}()
	}
	last, start := time.Now(), time.Now()
	next, ended, runID := int64(0), false, req.RunID
	sink := func(ev protocol.Event) error {
		b, err := json.Marshal(ev)
		if err != nil {
			return err
		}
		emit(b)
		next, runID = ev.Seq+1, ev.RunID
		switch ev.Payload.(type) {
		case *protocol.RunDone, *protocol.Error:
			ended = true
		}
		if h.Yield != nil && time.Since(last) >= h.YieldEvery {
			switch ev.Payload.(type) {
			case *protocol.BandProgress, *protocol.ThoughtDelta, *protocol.Critique:
				h.Yield()
				last = time.Now()
			}
		}
		return nil
	}
	// A panic in a role (e.g. a lost GPU device) must not take the whole
	// wasm instance down: it ends this run's stream with an internal error.
	defer func() {
		if p := recover(); p != nil && !ended {
			_ = sink(protocol.Event{RunID: runID, Seq: next, TMs: time.Since(start).Milliseconds(),
				Payload: &protocol.Error{Code: protocol.CodeInternal, Message: fmt.Sprintf("twig: the run crashed: %v", p)}})
		}
	}()
	spec := engine.RunSpec{Prompt: req.Prompt, Settings: req.Settings, RunID: req.RunID}
	b, err := h.backend(req.Backend)
	if err != nil {
		ev := protocol.Event{RunID: req.RunID, Payload: &protocol.Error{Code: protocol.CodeBackend, Message: err.Error()}}
		_ = sink(ev)
		return
	}
	_, _ = engine.Draw(ctx, b, spec, sink)
}

// Cancel cancels a run by id; false when no such run is going on.
func (h *Host) Cancel(runID string) bool {
	h.mu.Lock()
	cancel, ok := h.runs[runID]
	h.mu.Unlock()
	if ok {
		cancel()
	}
	return ok
}

// ParseResult is what the page shows for a prompt.
type ParseResult struct {
	// OK is true when the prompt parses.
	OK bool `json:"ok"`
	// Canonical is the prompt as twig understands it (when OK).
	Canonical string `json:"canonical,omitempty"`
	// Error is why it does not parse (when not OK).
	Error *ParseError `json:"error,omitempty"`
}

// ParseError is english.ParseError on the wire.
type ParseError struct {
	// Message is the whole error in one line.
	Message string `json:"message"`
	// Reason is the error without its position and suggestions.
	Reason string `json:"reason"`
	// Word is the offending word ("" at the end of the prompt).
	Word string `json:"word"`
	// Pos is Word's byte offset in the prompt; -1 when the error is about the whole prompt.
	Pos int `json:"pos"`
	// Suggestions are the nearest known words.
	Suggestions []string `json:"suggestions,omitempty"`
	// Hint says what would work in Word's place (the colours, the shapes, the relations).
	Hint string `json:"hint,omitempty"`
	// More are the prompt's other unknown words, each as an error of its own.
	More []ParseError `json:"more,omitempty"`
}

// Parse checks a prompt with the world's parser.
func Parse(prompt string) ParseResult {
	spec, err := english.Parse(prompt)
	if err == nil {
		return ParseResult{OK: true, Canonical: english.Canonical(spec)}
	}
	pe := &ParseError{Message: err.Error(), Reason: err.Error(), Pos: -1}
	if e, ok := errors.AsType[*english.ParseError](err); ok {
		pe.Reason, pe.Word, pe.Pos, pe.Suggestions, pe.Hint = e.Msg, e.Word, e.Pos, e.Suggestions, e.Hint
		for _, m := range e.More {
			pe.More = append(pe.More, ParseError{Message: m.Msg, Reason: m.Msg, Word: m.Word, Pos: m.Pos, Suggestions: m.Suggestions, Hint: m.Hint})
		}
	}
	return ParseResult{Error: pe}
}

// Humanize turns a thought into plain English (thought.HumanizeFor), noting
// what the prompt left open when the prompt parses.
func Humanize(th, prompt string) string {
	if spec, err := english.Parse(prompt); err == nil {
		return thought.HumanizeFor(&spec, th)
	}
	return thought.HumanizeFor(nil, th)
}

// VocabEntry is english.VocabEntry on the wire.
type VocabEntry struct {
	Word    string `json:"word"`
	Kind    string `json:"kind"`
	Meaning string `json:"meaning"`
}

// Vocabulary lists the words and phrases prompts may use.
func Vocabulary() []VocabEntry {
	var out []VocabEntry
	for _, e := range english.Vocabulary() {
		out = append(out, VocabEntry{e.Word, e.Kind, e.Meaning})
	}
	return out
}

// PNG encodes a canvas as the picture people see.
func PNG(toks []int) ([]byte, error) {
	if len(toks) != tokens.Grid*tokens.Grid {
		return nil, fmt.Errorf("twig: a canvas has %d tokens, got %d", tokens.Grid*tokens.Grid, len(toks))
	}
	var b bytes.Buffer
	err := render.WritePNG(&b, tokens.Tokens(toks))
	return b.Bytes(), err
}

// GIF makes the animated GIF of a run from its events (JSONL, as in a trace).
func GIF(trace []byte) ([]byte, error) {
	events, err := protocol.ReadAll(bytes.NewReader(trace))
	if err != nil {
		return nil, err
	}
	film, err := render.Rebuild(events)
	if err != nil {
		return nil, err
	}
	var b bytes.Buffer
	err = render.WriteGIF(&b, film)
	return b.Bytes(), err
}

// Atlas returns the token tiles as RGBA pixels (render.Atlas).
func Atlas() (rgba []byte, side, cellPx, undrawn int) {
	a := render.Atlas()
	return a.Pix, a.Rect.Dx(), render.CellPx, render.AtlasUndrawn
}

// AutoBackend is the backend "auto" runs on now: the faster of the CPU and
// the accelerator, as measured when the accelerator was set.
func (h *Host) AutoBackend() string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.auto
}
