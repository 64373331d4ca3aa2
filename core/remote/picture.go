package remote

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	_ "image/gif" // decoders for upstream pictures
	"image/jpeg"
	"image/png"

	xdraw "golang.org/x/image/draw"
	_ "golang.org/x/image/webp" //

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/core/protocol"
	"github.com/twig-project/twig/internal/world/tokens"
)

// picture renders a canvas at side×side pixels: undrawn cells are the plain
// grey checkerboard of tokens.Picture, scaled with x/image/draw.
func picture(c tokens.Tokens, side int) image.Image {
	img := tokens.Picture(c)
	if side == tokens.PxSize {
		return img
	}
	return tokens.Scaled(img, side)
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("remote: encode png: %w", err)
	}
	return b.Bytes(), nil
}

// dataURL is a picture as a data: URL for a chat image_url part.
func dataURL(c tokens.Tokens, side int) (string, error) {
	b, err := encodePNG(picture(c, side))
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}

// pictureDataURL is a real picture as a data: URL for a chat image_url
// part: undrawn pixels shown as the grey checkerboard, scaled so that its
// longer side is side pixels (never up), as a JPEG (quality 90): a photo's
// PNG is several times larger to send and slower to make.
func pictureDataURL(c *canvas.Canvas, side int) (string, error) {
	var b bytes.Buffer
	if err := jpeg.Encode(&b, scaledTo(opaqueView(c), side), &jpeg.Options{Quality: 90}); err != nil {
		return "", fmt.Errorf("remote: encode jpeg: %w", err)
	}
	return "data:image/jpeg;base64," + base64.StdEncoding.EncodeToString(b.Bytes()), nil
}

// opaqueView is the picture with its undrawn (transparent) pixels painted
// as a plain grey checkerboard of 8-pixel squares, which the prompts name
// as "not drawn yet".
func opaqueView(c *canvas.Canvas) *image.NRGBA {
	img := c.Clone().Image()
	for y := 0; y < c.H; y++ {
		row := img.Pix[y*img.Stride : (y+1)*img.Stride]
		for x := 0; x < c.W; x++ {
			if row[4*x+3] != 0 {
				continue
			}
			v := uint8(0xc8)
			if (x/8+y/8)%2 == 1 {
				v = 0xe0
			}
			row[4*x], row[4*x+1], row[4*x+2], row[4*x+3] = v, v, v, 0xff
		}
	}
	return img
}

// scaledTo scales img so that its longer side is side pixels; a smaller
// picture is kept as it is.
func scaledTo(img image.Image, side int) image.Image {
	b := img.Bounds()
	if max(b.Dx(), b.Dy()) <= side {
		return img
	}
	w, h := side, max(1, b.Dy()*side/b.Dx())
	if b.Dy() > b.Dx() {
		w, h = max(1, b.Dx()*side/b.Dy()), side
	}
	dst := image.NewNRGBA(image.Rect(0, 0, w, h))
	xdraw.BiLinear.Scale(dst, dst.Rect, img, b, xdraw.Src, nil) // a kernel: it averages when it shrinks
	return dst
}

// bandMask is an images/edits mask w×h: transparent over pixel rows rows
// (the area to paint), opaque black elsewhere.
func bandMask(w, h int, rows protocol.Rows) image.Image {
	m := image.NewNRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		a := uint8(255)
		if y >= rows.Start && y < rows.End {
			a = 0
		}
		for x := 0; x < w; x++ {
			m.SetNRGBA(x, y, color.NRGBA{A: a})
		}
	}
	return m
}

// maxPictureSide bounds an upstream picture's width and height.
const maxPictureSide = 4096

// decodePicture decodes a PNG, JPEG, GIF or WebP an upstream sent.
func decodePicture(b []byte) (image.Image, error) {
	cfg, _, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the picture is not a PNG, JPEG, GIF or WebP: %w", err)
	}
	if cfg.Width < 1 || cfg.Height < 1 || cfg.Width > maxPictureSide || cfg.Height > maxPictureSide {
		return nil, fmt.Errorf("the picture is %d×%d pixels, outside 1 to %d a side", cfg.Width, cfg.Height, maxPictureSide)
	}
	img, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, fmt.Errorf("the picture does not decode: %w", err)
	}
	return img, nil
}
