//go:build !linux

package secret

// HideProcess does nothing here: other systems keep a process's memory and
// environment from same-user processes by their own means (macOS) or not
// at all through this call.
func HideProcess() error { return nil }
