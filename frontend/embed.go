// Package frontend is the web UI's files, embedded.
package frontend

import (
	"embed"
	"io/fs"
)

//go:embed index.html
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
