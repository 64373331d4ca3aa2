package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"image"
	stdpng "image/png"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
	"github.com/twig-project/twig/internal/world/tokens"
)

// Image endpoints: /v1/images/generations draws a whole picture with a TwiG
// run (thinking, painting, reflecting); /v1/images/edits redraws the rows a
// mask marks with the painter, thinking first when no thought is given.
var (
	generateFields = []string{"model", "prompt", "n", "size", "response_format", "output_format", "user", "twig"}
	editFields     = []string{"model", "prompt", "n", "size", "response_format", "output_format", "user", "twig", "image", "image[]", "mask"}
)

// maxImages caps n.
const maxImages = 4

// imageExt is the "twig" extension of the image endpoints (on edits, a
// form field holding this JSON).
type imageExt struct {
	Settings json.RawMessage `json:"settings"`
	Seed     *int64          `json:"seed"`
	Thought  *string         `json:"thought"`
	Thoughts *[]string       `json:"thoughts"`
	Band     *int            `json:"band"`
	Round    int             `json:"round"`
}

// imageQuery is what both image endpoints share.
type imageQuery struct {
	prompt   string
	n        int
	side     int
	asURL    bool
	settings protocol.Settings
	ext      imageExt
}

func (q *imageQuery) check(model, size, format, outFormat, twig string) *apiError {
	switch model {
	case "", ModelTwig, ModelPainter:
	case ModelThinker, ModelCritic:
		return badRequest("model_not_supported", "model", "%s writes text: use %s or %s for pictures", model, ModelTwig, ModelPainter)
	default:
		return &apiError{status: http.StatusNotFound, code: "model_not_found", param: "model",
			msg: fmt.Sprintf("model %q does not exist: use %s or %s", textutil.Clip(model, 60), ModelTwig, ModelPainter)}
	}
	if strings.TrimSpace(q.prompt) == "" {
		return badRequest("missing_parameter", "prompt", "prompt is required: say what to draw")
	}
	if len(q.prompt) > protocol.MaxPromptBytes {
		return badRequest("invalid_value", "prompt", "the prompt is %d bytes, over the limit of %d", len(q.prompt), protocol.MaxPromptBytes)
	}
	if q.n < 1 || q.n > maxImages {
		return badRequest("invalid_value", "n", "n must be 1 to %d", maxImages)
	}
	var aerr *apiError
	if q.side, aerr = pictureSide(size); aerr != nil {
		return aerr
	}
	switch format {
	case "", "b64_json":
	case "url":
		q.asURL = true // a data: URL: twig hosts no files
	default:
		return badRequest("invalid_value", "response_format", "response_format %q: use b64_json or url (a data: URL)", textutil.Clip(format, 60))
	}
	if outFormat != "" && outFormat != "png" {
		return badRequest("invalid_value", "output_format", "output_format %q: twig writes png", textutil.Clip(outFormat, 60))
	}
	if twig != "" {
		if err := strict([]byte(twig), &q.ext); err != nil {
			return badRequest("invalid_twig", "twig", "the twig extension: %s (fields: settings, seed, thought, thoughts, band, round)", textutil.OneLine(err.Error()))
		}
	}
	s, err := protocol.DecodeSettings(q.ext.Settings)
	if err != nil {
		return badRequest("invalid_value", "twig.settings", "twig.%v", err)
	}
	if q.ext.Seed != nil {
		s.Seed = *q.ext.Seed
	}
	q.settings = s
	return nil
}

// item is one picture of an answer: the token canvas t, or, when t is nil,
// the picture pic (a run whose painter paints pixels: a gateway on remote
// roles) scaled to the answer's side.
func (q *imageQuery) item(t tokens.Tokens, pic *canvas.Canvas, revised string) (map[string]any, error) {
	var png []byte
	var err error
	if t == nil && pic != nil {
		var buf bytes.Buffer
		if err = stdpng.Encode(&buf, tokens.Scaled(pic.Image(), q.side)); err == nil {
			png = buf.Bytes()
		}
	} else {
		png, err = encodePNG(t, q.side)
	}
	if err != nil {
		return nil, err
	}
	b64 := base64.StdEncoding.EncodeToString(png)
	it := map[string]any{"revised_prompt": revised}
	if q.asURL {
		it["url"] = "data:image/png;base64," + b64
	} else {
		it["b64_json"] = b64
	}
	return it, nil
}

