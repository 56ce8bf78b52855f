// Package frontend is the web UI's files, embedded.
package frontend

import (
	"embed"
	"io/fs"
)

// The UI is plain HTML, CSS and JS modules: go build embeds them as they
// are, with no bundler or build step, so a fresh clone needs only Go.
//
//go:embed index.html css js vendor
var root embed.FS

// FS is rooted at the directory holding index.html, so the UI server can
// serve it without knowing how the files were embedded.
var FS fs.FS = mustSub(root, ".")

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		// Only a bad literal above can get here; the build would be wrong.
		panic(err)
	}
	return sub
}
