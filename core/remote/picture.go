package remote

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"image"
	"image/color"
	_ "image/gif"  // decoders for upstream pictures
	_ "image/jpeg" //
	"image/png"

	_ "golang.org/x/image/webp" //

	"github.com/twig-project/twig/core/world"
)

// picture renders a canvas at side×side pixels: undrawn cells are the plain
// grey checkerboard of world.Picture, scaled with x/image/draw.
func picture(c world.Tokens, side int) image.Image {
	img := world.Picture(c)
	if side == world.PxSize {
		return img
	}
	return world.Scaled(img, side)
}

func encodePNG(img image.Image) ([]byte, error) {
	var b bytes.Buffer
	if err := (&png.Encoder{CompressionLevel: png.BestSpeed}).Encode(&b, img); err != nil {
		return nil, fmt.Errorf("remote: encode png: %w", err)
	}
	return b.Bytes(), nil
}

// dataURL is a picture as a data: URL for a chat image_url part.
func dataURL(c world.Tokens, side int) (string, error) {
	b, err := encodePNG(picture(c, side))
	if err != nil {
		return "", err
	}
	return "data:image/png;base64," + base64.StdEncoding.EncodeToString(b), nil
}

// bandMask is an images/edits mask: transparent over rows [r0, r1) (the
// area to paint), opaque black elsewhere.
func bandMask(side, r0, r1 int) image.Image {
	m := image.NewNRGBA(image.Rect(0, 0, side, side))
	y0, y1 := r0*side/world.Grid, r1*side/world.Grid
	for y := 0; y < side; y++ {
		a := uint8(255)
		if y >= y0 && y < y1 {
			a = 0
		}
		for x := 0; x < side; x++ {
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

// tokensOf reads a picture back into image tokens: resized to the native
// 256×256 with x/image/draw, then the nearest palette colour per sub-pixel
// (world.FromPicture).
func tokensOf(img image.Image) world.Tokens {
	if b := img.Bounds(); b.Dx() != world.PxSize || b.Dy() != world.PxSize {
		img = world.Scaled(img, world.PxSize)
	}
	return world.FromPicture(img)
}
