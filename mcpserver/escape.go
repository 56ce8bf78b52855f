package mcpserver

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// visible renders text a container may have written (output, file names,
// diff lines, result text) so that nothing in it drives a terminal: control
// characters other than tab and newline, invalid UTF-8, and invisible
// formatting characters (bidirectional overrides, zero-width spaces) are
// shown as escapes such as \x1b or \u202e. It is the CLI's rule
// (cli/output.go), applied to every string a tool returns.
func visible(text string) string {
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

func needsEscape(r rune) bool {
	return (r < 0x20 && r != '\t' && r != '\n') || r == 0x7f || unicode.IsControl(r) ||
		unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029'
}
