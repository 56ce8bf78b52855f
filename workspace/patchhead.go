package workspace

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/go-git/go-git/v5/plumbing"
)

// The names in a patch are the agent's. A file named
// "install.sh\n README.md | 1 +\n..." forged lines of the patch text, so a
// name that holds a control character, a quote, a backslash or bytes that
// are not UTF-8 is written C-quoted, as git does ("a/x\ty"), in the
// header lines. Change.Path keeps the name as it is: the JSON is for
// programs.

// writePatchHeader writes what go-git's unified encoder would (the lines
// from "diff --git" to "+++"), with quoted names. from or to is nil for an
// added or a deleted file.
func writePatchHeader(sb *strings.Builder, from, to *patchFile) {
	line := func(format string, args ...any) {
		fmt.Fprintf(sb, format, args...)
		sb.WriteByte('\n')
	}
	switch {
	case from != nil && to != nil:
		line("diff --git %s %s", quotePath("a/", from.path), quotePath("b/", to.path))
		if from.mode != to.mode {
			line("old mode %o", from.mode)
			line("new mode %o", to.mode)
		}
		if from.path != to.path {
			line("rename from %s", quotePath("", from.path))
			line("rename to %s", quotePath("", to.path))
		}
		if from.hash == to.hash {
			return
		}
		if from.mode != to.mode {
			line("index %s..%s", from.hash, to.hash)
		} else {
			line("index %s..%s %o", from.hash, to.hash, from.mode)
		}
		line("--- %s", quotePath("a/", from.path))
		line("+++ %s", quotePath("b/", to.path))
	case from == nil && to != nil:
		line("diff --git %s %s", quotePath("a/", to.path), quotePath("b/", to.path))
		line("new file mode %o", to.mode)
		line("index %s..%s", plumbing.ZeroHash, to.hash)
		line("--- /dev/null")
		line("+++ %s", quotePath("b/", to.path))
	case from != nil:
		line("diff --git %s %s", quotePath("a/", from.path), quotePath("a/", from.path))
		line("deleted file mode %o", from.mode)
		line("index %s..%s", from.hash, plumbing.ZeroHash)
		line("--- %s", quotePath("a/", from.path))
		line("+++ /dev/null")
	}
}

// quotePath is prefix+name as git prints it in a patch: as it is, or
// C-quoted when it needs to be. UTF-8 stays readable (git with
// core.quotePath off), but for C1 controls (U+0080 to U+009F), which some
// terminals obey.
func quotePath(prefix, name string) string {
	p := prefix + name
	if !needsQuote(p) {
		return p
	}
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(p); {
		c := p[i]
		switch c {
		case '"', '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
			i++
			continue
		case '\a':
			b.WriteString(`\a`)
		case '\b':
			b.WriteString(`\b`)
		case '\t':
			b.WriteString(`\t`)
		case '\n':
			b.WriteString(`\n`)
		case '\v':
			b.WriteString(`\v`)
		case '\f':
			b.WriteString(`\f`)
		case '\r':
			b.WriteString(`\r`)
		default:
			if c < 0x20 || c == 0x7f {
				fmt.Fprintf(&b, `\%03o`, c)
				break
			}
			if c < utf8.RuneSelf {
				b.WriteByte(c)
				break
			}
			r, n := utf8.DecodeRuneInString(p[i:])
			if r == utf8.RuneError && n <= 1 || r >= 0x80 && r <= 0x9f {
				for j := 0; j < max(n, 1); j++ {
					fmt.Fprintf(&b, `\%03o`, p[i+j])
				}
			} else {
				b.WriteString(p[i : i+n])
			}
			i += max(n, 1)
			continue
		}
		i++
	}
	b.WriteByte('"')
	return b.String()
}

func needsQuote(s string) bool {
	for _, r := range s {
		if r < 0x20 || r == 0x7f || r == '"' || r == '\\' || r == utf8.RuneError || r >= 0x80 && r <= 0x9f {
			return true
		}
	}
	return false
}
