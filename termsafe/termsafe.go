// Package termsafe renders text that a container may have written (file
// names, diff lines, output, hosts) so that nothing in it can drive a
// terminal or make a line read as something it is not. The CLI and the MCP
// server share it, so both show such text the same way.
package termsafe

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Visible shows control characters other than tab and newline, invalid
// UTF-8, and invisible formatting characters (bidirectional overrides,
// zero-width spaces, line and paragraph separators) as escapes such as
// \x1b or \u202e.
func Visible(text string) string {
	if !strings.ContainsFunc(text, needsEscape) && utf8.ValidString(text) {
		return text
	}
	var b strings.Builder
	for i, r := range text {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(text[i:], "\uFFFD"):
			fmt.Fprintf(&b, "\\x%02x", text[i])
		case r == '\t' || r == '\n':
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f:
			fmt.Fprintf(&b, "\\x%02x", r)
		case needsEscape(r):
			fmt.Fprintf(&b, "\\u%04x", r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// Line is Visible for text on one line: a newline or tab in it is escaped
// too, so a file name cannot forge lines of a listing.
func Line(text string) string {
	return strings.NewReplacer("\n", `\n`, "\t", `\t`).Replace(Visible(text))
}

func needsEscape(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || unicode.IsControl(r) ||
		unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
