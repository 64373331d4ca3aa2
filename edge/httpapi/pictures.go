package httpapi

import (
	"bytes"
	"context"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // decoders for client pictures
	_ "image/jpeg" //
	"net/http"
	"strings"

	_ "golang.org/x/image/webp"

	"github.com/twig-project/twig/edge/gateway"
	"github.com/twig-project/twig/internal/textutil"
)

// maxPictureSide bounds a client picture's width and height (a small PNG can
// claim a huge size).
const maxPictureSide = 4096

// pictureLimits bound the decoding of client pictures: one picture's
// memory, and the memory of all those being decoded at once.
type pictureLimits struct {
	max    int64
	budget *gateway.Budget
}

func (a *apiHandler) pictureLimits() pictureLimits {
	return pictureLimits{max: a.g.Limits().MaxPictureBytes, budget: a.g.Pictures()}
}

// decodePicture decodes a PNG, JPEG, GIF or WebP picture and hands it to
// use. Its memory is estimated from the size its header declares before
// anything is decoded: over pl.max it is refused (413); else it waits for
// that much of the shared budget, which it holds until use returns (the
// picture is dropped then), so that concurrent uploads cannot add up past
// the budget. A 130 KB PNG can declare 4096² 16-bit pixels: 128 MiB.
func decodePicture(ctx context.Context, pl pictureLimits, data []byte, param string, use func(image.Image)) *apiError {
	cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
	if err != nil {
		return badRequest("invalid_image", param, "%s: not a PNG, JPEG, GIF or WebP picture: %s", param, textutil.OneLine(err.Error()))
	}
	if cfg.Width > maxPictureSide || cfg.Height > maxPictureSide || cfg.Width < 1 || cfg.Height < 1 {
		return badRequest("invalid_image", param, "%s: the picture is %d×%d; use 1 to %d pixels a side (256×256 is native)", param, cfg.Width, cfg.Height, maxPictureSide)
	}
	cost := pictureCost(cfg, format, data)
	if cost > pl.max {
		return &apiError{status: http.StatusRequestEntityTooLarge, code: "picture_too_large", param: param,
			msg: fmt.Sprintf("%s: the %d×%d %s picture takes %d MiB to decode, over the limit of %d MiB: send a smaller one (256×256 is native; 8-bit colour takes half of 16-bit)",
				param, cfg.Width, cfg.Height, format, (cost+(1<<20)-1)>>20, pl.max>>20)}
	}
	if pl.budget != nil {
		if err := pl.budget.Acquire(ctx, cost); err != nil {
			code := gateway.ErrorCode(err)
			return &apiError{status: statusOf(code), code: code, param: param, msg: param + ": gave up waiting for memory to decode the picture: " + textutil.OneLine(err.Error())}
		}
		defer pl.budget.Release(cost)
	}
	img, _, err := image.Decode(bytes.NewReader(data))
	if err != nil {
		return badRequest("invalid_image", param, "%s: cannot decode the picture: %s", param, textutil.OneLine(err.Error()))
	}
	use(img)
	return nil
}

// pictureCost estimates the bytes decoding a picture takes from its header:
// the decoded image (pixels × bytes a pixel of its colour model) and what
// the decoder holds beside it (an interlaced PNG decodes each pass into an
// image of its own; a progressive JPEG keeps every DCT coefficient, 4 bytes
// a pixel a component; a lossless WebP keeps a 4-byte ARGB copy and its
// transforms). Row buffers and tables (tens of KB) are left out, so that a
// picture at exactly the limit's size (4096² 8-bit RGBA: 64 MiB) fits.
func pictureCost(cfg image.Config, format string, data []byte) int64 {
	px := int64(cfg.Width) * int64(cfg.Height)
	if format == "jpeg" || format == "webp" {
		// decoded in whole blocks (JPEG MCUs up to 32×16, WebP macroblocks
		// of 16): the planes are padded to them
		px = (int64(cfg.Width) + 31) / 32 * 32 * ((int64(cfg.Height) + 31) / 32 * 32)
	}
	var bpp int64
	switch cfg.ColorModel {
	case color.GrayModel, color.AlphaModel:
		bpp = 1
	case color.Gray16Model, color.Alpha16Model:
		bpp = 2
	case color.YCbCrModel:
		bpp = 3 // 4:4:4 at worst
	case color.RGBAModel, color.NRGBAModel, color.CMYKModel, color.NYCbCrAModel:
		bpp = 4
	case color.RGBA64Model, color.NRGBA64Model:
		bpp = 8
	default:
		if _, ok := cfg.ColorModel.(color.Palette); ok {
			bpp = 1
		} else {
			bpp = 8
		}
	}
	cost := px * bpp
	switch format {
	case "png":
		if len(data) > 28 && data[28] == 1 { // IHDR interlace method: Adam7
			cost *= 2
		}
	case "jpeg":
		if progressiveJPEG(data) {
			cost += px * 4 * 4 // up to 4 components of int32 coefficients
		}
	case "webp":
		if cfg.ColorModel == color.NRGBAModel { // lossless
			cost += px * 8
		}
	}
	return cost
}

