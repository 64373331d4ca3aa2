package sandbox

import (
	"fmt"
	"slices"
	"time"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/wasm/abi"
)

// MaxCanvasPixels bounds a sandboxed run's canvas (1024×1024, 4 MiB).
const MaxCanvasPixels = 1 << 20

// emit takes one event from the guest: the host owns the envelope (v,
// run_id, seq, t_ms are set here, whatever the guest wrote) and the
// timings of run_done (the guest has no clock: they are the host's time in
// each role). It returns abi.StatusRefused once the sink has refused one.
func (r *run) emit(data []byte) (refused bool, _ *Error) {
	if len(data) > r.cfg.MaxMessageBytes {
		return false, errorf(KindEventBytes, "emit_event: an event of %d bytes is over the %d-byte limit (Config.MaxMessageBytes)", len(data), r.cfg.MaxMessageBytes)
	}
	r.eventBytes += int64(len(data))
	if r.eventBytes > r.cfg.MaxEventBytes {
		return false, errorf(KindEventBytes, "the run emitted more than %d bytes of events (Config.MaxEventBytes); a twig run needs a few tens of KiB", r.cfg.MaxEventBytes)
	}
	if r.sinkErr != nil {
		return true, nil
	}
	if r.final != "" {
		return false, errorf(KindABI, "emit_event: an event after the stream's final %s event", r.final)
	}
	var payload protocol.Payload
	if len(data) > 0 && data[0] != '{' && r.abi != abi.Version1 {
		p, err := abi.DecodeEvent(data)
		if err != nil {
			return false, errorf(KindABI, "emit_event: not a twig event frame: %v", err)
		}
		payload = p
	} else {
		ev, err := protocol.Decode(data)
		if err != nil {
			return false, errorf(KindABI, "emit_event: not a twig event: %v", err)
		}
		if u, ok := ev.Payload.(*protocol.Unknown); ok {
			return false, errorf(KindABI, "emit_event: unknown event type %q (this host speaks %s)", u.Type, protocol.Version)
		}
		payload = ev.Payload
	}
	// A guest's painter is the host's, through role calls: its canvas is at
	// most MaxCanvasPixels. An event that claims a larger one is forged, and
	// would cost the host the picture's memory; twig/1's pixel rows are not
	// this host's wire.
	switch p := payload.(type) {
	case *protocol.RunStarted:
		if p.Width*p.Height > MaxCanvasPixels || p.Width > 4096 || p.Height > 4096 {
			return false, errorf(KindABI, "emit_event: run_started claims a %d×%d canvas, over the %d pixels a sandboxed run paints", p.Width, p.Height, MaxCanvasPixels)
		}
	case *protocol.BandProgress:
		if p.Pixels != nil || p.PNG != "" && p.Rows.End <= p.Rows.Start {
			return false, errorf(KindABI, "emit_event: band_progress carries pixels without twig/2 rows; send strips (rows, png)")
		}
		if p.PNG == "" && r.abi != abi.Version1 {
			// An ABI 2 guest leaves the PNG of the strip the painter just
			// sent it to the host, which has the strip: its pixels are the
			// event's (fold takes them, and the PNG is encoded when the
			// event is serialized, as in a native run).
			s := r.strip
			if s.Pix == nil || s.Rows != p.Rows || !slices.Equal(s.Tokens, p.Tokens) {
				return false, errorf(KindABI, "emit_event: band_progress rows [%d,%d) without a png: only the strip the painter just sent (same rows and tokens) may leave its png to the host", p.Rows.Start, p.Rows.End)
			}
			r.strip = canvas.Strip{}
			p.SetPNGSource(s)
		}
	case *protocol.RunDone:
		if p.PNG == "" && r.fold.Canvas != nil {
			// An ABI 2 guest leaves the final canvas's PNG to the host: the
			// canvas folded from its events is the one it painted, and it
			// is encoded (natively) when the event is serialized, from a
			// copy (the result's canvas is the caller's): the last
			// request's when no event changed the canvas since, as in a
			// native run.
			p.SetPNGSource(r.sharedCanvas().Whole())
		}
	}
	r.track(payload)
	return r.send(payload) != nil, nil
}

// send stamps a payload with the run's envelope and hands it to the sink.
func (r *run) send(p protocol.Payload) error {
	if r.sinkErr != nil {
		return r.sinkErr
	}
	switch p := p.(type) {
	case *protocol.RunDone:
		p.Stats.Timings = r.timings()
		r.final = protocol.TypeRunDone
	case *protocol.Error:
		r.final, r.failCode, r.failMsg = protocol.TypeError, p.Code, p.Message
	}
	ev := protocol.Event{V: protocol.Version, Type: p.EventType(), RunID: r.spec.RunID, Seq: r.seq,
		TMs: time.Since(r.start).Milliseconds(), Payload: p}
	r.seq++
	if r.sink == nil {
		return nil
	}
	if err := r.sink(ev); err != nil {
		r.sinkErr = &engine.Error{Code: protocol.CodeSink, Band: -1,
			Err: fmt.Errorf("the event consumer refused a %s event: %w", ev.Type, err)}
		return r.sinkErr
	}
	return nil
}

// track keeps the run's result as the events describe it (package fold,
// the one reading of a stream), so a failed run returns its partial canvas
// like a native one, and role requests without a canvas get the run's. An
// event the fold refuses (a guest's forged stream) changes nothing.
func (r *run) track(p protocol.Payload) {
	f := r.fold
	switch p.(type) {
	case *protocol.RunStarted, *protocol.BandProgress, *protocol.BandRedrawn:
		r.reqCanvas = nil // the events that change the canvas
	}
	if f.ApplyPayload(p) != nil {
		return
	}
	res := &r.result
	res.Canvas, res.Tokens = f.Canvas, nil
	if f.Canvas != nil && f.Canvas.AllTokens() {
		res.Tokens = f.Canvas.Tokens
	}
	if d := f.Done; d != nil {
		// The fold's canvas is the caller's now: nothing folds after run_done.
		if d.Tokens != nil {
			res.Tokens = slices.Clone(d.Tokens)
		}
		res.Thoughts, res.Bands, res.Stats = d.Thoughts, d.Bands, d.Stats
		return
	}
	res.Thoughts, res.Bands = res.Thoughts[:0], res.Bands[:0]
	for _, b := range f.Bands {
		if b.Drawn {
			res.Thoughts = append(res.Thoughts, b.Thought)
			res.Bands = append(res.Bands, b.Rows)
		}
	}
}

// timings are the host's times in each role and since the run started;
// plan reviews count as thinking, as in a native run.
func (r *run) timings() protocol.Timings {
	ms := func(role int) int64 { return r.roleTime[role].Milliseconds() }
	return protocol.Timings{ThinkMs: ms(abi.RoleThink) + ms(abi.RoleReview), PaintMs: ms(abi.RolePaint),
		CritiqueMs: ms(abi.RoleCritique), DecideMs: ms(abi.RoleDecide),
		TotalMs: time.Since(r.start).Milliseconds()}
}
