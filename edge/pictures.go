package edge

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	_ "image/gif"  // decoders for client pictures
	_ "image/jpeg" //
	"image/png"
	"io"
	"strings"

	_ "golang.org/x/image/webp"

	"github.com/twig-project/twig/core/world"
)

// maxPictureSide bounds a client picture's width and height (a small PNG can
// claim a huge size).
const maxPictureSide = 4096

// decodePicture decodes a PNG, JPEG, GIF or WebP picture.
func decodePicture(r io.Reader, param string) (image.Image, *apiError) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, badRequest("invalid_image", param, "%s: cannot read the picture: %s", param, oneLine(err))
	}
	cfg, _, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return nil, badRequest("invalid_image", param, "%s: not a PNG, JPEG, GIF or WebP picture: %s", param, oneLine(err))
	}
	if cfg.Width > maxPictureSide || cfg.Height > maxPictureSide || cfg.Width < 1 || cfg.Height < 1 {
		return nil, badRequest("invalid_image", param, "%s: the picture is %d×%d; use 1 to %d pixels a side (256×256 is native)", param, cfg.Width, cfg.Height, maxPictureSide)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, badRequest("invalid_image", param, "%s: cannot decode the picture: %s", param, oneLine(err))
	}
	return img, nil
}

// decodeDataURL decodes a data: URL holding a picture (base64).
func decodeDataURL(url, param string) (image.Image, *apiError) {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return nil, badRequest("invalid_image_url", param, "%s: only data: URLs are accepted (data:image/png;base64,…); twig fetches nothing", param)
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return nil, badRequest("invalid_image_url", param, "%s: the data URL must be base64 (data:image/png;base64,…)", param)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return nil, badRequest("invalid_image_url", param, "%s: bad base64 in the data URL: %s", param, oneLine(err))
	}
	return decodePicture(bytes.NewReader(data), param)
}

// encodePNG renders a canvas as a side×side PNG.
func encodePNG(t world.Tokens, side int) ([]byte, error) {
	img := world.Picture(t)
	var out image.Image = img
	if side != world.PxSize {
		out = world.Scaled(img, side)
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, out); err != nil {
		return nil, fmt.Errorf("edge: encode png: %w", err)
	}
	return buf.Bytes(), nil
}

// pictureSide parses an OpenAI size ("256x256"); "" and "auto" are 256.
func pictureSide(size string) (int, *apiError) {
	switch size {
	case "", "auto", "256x256":
		return 256, nil
	case "512x512":
		return 512, nil
	case "1024x1024":
		return 1024, nil
	}
	return 0, badRequest("invalid_size", "size", "size %q is not supported: use 256x256 (native), 512x512 or 1024x1024", clip(size))
}

// transparentCells marks the cells whose area is mostly transparent in img
// (an OpenAI edit mask: transparent = redraw).
func transparentCells(img image.Image) []bool {
	b := img.Bounds()
	out := make([]bool, world.Grid*world.Grid)
	for cy := 0; cy < world.Grid; cy++ {
		for cx := 0; cx < world.Grid; cx++ {
			x0, x1 := b.Min.X+cx*b.Dx()/world.Grid, b.Min.X+(cx+1)*b.Dx()/world.Grid
			y0, y1 := b.Min.Y+cy*b.Dy()/world.Grid, b.Min.Y+(cy+1)*b.Dy()/world.Grid
			x1, y1 = max(x1, x0+1), max(y1, y0+1)
			clear, n := 0, 0
			for j := 0; j < 4; j++ {
				for i := 0; i < 4; i++ {
					x := min(x0+(2*i+1)*(x1-x0)/8, b.Max.X-1)
					y := min(y0+(2*j+1)*(y1-y0)/8, b.Max.Y-1)
					if _, _, _, a := img.At(x, y).RGBA(); a < 0x8000 {
						clear++
					}
					n++
				}
			}
			out[cy*world.Grid+cx] = clear*2 > n
		}
	}
	return out
}