func (a *apiHandler) generate(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, a.maxBody))
	if err != nil {
		writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.maxBody))
		return
	}
	m, aerr := checkFields(body, "image generation", generateFields...)
	if aerr != nil {
		aerr.write(w)
		return
	}
	q := imageQuery{n: 1}
	var model, size, format, outFormat, user string
	var ext json.RawMessage
	for _, f := range []struct {
		name string
		v    any
	}{{"model", &model}, {"prompt", &q.prompt}, {"n", &q.n}, {"size", &size}, {"response_format", &format},
		{"output_format", &outFormat}, {"user", &user}, {"twig", &ext}} {
		if aerr := field(m, f.name, f.v); aerr != nil {
			aerr.write(w)
			return
		}
	}
	if aerr := q.check(model, size, format, outFormat, string(ext)); aerr != nil {
		aerr.write(w)
		return
	}
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	ctx, cancel := context.WithTimeout(r.Context(), a.g.Limits().RunTimeout)
	defer cancel()
	var data, runs []any
	for i := range q.n {
		s := q.settings
		s.Seed += int64(i)
		res, err := a.g.Draw(ctx, engine.RunSpec{Prompt: q.prompt, Settings: s}, nil)
		if err != nil {
			code := gateway.ErrorCode(err)
			writeAPIError(w, statusOf(code), code, "prompt", textutil.OneLine(err.Error()))
			return
		}
		it, err := q.item(res.Tokens, res.Canvas, strings.Join(slices.DeleteFunc(slices.Clone(res.Thoughts), func(s string) bool { return s == "" }), " | "))
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, protocol.CodeInternal, "", err.Error())
			return
		}
		data = append(data, it)
		runs = append(runs, map[string]any{"run_id": res.RunID, "seed": s.Seed, "thoughts": res.Thoughts, "stats": res.Stats})
	}
	a.g.Logger().Info("image generation", "request_id", RequestID(r.Context()), "n", q.n)
	writeJSON(w, http.StatusOK, map[string]any{"created": unixNow(), "data": data, "twig": runs})
}

func (a *apiHandler) edit(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, a.maxBody)
	if err := r.ParseMultipartForm(a.maxBody); err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeAPIError(w, http.StatusRequestEntityTooLarge, protocol.CodeTooLarge, "", fmt.Sprintf("the body is over the limit of %d bytes", a.maxBody))
			return
		}
		writeAPIError(w, http.StatusBadRequest, "invalid_body", "", "images/edits takes multipart/form-data: "+textutil.OneLine(err.Error()))
		return
	}
	defer r.MultipartForm.RemoveAll()
	form := r.MultipartForm
	for _, keys := range []map[string]bool{mapKeys(form.Value), mapKeys(form.File)} {
		for k := range keys {
			if !slices.Contains(editFields, k) {
				badRequest("unsupported_parameter", k, "image edit: %q is not supported by twig (supported: %s); see docs/PROTOCOL.md", k, strings.Join(editFields, ", ")).write(w)
				return
			}
		}
	}
	val := func(k string) string {
		if v := form.Value[k]; len(v) > 0 {
			return v[0]
		}
		return ""
	}
	q := imageQuery{n: 1, prompt: val("prompt")}
	if s := val("n"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			badRequest("invalid_type", "n", "n %q is not a number", textutil.Clip(s, 60)).write(w)
			return
		}
		q.n = n
	}
	if aerr := q.check(val("model"), val("size"), val("response_format"), val("output_format"), val("twig")); aerr != nil {
		aerr.write(w)
		return
	}
	files := append(slices.Clone(form.File["image"]), form.File["image[]"]...)
	if len(files) != 1 {
		badRequest("invalid_value", "image", "send exactly one image (the canvas so far), not %d", len(files)).write(w)
		return
	}
	// the address's in-flight slot before any picture is decoded: one
	// address cannot have more decodes going than requests in flight
	release, ok := a.acquire(w, r)
	if !ok {
		return
	}
	defer release()
	pl := a.pictureLimits()
	var canvas tokens.Tokens
	if aerr := openPicture(r.Context(), pl, files[0], "image", func(pic image.Image) { canvas = tokens.FromPicture(pic) }); aerr != nil {
		aerr.write(w)
		return
	}
	var redraw []bool
	if masks := form.File["mask"]; len(masks) > 0 {
		if aerr := openPicture(r.Context(), pl, masks[0], "mask", func(mask image.Image) { redraw = transparentCells(mask) }); aerr != nil {
			aerr.write(w)
			return
		}
	} else {
		redraw = make([]bool, len(canvas))
		for i, t := range canvas {
			redraw[i] = t < 0
		}
	}
	rows, ok := markedRows(redraw)
	if !ok {
		badRequest("invalid_mask", "mask", "the mask marks nothing to redraw: make the band's rows transparent in the mask (or in the image)").write(w)
		return
	}
	prompt, thought, thoughts := parseEditPrompt(q.prompt)
	q.prompt = prompt
	if q.ext.Thought != nil {
		thought = *q.ext.Thought
	}
	if q.ext.Thoughts != nil {
		thoughts = *q.ext.Thoughts
	}
	band := len(thoughts)
	if q.ext.Band != nil {
		band = *q.ext.Band
	}
	ctx, cancel := context.WithTimeout(r.Context(), a.g.Limits().RunTimeout)
	defer cancel()
	var data, info []any
	for i := range q.n {
		s := q.settings
		s.Seed += int64(i)
		out, th, err := a.redraw(ctx, protocol.CallRequest{Prompt: q.prompt, Settings: s, Band: band, Rows: rows,
			Thoughts: thoughts, Canvas: canvas, Round: q.ext.Round, Thought: thought})
		if err != nil {
			code := gateway.ErrorCode(err)
			writeAPIError(w, statusOf(code), code, "", textutil.OneLine(err.Error()))
			return
		}
		it, err := q.item(out, nil, th)
		if err != nil {
			writeAPIError(w, http.StatusInternalServerError, protocol.CodeInternal, "", err.Error())
			return
		}
		data = append(data, it)
		info = append(info, map[string]any{"band": band, "rows": rows, "thought": th, "seed": s.Seed})
	}
	a.g.Logger().Info("image edit", "request_id", RequestID(r.Context()), "rows", fmt.Sprintf("%d-%d", rows.Start, rows.End-1), "n", q.n)
	writeJSON(w, http.StatusOK, map[string]any{"created": unixNow(), "data": data, "twig": info})
}

