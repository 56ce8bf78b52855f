//go:build !((dragonfly && cgo) || (freebsd && cgo) || linux || netbsd || openbsd)

package secret

const unlockHint = "unlock the login keychain (macOS) or check Credential Manager (Windows)"

func preflight() error { return nil }

func cause(error) string { return "the OS keychain failed" }
