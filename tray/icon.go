//go:build !nosystray

package tray

import (
	"bytes"
	"image"
	"image/color"
	"image/png"
)

// The tray's icons are drawn here rather than shipped, so the package
// stands alone: a filled disc, blue when nothing waits, orange when a
// session waits for the user.
var (
	iconIdle      = disc(color.NRGBA{0x3b, 0x82, 0xf6, 0xff})
	iconAttention = disc(color.NRGBA{0xf5, 0x9e, 0x0b, 0xff})
)

func disc(c color.NRGBA) []byte {
	const size = 32
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	for y := range size {
		for x := range size {
			dx, dy := float64(x)-size/2+0.5, float64(y)-size/2+0.5
			if dx*dx+dy*dy <= (size/2-2)*(size/2-2) {
				img.SetNRGBA(x, y, c)
			}
		}
	}
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		panic(err) // an in-memory encode of a valid image does not fail
	}
	return b.Bytes()
}
