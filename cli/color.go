package cli

import (
	"io"
	"os"
)

// ANSI colours the CLI uses for statuses and checks.
const (
	colorRed    = "31"
	colorGreen  = "32"
	colorYellow = "33"
	colorDim    = "2"
)

// colorOn reports whether w is a terminal that takes colour: not when
// piped, not with NO_COLOR set (https://no-color.org), not with TERM=dumb.
func colorOn(w io.Writer) bool {
	if _, ok := os.LookupEnv("NO_COLOR"); ok {
		return false
	}
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	return isTerminal(w)
}

// paint wraps s (already safe to print) in colour code when on is set.
func paint(on bool, code, s string) string {
	if !on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}
