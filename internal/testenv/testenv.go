// Package testenv decides what a test does when a real piece of its
// environment (dockerd, Claude Code, a keychain) is missing.
package testenv

import (
	"os"
	"testing"
)

// Unavailable fails the test under `make test` (CLAUDERON_REQUIRE_E2E=1),
// where every real dependency must be present, and skips it elsewhere.
func Unavailable(t testing.TB, format string, args ...any) {
	t.Helper()
	if os.Getenv("CLAUDERON_REQUIRE_E2E") == "1" {
		t.Fatalf("CLAUDERON_REQUIRE_E2E=1 but "+format, args...)
	}
	t.Skipf(format, args...)
}
