package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode"

	"github.com/clauderon/clauderon/session"
)

// printJSON writes v as indented JSON, for scripts (--json).
func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// ago renders a past time for humans: "3m ago".
func ago(t time.Time, now time.Time) string {
	if t.IsZero() {
		return "-"
	}
	d := now.Sub(t)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds ago", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm ago", int(d.Minutes()))
	case d < 48*time.Hour:
		return fmt.Sprintf("%dh ago", int(d.Hours()))
	}
	return t.Local().Format("2006-01-02")
}

// statusText is a session's status with its exit code or reason.
func statusText(s session.Session) string {
	switch {
	case s.Status == session.StatusExited && s.ExitCode != nil:
		return fmt.Sprintf("exited (%d)", *s.ExitCode)
	case s.Status == session.StatusFailed && s.Reason != "":
		return "failed: " + s.Reason
	case s.Warning != "":
		return string(s.Status) + " (see warning)"
	}
	return string(s.Status)
}

// oneLine shortens text to n runes on one line. Control characters left
// (the daemon refuses them in prompts; an older one did not) become '?', so
// text cannot drive the terminal it is printed on.
func oneLine(text string, n int) string {
	text = printable(strings.Join(strings.Fields(text), " "))
	if r := []rune(text); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return text
}

// printable replaces control characters and invalid UTF-8 with '?', so text
// from the daemon or the engine cannot drive the terminal it is printed on.
func printable(text string) string {
	return strings.Map(func(r rune) rune {
		if unicode.IsControl(r) && r != '\t' {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(text, "?"))
}
