//go:build ignore

// icon_gen draws the app's icon: a rounded dark square with a terminal
// prompt ">_" in the product's orange. Run by go generate (icon.go); it
// writes desktop/icon.png (embedded by the window) and build/appicon.png
// (for wails build and the packages).
package main

import (
	"image"
	"image/color"
	"image/png"
	"log"
	"math"
	"os"
)

const size = 256

func main() {
	img := image.NewNRGBA(image.Rect(0, 0, size, size))
	bg := color.NRGBA{0x1f, 0x23, 0x2b, 0xff}
	fg := color.NRGBA{0xe0, 0x7a, 0x3c, 0xff}
	r := 48.0
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			if inRounded(float64(x)+0.5, float64(y)+0.5, r) {
				img.Set(x, y, bg)
			}
		}
	}
	// ">" as two thick strokes, "_" as a bar.
	stroke(img, 64, 80, 128, 128, 18, fg)
	stroke(img, 128, 128, 64, 176, 18, fg)
	for y := 168; y < 186; y++ {
		for x := 140; x < 196; x++ {
			img.Set(x, y, fg)
		}
	}
	for _, p := range []string{"icon.png", "../build/appicon.png"} {
		f, err := os.Create(p)
		if err != nil {
			log.Fatal(err)
		}
		if err := png.Encode(f, img); err != nil {
			log.Fatal(err)
		}
		if err := f.Close(); err != nil {
			log.Fatal(err)
		}
	}
}

func inRounded(x, y, r float64) bool {
	cx := math.Max(r, math.Min(size-r, x))
	cy := math.Max(r, math.Min(size-r, y))
	return math.Hypot(x-cx, y-cy) <= r
}

func stroke(img *image.NRGBA, x0, y0, x1, y1, w float64, c color.NRGBA) {
	dx, dy := x1-x0, y1-y0
	l2 := dx*dx + dy*dy
	for y := 0; y < size; y++ {
		for x := 0; x < size; x++ {
			px, py := float64(x)+0.5, float64(y)+0.5
			t := math.Max(0, math.Min(1, ((px-x0)*dx+(py-y0)*dy)/l2))
			if math.Hypot(px-(x0+t*dx), py-(y0+t*dy)) <= w/2 {
				img.Set(x, y, c)
			}
		}
	}
}
