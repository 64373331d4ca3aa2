package remote

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"strconv"
	"strings"

	xdraw "golang.org/x/image/draw"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/engine"
	"github.com/twig-project/twig/core/protocol"
)

// EditPainter paints bands with an OpenAI-compatible image-edit model
// (POST /images/edits): the picture so far is the image, the mask is
// transparent over the band's rows, and the answer is composited into the
// band's rows alone (the rest of the picture is never taken from the
// model). It implements engine.Sizer: the run's canvas is a real picture of
// the edit size.
type EditPainter struct {
	c    caller
	tpl  *Templates
	side int
	ext  bool
}

// NewEditPainter returns a painter on ep; tpl nil means DefaultTemplates.
func NewEditPainter(ep Endpoint, o Options, tpl *Templates) (*EditPainter, error) {
	if err := ep.check("painter"); err != nil {
		return nil, err
	}
	o = o.withDefaults()
	side := defaultEditSide
	if o.EditSize != "" {
		w, h, ok := strings.Cut(o.EditSize, "x")
		n, err := strconv.Atoi(w)
		if !ok || w != h || err != nil || n < 64 || n > maxPictureSide {
			return nil, fmt.Errorf("remote: painter: edit size %q: use a square size such as 256x256, 512x512 or 1024x1024", o.EditSize)
		}
		side = n
	}
	if tpl == nil {
		tpl = DefaultTemplates()
	}
	return &EditPainter{c: caller{role: "painter", ep: ep, o: o}, tpl: tpl, side: side, ext: isTwigModel(ep.Model)}, nil
}

// defaultEditSide is the picture's side when no edit size is set: what
// image-edit models answer by default (OpenAI's gpt-image-1 and dall-e-2).
const defaultEditSide = 1024

// imagesResponse is an images API answer.
type imagesResponse struct {
	Data []struct {
		B64JSON string `json:"b64_json"`
		URL     string `json:"url"`
	} `json:"data"`
}

// Geometry implements engine.Sizer: the picture is the edit size (default
// 1024×1024), its bands cut in units of 8 rows (whole JPEG blocks for the
// chat roles that see it), or of a 16th of it for a twig server's model.
func (p *EditPainter) Geometry() engine.Geometry {
	unit := editUnit
	if p.ext && p.side%16 == 0 {
		unit = p.side / 16 // a twig server's model paints a 16-row grid: its bands are whole grid rows
	}
	return engine.Geometry{Width: p.side, Height: p.side, Unit: unit}
}

// editUnit is the rows a band's edges are multiples of on an edit painter's canvas.
const editUnit = 8

