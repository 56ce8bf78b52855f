package workspace

import (
	"fmt"
	"path"
	"strings"
	"unicode/utf8"
)

// Limits on what callers (and through them MCP clients) may ask for.
const (
	maxBranchLen = 200
	maxFromLen   = 256
	maxIncludes  = 64
	maxGlobLen   = 256
)

// ValidateBranch is validBranch for callers that must check a name before
// they show it to anyone (the MCP server asks the user to confirm it).
func ValidateBranch(b string) error { return validBranch(b) }

// validBranch checks a branch name conservatively, more strictly than git
// does: it is given to git on the command line and shown to the user.
func validBranch(b string) error {
	bad := func(why string) error {
		return errorf(ErrInvalid, "branch name %s %s", quote(b), why)
	}
	switch {
	case b == "":
		return bad("is empty")
	case len(b) > maxBranchLen:
		return bad(fmt.Sprintf("is longer than %d bytes", maxBranchLen))
	case strings.HasPrefix(b, "-"):
		return bad("starts with '-'")
	case strings.HasSuffix(b, "/"):
		return bad("ends with '/'")
	case strings.Contains(b, "//"):
		return bad("contains '//'")
	case strings.Contains(b, ".."):
		return bad("contains '..'")
	}
	for _, c := range strings.Split(b, "/") {
		if c == "" {
			return bad("has an empty component")
		}
		if strings.HasPrefix(c, ".") {
			return bad("has a component starting with '.'")
		}
		if strings.HasSuffix(c, ".lock") {
			return bad("has a component ending in '.lock'")
		}
		for _, r := range c {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '_' || r == '-') {
				return bad("may only hold letters, digits, '.', '_', '-' and '/'")
			}
		}
	}
	return nil
}

// validFrom checks a --from ref before it reaches git's command line.
func validFrom(from string) error {
	bad := func(why string) error {
		return errorf(ErrInvalid, "--from %s %s", quote(from), why)
	}
	switch {
	case from == "":
		return bad("is empty")
	case len(from) > maxFromLen:
		return bad(fmt.Sprintf("is longer than %d bytes", maxFromLen))
	case strings.HasPrefix(from, "-"):
		return bad("starts with '-'")
	case !utf8.ValidString(from):
		return bad("is not valid UTF-8")
	}
	for _, r := range from {
		if r < 0x20 || r == 0x7f {
			return bad("contains a control character")
		}
	}
	return nil
}

// validIncludes checks the globs of ignored files to copy.
func validIncludes(globs []string) error {
	if len(globs) > maxIncludes {
		return errorf(ErrInvalid, "%d include globs, more than the limit of %d", len(globs), maxIncludes)
	}
	for _, g := range globs {
		if g == "" || len(g) > maxGlobLen || strings.ContainsRune(g, 0) {
			return errorf(ErrInvalid, "include glob %s must be 1 to %d bytes without NUL", quote(g), maxGlobLen)
		}
		if _, err := path.Match(g, ""); err != nil {
			return errorf(ErrInvalid, "include glob %s is malformed: %v", quote(g), err)
		}
	}
	return nil
}

// matchInclude says whether the relative path rel matches one of globs, by
// its whole path or by its base name (so ".env.example" matches at any
// depth).
func matchInclude(globs []string, rel string) bool {
	base := path.Base(rel)
	for _, g := range globs {
		if ok, _ := path.Match(g, rel); ok {
			return true
		}
		if ok, _ := path.Match(g, base); ok {
			return true
		}
	}
	return false
}

// truncate shortens s to at most n bytes, on a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "..."
}

// quote makes a string that may come from the agent safe to put in an error
// message: escaped by %q (no terminal escapes survive) and bounded.
func quote(s string) string {
	return fmt.Sprintf("%q", truncate(s, 200))
}

// humanSize prints n bytes the way people read them.
func humanSize(n int64) string {
	const unit = 1024
	if n < unit {
		return fmt.Sprintf("%d B", n)
	}
	div, exp := int64(unit), 0
	for m := n / unit; m >= unit; m /= unit {
		div *= unit
		exp++
	}
	return fmt.Sprintf("%.1f %ciB", float64(n)/float64(div), "KMGTPE"[exp])
}

// validTree checks the tree a caller says the user reviewed: 40 hex digits,
// or a prefix of at least 7 ("" for none).
func validTree(t string) error {
	if t == "" {
		return nil
	}
	if len(t) < 7 || len(t) > 40 {
		return errorf(ErrInvalid, "tree %s must be 7 to 40 hex digits", quote(t))
	}
	for i := 0; i < len(t); i++ {
		c := t[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return errorf(ErrInvalid, "tree %s must be 7 to 40 hex digits", quote(t))
		}
	}
	return nil
}

// sameTree refuses the work when its tree is not the one reviewed (want,
// checked by validTree; "" for any).
func sameTree(want, got string) error {
	if want == "" || strings.HasPrefix(got, strings.ToLower(want)) {
		return nil
	}
	return errorf(ErrConflict, "the work changed since you reviewed it (its tree is now %s, not %s); look at `clauderon diff` again", got, strings.ToLower(want))
}
