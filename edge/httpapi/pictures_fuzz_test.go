package httpapi

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/gif"
	"image/jpeg"
	"image/png"
	"testing"

	"github.com/twig-project/twig/core/canvas"
	"github.com/twig-project/twig/edge/gateway"
)

// pixelBytes is the memory of a decoded image's pixels.
func pixelBytes(img image.Image) int64 {
	switch m := img.(type) {
	case *image.RGBA:
		return int64(len(m.Pix))
	case *image.NRGBA:
		return int64(len(m.Pix))
	case *image.RGBA64:
		return int64(len(m.Pix))
	case *image.NRGBA64:
		return int64(len(m.Pix))
	case *image.Gray:
		return int64(len(m.Pix))
	case *image.Gray16:
		return int64(len(m.Pix))
	case *image.Paletted:
		return int64(len(m.Pix))
	case *image.CMYK:
		return int64(len(m.Pix))
	case *image.YCbCr:
		return int64(len(m.Y) + len(m.Cb) + len(m.Cr))
	case *image.NYCbCrA:
		return int64(len(m.Y) + len(m.Cb) + len(m.Cr) + len(m.A))
	}
	b := img.Bounds()
	return int64(b.Dx()) * int64(b.Dy()) * 8
}

// FuzzPicture: decodePicture never panics on any bytes, and what it decodes
// never holds more pixel memory than the cost it charged from the header
// (the estimate is an upper bound, so the budget holds).
func FuzzPicture(f *testing.F) {
	small := image.NewNRGBA(image.Rect(0, 0, 20, 12))
	small.Set(3, 4, color.NRGBA{200, 10, 10, 255})
	for _, enc := range []func(*bytes.Buffer){
		func(b *bytes.Buffer) { png.Encode(b, small) },
		func(b *bytes.Buffer) { png.Encode(b, image.NewRGBA64(image.Rect(0, 0, 9, 7))) },
		func(b *bytes.Buffer) { png.Encode(b, image.NewGray16(image.Rect(0, 0, 5, 5))) },
		func(b *bytes.Buffer) { jpeg.Encode(b, small, nil) },
		func(b *bytes.Buffer) { gif.Encode(b, small, nil) },
	} {
		var b bytes.Buffer
		enc(&b)
		f.Add(b.Bytes())
	}
	pl := pictureLimits{max: 4 << 20, budget: gateway.NewBudget(4 << 20)}
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg, format, err := image.DecodeConfig(bytes.NewReader(data))
		var cost int64
		if err == nil {
			cost = pictureCost(cfg, format, data)
		}
		aerr := decodePicture(context.Background(), pl, data, "image", func(img image.Image) {
			if got := pixelBytes(img); got > cost {
				t.Fatalf("%s %dx%d (%T) holds %d bytes of pixels, charged %d", format, cfg.Width, cfg.Height, img, got, cost)
			}
		})
		if aerr != nil && (aerr.status < 400 || aerr.msg == "") {
			t.Fatalf("bad refusal %+v", aerr)
		}
		if used, _ := pl.budget.Stats(); used != 0 {
			t.Fatalf("%d bytes still taken", used)
		}
	})
}

// The header details the cost reads: a progressive JPEG's frame marker,
// and a PNG's interlace flag.
func TestPictureCostHeaders(t *testing.T) {
	seg := func(m byte, body ...byte) []byte {
		return append([]byte{0xff, m, 0, byte(2 + len(body))}, body...)
	}
	soi := []byte{0xff, 0xd8}
	app0 := seg(0xe0, 'J', 'F', 'I', 'F', 0)
	for _, tc := range []struct {
		name string
		b    []byte
		want bool
	}{
		{"baseline", append(append(append([]byte{}, soi...), app0...), seg(0xc0, 8)...), false},
		{"progressive", append(append(append([]byte{}, soi...), app0...), seg(0xc2, 8)...), true},
		{"progressive after a fill byte", append(append(append([]byte{}, soi...), 0xff), seg(0xc2, 8)...), true},
		{"huffman table first", append(append(append([]byte{}, soi...), seg(0xc4, 1, 2)...), seg(0xc2, 8)...), true},
		{"truncated", append(append([]byte{}, soi...), 0xff, 0xe0, 0x40), false},
		{"junk", []byte("not a jpeg at all"), false},
	} {
		if got := progressiveJPEG(tc.b); got != tc.want {
			t.Errorf("%s: progressive %v, want %v", tc.name, got, tc.want)
		}
	}
	var b bytes.Buffer
	png.Encode(&b, image.NewNRGBA(image.Rect(0, 0, 64, 64)))
	cfg, _, _ := image.DecodeConfig(bytes.NewReader(b.Bytes()))
	plain := pictureCost(cfg, "png", b.Bytes())
	if plain != 64*64*4 {
		t.Errorf("64² NRGBA PNG: cost %d, want %d", plain, 64*64*4)
	}
	b.Bytes()[28] = 1 // IHDR: Adam7
	if got := pictureCost(cfg, "png", b.Bytes()); got != 2*plain {
		t.Errorf("interlaced: cost %d, want %d", got, 2*plain)
	}
}

// FuzzMaskRows: on any picture a client sends, the pixel path's readers
// hold: the band of transparent rows lies inside the canvas it is asked
// for and covers every row of the picture with a transparent pixel, and a
// picture made a canvas (scaled) marks as painted exactly its rows with a
// pixel that is not fully transparent.
func FuzzMaskRows(f *testing.F) {
	mask := image.NewNRGBA(image.Rect(0, 0, 16, 12))
	for y := range 12 {
		for x := range 16 {
			if y < 4 || y >= 9 {
				mask.SetNRGBA(x, y, color.NRGBA{A: 255})
			}
		}
	}
	half := image.NewNRGBA(image.Rect(0, 0, 7, 9))
	half.SetNRGBA(2, 5, color.NRGBA{9, 9, 9, 127})
	for _, img := range []image.Image{mask, half, image.NewGray(image.Rect(0, 0, 3, 3))} {
		var b bytes.Buffer
		png.Encode(&b, img)
		f.Add(b.Bytes(), uint16(24))
	}
	pl := pictureLimits{max: 4 << 20}
	f.Fuzz(func(t *testing.T, data []byte, hh uint16) {
		h := int(hh%64) + 1
		decodePicture(context.Background(), pl, data, "mask", func(img image.Image) {
			b := img.Bounds()
			rows, ok := transparentRows(img, h)
			seen := false
			for y := b.Min.Y; y < b.Max.Y && !seen; y++ {
				for x := b.Min.X; x < b.Max.X && !seen; x++ {
					_, _, _, a := img.At(x, y).RGBA()
					seen = a < 0x8000
				}
			}
			if ok != seen || ok && (rows.Start < 0 || rows.End > h || rows.End <= rows.Start) {
				t.Fatalf("%v picture, %d rows asked: rows %+v ok %v, a transparent pixel %v", b, h, rows, ok, seen)
			}
			c, err := canvas.FromImage(img, 5, h)
			if err != nil {
				t.Fatal(err)
			}
			for y := range h {
				painted := false
				for x := range 5 {
					painted = painted || c.Pix[4*(5*y+x)+3] != 0
				}
				if painted != c.Painted[y] {
					t.Fatalf("row %d painted %v, its pixels say %v", y, c.Painted[y], painted)
				}
			}
		})
	})
}