// PaintBand paints req.Rows (to the bottom for an open-ended band) in one
// masked edit of the whole canvas: the answer, scaled to the canvas's
// size, is composited into the band's pixel rows only, so every pixel
// outside the band is kept bit for bit whatever the model did to it. The
// band goes on as one strip.
func (p *EditPainter) PaintBand(ctx context.Context, req engine.PaintRequest, onStrip func(canvas.Strip)) error {
	pic := req.Canvas
	if pic == nil {
		pic, _ = canvas.New(p.side, p.side)
	}
	rows := req.Rows
	if rows.End < 0 {
		rows.End = pic.H
	}
	// The provider gets the canvas at its own size (a token canvas relayed
	// by a role call is smaller), the mask over the band's rows scaled.
	sent, sentRows := pic, rows
	if pic.W != p.side || pic.H != p.side {
		sent, _ = canvas.New(p.side, p.side)
		xdraw.NearestNeighbor.Scale(sent.Image(), sent.Image().Rect, pic.Image(), pic.Image().Rect, xdraw.Src, nil)
		sentRows = protocol.Rows{Start: rows.Start * p.side / pic.H, End: (rows.End*p.side + pic.H - 1) / pic.H}
	}
	body, ctype, err := p.form(req, sent, sentRows)
	if err != nil {
		return err
	}
	var picBytes []byte
	r := request{op: "image edit", path: "/images/edits", contentType: ctype, accept: "application/json",
		body: func() (io.Reader, error) { return bytes.NewReader(body), nil }, limit: p.c.o.MaxImageBytes}
	err = p.c.do(ctx, r, func(resp *http.Response, body io.Reader) error {
		var ir imagesResponse
		if err := json.NewDecoder(body).Decode(&ir); err != nil {
			return fmt.Errorf("the answer is not an images response: %w", err)
		}
		if len(ir.Data) == 0 {
			return errors.New("the images response has no data")
		}
		var err error
		picBytes, err = p.pictureBytes(resp.Request.Context(), ir.Data[0].B64JSON, ir.Data[0].URL)
		return err
	})
	if err != nil {
		return err
	}
	img, err := decodePicture(picBytes)
	if err != nil {
		return &Error{Role: p.c.role, Host: p.c.ep.Host(), Op: "image edit", Err: err}
	}
	work := pic.Clone()
	if err := work.Composite(img, rows); err != nil {
		return &Error{Role: p.c.role, Host: p.c.ep.Host(), Op: "image edit", Err: err}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	strip, err := work.Strip(rows)
	if err != nil {
		return err
	}
	strip.Tokens = nil // a painter of pixels: no token model painted them
	onStrip(strip)
	return nil
}

// form builds the multipart body: model, prompt, image, mask, n, size,
// response_format, and for twig models the twig extension.
func (p *EditPainter) form(req engine.PaintRequest, c *canvas.Canvas, rows protocol.Rows) ([]byte, string, error) {
	d := data("paint", req.State, req.Thought, req.Round)
	d.ToPct = 100 * rows.End / c.H // an open band's end is the bottom
	prompt, err := p.tpl.render("paint.prompt", d)
	if err != nil {
		return nil, "", fmt.Errorf("remote: painter: %w", err)
	}
	pic, err := encodePNG(opaqueView(c))
	if err != nil {
		return nil, "", err
	}
	mask, err := encodePNG(bandMask(c.W, c.H, rows))
	if err != nil {
		return nil, "", err
	}
	var b bytes.Buffer
	w := multipart.NewWriter(&b)
	fields := [][2]string{{"model", p.c.ep.Model}, {"prompt", prompt}, {"n", "1"}}
	if p.c.o.EditSize != "" {
		fields = append(fields, [2]string{"size", p.c.o.EditSize})
	}
	if !strings.HasPrefix(p.c.ep.Model, "gpt-image") { // those always answer b64_json and refuse the field
		fields = append(fields, [2]string{"response_format", "b64_json"})
	}
	if p.ext {
		x, _ := json.Marshal(map[string]any{"settings": req.Settings, "thought": req.Thought, "thoughts": d0(req.Thoughts),
			"band": req.Band, "round": req.Round})
		fields = append(fields, [2]string{"twig", string(x)})
	}
	for _, f := range fields {
		if err := w.WriteField(f[0], f[1]); err != nil {
			return nil, "", err
		}
	}
	for _, f := range []struct {
		name string
		b    []byte
	}{{"image", pic}, {"mask", mask}} {
		h := make(map[string][]string)
		h["Content-Disposition"] = []string{fmt.Sprintf(`form-data; name=%q; filename="%s.png"`, f.name, f.name)}
		h["Content-Type"] = []string{"image/png"}
		part, err := w.CreatePart(h)
		if err != nil {
			return nil, "", err
		}
		part.Write(f.b)
	}
	if err := w.Close(); err != nil {
		return nil, "", err
	}
	return b.Bytes(), w.FormDataContentType(), nil
}

// pictureBytes gets the picture of an images answer: b64_json, a data:
// URL, or an http(s) URL fetched without our credentials (it may be on
// another host).
func (p *EditPainter) pictureBytes(ctx context.Context, b64, url string) ([]byte, error) {
	switch {
	case b64 != "":
		return base64.StdEncoding.DecodeString(b64)
	case strings.HasPrefix(url, "data:"):
		meta, payload, ok := strings.Cut(strings.TrimPrefix(url, "data:"), ",")
		if !ok || !strings.HasSuffix(meta, ";base64") {
			return nil, errors.New("the picture's data URL is not base64")
		}
		return base64.StdEncoding.DecodeString(payload)
	case strings.HasPrefix(url, "https://"), strings.HasPrefix(url, "http://"):
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := p.c.o.HTTPClient.Do(req)
		if err != nil {
			return nil, fmt.Errorf("fetching the picture: %w", err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("fetching the picture: HTTP %d", resp.StatusCode)
		}
		return io.ReadAll(&capReader{r: resp.Body, limit: p.c.o.MaxImageBytes})
	}
	return nil, errors.New("the images response has neither b64_json nor url")
}