// redraw paints req.Rows of req.Canvas anew (thinking first when there is
// no thought and thinking is on) and returns the new canvas and thought.
func (a *apiHandler) redraw(ctx context.Context, req protocol.CallRequest) (tokens.Tokens, string, error) {
	out := slices.Clone(tokens.Tokens(req.Canvas)) // rows outside the band stay as sent
	seen := slices.Clone(req.Canvas)
	for i := req.Rows.Start * tokens.Grid; i < len(seen); i++ {
		seen[i] = -1
	}
	req.Canvas = seen
	req = TokenRequest(req)
	if req.Thought == "" && req.Settings.Think {
		done, err := a.g.Call(ctx, protocol.Call{Role: protocol.RoleThink, Request: req}, func(protocol.Payload) error { return nil })
		if err != nil {
			return nil, "", err
		}
		req.Thought = done.Thought.Text
	}
	_, err := a.g.Call(ctx, protocol.Call{Role: protocol.RolePaint, Request: req}, func(p protocol.Payload) error {
		if s, ok := p.(*protocol.CallStrip); ok && len(s.Tokens) > 0 {
			copy(out[s.Rows.Start/engine.TokenGeometry.Unit*tokens.Grid:], s.Tokens)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	return out, req.Thought, nil
}

// markedRows is the band of rows holding a marked cell: [first, last+1).
func markedRows(marked []bool) (protocol.Rows, bool) {
	r0, r1 := -1, -1
	for i, m := range marked {
		if m {
			row := i / tokens.Grid
			if r0 < 0 {
				r0 = row
			}
			r1 = row + 1
		}
	}
	return protocol.Rows{Start: r0, End: r1}, r0 >= 0
}

// parseEditPrompt reads an edit's prompt: plain text is the user's prompt;
// lines "Prompt: …", "Thought: …" and "Thoughts: a | b | …" label the parts.
func parseEditPrompt(text string) (prompt, thought string, thoughts []string) {
	var rest []string
	labelled := false
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		key := strings.ToLower(strings.TrimSpace(k))
		switch {
		case ok && key == "prompt":
			prompt, labelled = strings.TrimSpace(v), true
		case ok && key == "thought":
			thought, labelled = strings.TrimSpace(v), true
		case ok && key == "thoughts":
			labelled = true
			for _, t := range strings.Split(v, "|") {
				thoughts = append(thoughts, strings.TrimSpace(t))
			}
		default:
			rest = append(rest, line)
		}
	}
	if !labelled || prompt == "" {
		prompt = strings.TrimSpace(strings.Join(rest, " "))
	}
	return prompt, thought, thoughts
}

func openPicture(ctx context.Context, pl pictureLimits, fh *multipart.FileHeader, param string, use func(image.Image)) *apiError {
	f, err := fh.Open()
	if err != nil {
		return badRequest("invalid_image", param, "%s: %s", param, textutil.OneLine(err.Error()))
	}
	defer f.Close()
	data, err := io.ReadAll(f)
	if err != nil {
		return badRequest("invalid_image", param, "%s: cannot read the picture: %s", param, textutil.OneLine(err.Error()))
	}
	return decodePicture(ctx, pl, data, param, use)
}

func mapKeys[V any](m map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range m {
		out[k] = true
	}
	return out
}