// progressiveJPEG reports whether a JPEG's frame header is progressive
// (SOF2): it walks the marker segments up to the first frame header.
func progressiveJPEG(b []byte) bool {
	for i := 2; i+4 <= len(b); {
		if b[i] != 0xff {
			return false
		}
		m := b[i+1]
		switch {
		case m == 0xff: // fill byte
			i++
			continue
		case m == 0xc2 || m == 0xc6 || m == 0xca || m == 0xce:
			return true
		case m >= 0xc0 && m <= 0xcf && m != 0xc4 && m != 0xc8 && m != 0xcc:
			return false // another frame header
		case m == 0x01 || m >= 0xd0 && m <= 0xd8: // no length
			i += 2
			continue
		}
		i += 2 + (int(b[i+2])<<8 | int(b[i+3]))
	}
	return false
}

// decodeDataURL decodes a data: URL holding a picture (base64), as
// decodePicture does.
func decodeDataURL(ctx context.Context, pl pictureLimits, url, param string, use func(image.Image)) *apiError {
	rest, ok := strings.CutPrefix(url, "data:")
	if !ok {
		return badRequest("invalid_image_url", param, "%s: only data: URLs are accepted (data:image/png;base64,…); twig fetches nothing", param)
	}
	meta, payload, ok := strings.Cut(rest, ",")
	if !ok || !strings.HasSuffix(meta, ";base64") {
		return badRequest("invalid_image_url", param, "%s: the data URL must be base64 (data:image/png;base64,…)", param)
	}
	data, err := base64.StdEncoding.DecodeString(strings.TrimSpace(payload))
	if err != nil {
		return badRequest("invalid_image_url", param, "%s: bad base64 in the data URL: %s", param, textutil.OneLine(err.Error()))
	}
	return decodePicture(ctx, pl, data, param, use)
}

// pictureSide parses an OpenAI size ("256x256"); "" and "auto" are 0: the
// picture's own size (256 for a token model).
func pictureSide(size string) (int, *apiError) {
	switch size {
	case "", "auto":
		return 0, nil
	case "256x256":
		return 256, nil
	case "512x512":
		return 512, nil
	case "1024x1024":
		return 1024, nil
	}
	return 0, badRequest("invalid_size", "size", "size %q is not supported: use 256x256 (native), 512x512 or 1024x1024", textutil.Clip(size, 60))
}

// transparentCells marks the cells of a grid×grid token grid whose area is
// mostly transparent in img (an OpenAI edit mask: transparent = redraw).
func transparentCells(img image.Image, grid int) []bool {
	b := img.Bounds()
	out := make([]bool, grid*grid)
	for cy := 0; cy < grid; cy++ {
		for cx := 0; cx < grid; cx++ {
			x0, x1 := b.Min.X+cx*b.Dx()/grid, b.Min.X+(cx+1)*b.Dx()/grid
			y0, y1 := b.Min.Y+cy*b.Dy()/grid, b.Min.Y+(cy+1)*b.Dy()/grid
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
			out[cy*grid+cx] = clear*2 > n
		}
	}
	return out
}
