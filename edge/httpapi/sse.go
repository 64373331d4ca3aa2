package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// sseWriter writes server-sent events: one "data:" line of JSON each.
type sseWriter struct {
	w        http.ResponseWriter
	f        http.Flusher
	deadline func()
}

func startSSE(w http.ResponseWriter) *sseWriter {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	s := &sseWriter{w: w, f: f, deadline: deadlineWriter(w)}
	s.flush()
	return s
}

func (s *sseWriter) send(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.raw(b)
}

func (s *sseWriter) raw(b []byte) error {
	s.deadline()
	if _, err := fmt.Fprintf(s.w, "data: %s\n\n", b); err != nil {
		return fmt.Errorf("%w: %v", gateway.ErrClientGone, err)
	}
	s.flush()
	return nil
}

func (s *sseWriter) flush() {
	if s.f != nil {
		s.f.Flush()
	}
}

// acquire takes one of the address's in-flight slots for an HTTP request.
func (a *apiHandler) acquire(w http.ResponseWriter, r *http.Request) (release func(), ok bool) {
	release, err := a.g.Acquire(ClientAddr(r))
	switch {
	case errors.Is(err, gateway.ErrDraining):
		writeAPIError(w, http.StatusServiceUnavailable, protocol.CodeDraining, "", "the server is shutting down and takes no new requests")
		return nil, false
	case err != nil:
		w.Header().Set("Retry-After", "1")
		writeAPIError(w, http.StatusTooManyRequests, protocol.CodeTooMany,
			"", fmt.Sprintf("your address has %d requests in flight, the limit: wait for one to end", a.g.Limits().MaxInFlightPerAddr))
		return nil, false
	}
	return release, true
}

// readMessage reads a body holding one client message, as on the websocket.
func (a *apiHandler) readMessage(w http.ResponseWriter, r *http.Request, want string) (protocol.Message, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, int64(a.g.Limits().MaxMessageBytes)))
	if err != nil {
		writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.g.Limits().MaxMessageBytes))
		return protocol.Message{}, false
	}
	m, err := protocol.DecodeMessage(b)
	if err != nil {
		code := protocol.CodeBadMessage
		if me, ok := errors.AsType[*protocol.MessageError](err); ok {
			code = me.Code
		}
		writeAPIError(w, http.StatusBadRequest, code, "", err.Error())
		return m, false
	}
	if m.Type != want {
		writeAPIError(w, http.StatusBadRequest, protocol.CodeUnknownType, "type", fmt.Sprintf("this endpoint takes a %q message, not %q", want, m.Type))
		return m, false
	}
	return m, true
}

// stream serves a POST whose body is a message of type typ and whose answer
// is server-sent events: it takes an in-flight slot for the address, bounds
// the request by the run timeout and hands play a relay to the client.
func (a *apiHandler) stream(w http.ResponseWriter, r *http.Request, typ string, play func(context.Context, protocol.Message, *gateway.Relay)) {
	m, ok := a.readMessage(w, r, typ)
	if !ok {
		return
	}
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), a.g.Limits().RunTimeout)
	defer cancel()
	out := startSSE(w)
	play(ctx, m, gateway.NewRelay(a.g.Limits(), func(ev protocol.Event) error { return out.send(ev) }))
}

// runs serves POST /v1/runs: the body is a start message; the answer is the
// run's events as server-sent events, ending with run_done or error.
func (a *apiHandler) runs(w http.ResponseWriter, r *http.Request) {
	a.stream(w, r, protocol.TypeStart, func(ctx context.Context, m protocol.Message, rel *gateway.Relay) {
		st := m.Body.(*protocol.Start)
		_, err := a.g.Draw(ctx, engine.RunSpec{Prompt: st.Prompt, Settings: st.Settings, RunID: m.ID}, rel.Push)
		werr := rel.Finish()
		a.g.Logger().Info("run ended", "request_id", RequestID(r.Context()), "run_id", m.ID, "code", codeOrOK(err), "via", "sse", "write_err", errString(werr))
	})
}

// calls serves POST /v1/calls: the body is a call message; the answer is
// the call's events as server-sent events, ending with call_done or error.
func (a *apiHandler) calls(w http.ResponseWriter, r *http.Request) {
	a.stream(w, r, protocol.TypeCall, func(ctx context.Context, m protocol.Message, rel *gateway.Relay) {
		c := m.Body.(*protocol.Call)
		st := gateway.NewStream(m.ID)
		var sendErr error
		done, err := a.g.Call(ctx, *c, func(p protocol.Payload) error {
			sendErr = rel.Push(st.Event(p))
			return sendErr
		})
		switch {
		case err == nil:
			rel.Push(st.Event(done))
		case sendErr == nil:
			rel.Push(st.Event(&protocol.Error{Code: gateway.ErrorCode(err), Message: textutil.OneLine(err.Error())}))
		}
		rel.Finish()
		a.g.Logger().Info("call ended", "request_id", RequestID(r.Context()), "run_id", m.ID, "role", c.Role, "code", codeOrOK(err),
			"ms", st.Ms(), "via", "sse")
	})
}

// writeTimeout bounds one write of an HTTP stream.
const writeTimeout = 10 * time.Second

// deadlineWriter sets a write deadline before each write of an HTTP stream,
// where the runtime supports it (net/http does; a Worker may not).
func deadlineWriter(w http.ResponseWriter) func() {
	rc := http.NewResponseController(w)
	return func() { rc.SetWriteDeadline(time.Now().Add(writeTimeout)) }
}

// unixNow is the "created" time of OpenAI objects.
func unixNow() int64 { return time.Now().Unix() }

func errString(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func codeOrOK(err error) string {
	if err == nil {
		return "ok"
	}
	return gateway.ErrorCode(err)
}

// oneLine flattens an error for a one-line message.
