package cli

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"time"
	"unicode"
	"unicode/utf16"
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/termsafe"
)

// printJSON writes v as indented JSON, for scripts (--json).
func printJSON(w io.Writer, v any) error {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetIndent("", "  ")
	if err := enc.Encode(v); err != nil {
		return err
	}
	_, err := w.Write(jsonEscapeInvisible(b.Bytes()))
	return err
}

// jsonEscapeInvisible writes C1 controls, format characters (bidirectional
// overrides, zero-width ones) and other invisible code points of encoded
// JSON as \u escapes, which mean the same to a JSON reader but nothing to
// a terminal. They can only occur inside strings, where escapes are valid.
func jsonEscapeInvisible(b []byte) []byte {
	if !bytes.ContainsFunc(b, invisible) {
		return b
	}
	var out bytes.Buffer
	for len(b) > 0 {
		r, n := utf8.DecodeRune(b)
		if invisible(r) {
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(&out, `\u%04x`, u)
			}
		} else {
			out.Write(b[:n])
		}
		b = b[n:]
	}
	return out.Bytes()
}

func invisible(r rune) bool {
	return (r >= 0x80 && r <= 0x9f) || unicode.Is(unicode.Cf, r) || unicode.Is(unicode.Co, r) || r == 0x2028 || r == 0x2029
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
		if (unicode.IsControl(r) && r != '\t') || unicode.Is(unicode.Cf, r) {
			return '?'
		}
		return r
	}, strings.ToValidUTF8(text, "?"))
}

// visible and visiblePath render text from a container (see termsafe).
var (
	visible     = termsafe.Visible
	visiblePath = termsafe.Line
)

// cell is one cell of a table: its text, already safe to print, and the
// colour it is painted in ("" for none).
type cell struct {
	text, color string
}

// writeTable writes rows in columns two spaces apart, as text/tabwriter
// would (width counted in runes), but pads each cell before painting it, so
// that colour (which tabwriter would count as width) never moves a column.
func writeTable(w io.Writer, color bool, rows [][]cell) error {
	var widths []int
	for _, r := range rows {
		for i, c := range r {
			if i == len(widths) {
				widths = append(widths, 0)
			}
			widths[i] = max(widths[i], utf8.RuneCountInString(c.text))
		}
	}
	var b strings.Builder
	for _, r := range rows {
		for i, c := range r {
			b.WriteString(paint(color, c.color, c.text))
			if i < len(r)-1 {
				b.WriteString(strings.Repeat(" ", widths[i]-utf8.RuneCountInString(c.text)+2))
			}
		}
		b.WriteByte('\n')
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}
