package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/textutil"
)

// The OpenAI-compatible endpoints. Model ids: every id plays the role its
// name says; "twig" is the thinker on chat and the painter on images.
const (
	ModelTwig    = "twig"
	ModelThinker = "twig-thinker"
	ModelCritic  = "twig-critic"
	ModelPainter = "twig-painter"
)

// ModelIDs lists the model ids of GET /v1/models.
func ModelIDs() []string { return []string{ModelTwig, ModelThinker, ModelCritic, ModelPainter} }

// apiError is an HTTP error in OpenAI's shape.
type apiError struct {
	status int
	code   string
	param  string
	msg    string
}

func (e *apiError) Error() string { return e.msg }

func badRequest(code, param, format string, a ...any) *apiError {
	return &apiError{status: http.StatusBadRequest, code: code, param: param, msg: fmt.Sprintf(format, a...)}
}

// writeAPIError answers {"error":{"message","type","param","code"}}.
func writeAPIError(w http.ResponseWriter, status int, code, param, msg string) {
	typ := "invalid_request_error"
	switch {
	case status == http.StatusUnauthorized:
		typ = "authentication_error"
	case status == http.StatusForbidden:
		typ = "permission_error"
	case status == http.StatusTooManyRequests:
		typ = "rate_limit_error"
	case status >= 500:
		typ = "server_error"
	}
	var p any
	if param != "" {
		p = param
	}
	writeJSON(w, status, map[string]any{"error": map[string]any{"message": msg, "type": typ, "param": p, "code": code}})
}

func (e *apiError) write(w http.ResponseWriter) { writeAPIError(w, e.status, e.code, e.param, e.msg) }

// statusOf maps a run's or call's error code to an HTTP status.
func statusOf(code string) int {
	switch code {
	case "invalid_request":
		return http.StatusBadRequest
	case "canceled":
		return 499 // client closed request
	case "deadline_exceeded":
		return http.StatusGatewayTimeout
	case "too_many_requests":
		return http.StatusTooManyRequests
	case "draining":
		return http.StatusServiceUnavailable
	}
	return http.StatusInternalServerError
}

// checkFields refuses a JSON object with a field outside allowed (explicit
// nulls are taken as absent) and returns its fields.
func checkFields(b []byte, where string, allowed ...string) (map[string]json.RawMessage, *apiError) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil || m == nil {
		msg := "not a JSON object"
		if err != nil {
			msg = textutil.OneLine(err.Error())
		}
		return nil, badRequest("invalid_json", "", "%s: %s", where, msg)
	}
	var bad []string
	for k, v := range m {
		if bytes.Equal(bytes.TrimSpace(v), []byte("null")) {
			delete(m, k)
			continue
		}
		if !slices.Contains(allowed, k) {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		slices.Sort(bad)
		return nil, badRequest("unsupported_parameter", bad[0], "%s: %q is not supported by twig (supported: %s); see docs/PROTOCOL.md",
			where, bad[0], strings.Join(allowed, ", "))
	}
	return m, nil
}

// field decodes one field of a checked object into v.
func field(m map[string]json.RawMessage, name string, v any) *apiError {
	raw, ok := m[name]
	if !ok {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return badRequest("invalid_type", name, "%q: %s", name, textutil.OneLine(err.Error()))
	}
	return nil
}

// models serves GET /v1/models.
func (a *apiHandler) models(w http.ResponseWriter, r *http.Request) {
	// The extension "twig" of the models that draw (twig, twig-painter):
	// the canvas the server's painter paints, on which a client playing a
	// run through POST /v1/calls (a remote twig chain) cuts its bands.
	type ext struct {
		Canvas protocol.Canvas `json:"canvas"`
	}
	type model struct {
		ID      string `json:"id"`
		Object  string `json:"object"`
		Created int64  `json:"created"`
		OwnedBy string `json:"owned_by"`
		Twig    *ext   `json:"twig,omitempty"`
	}
	g := Geometry(a.g.Backend())
	var data []model
	for _, id := range ModelIDs() {
		m := model{ID: id, Object: "model", Created: 0, OwnedBy: "twig"}
		if id == ModelTwig || id == ModelPainter {
			m.Twig = &ext{Canvas: protocol.Canvas{Width: g.Width, Height: g.Height, Grid: g.Grid, Unit: g.Unit}}
		}
		data = append(data, m)
	}
	writeJSON(w, http.StatusOK, map[string]any{"object": "list", "data": data})
}

// strict decodes one JSON object into v, refusing unknown fields and
// trailing data.
func strict(b []byte, v any) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		return err
	}
	if d.More() {
		return fmt.Errorf("trailing data after the JSON object")
	}
	return nil
}
