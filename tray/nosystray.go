//go:build nosystray

package tray

import "context"

// Run does nothing in a build without the tray (the nosystray tag).
func Run(ctx context.Context, cfg Config) error { return nil }

// RunExternal does nothing in a build without the tray (the nosystray tag).
func RunExternal(ctx context.Context, cfg Config) (start, end func()) {
	return func() {}, func() {}
}

// Visible is false in a build without the tray: closing the window quits.
func Visible() bool { return false }
