//go:build !linux && !darwin

package workspace

import "io/fs"

// Elsewhere the stamps are not known: nothing is cached, and sparse files
// are not told apart.
func stampOf(fs.FileInfo) (fileStamp, bool) { return fileStamp{}, false }
func allocated(fs.FileInfo) (int64, bool)   { return 0, false }
