package workspace

import (
	"fmt"
	"path"
	"strings"
)

// Paths in the agent's trees are the agent's: before one is written to the
// user's working tree it must be a plain relative path that stays inside it
// and does not reach into a repository's metadata.

// maxPathLen is PATH_MAX: no longer path can be written anyway.
const maxPathLen = 4096

// validPath checks a tree path for apply.
func validPath(p string) error {
	bad := func(why string) error {
		return errorf(ErrInvalid, "the work holds a path %s that %s; land the work and review it instead", quote(p), why)
	}
	switch {
	case p == "":
		return bad("is empty")
	case strings.ContainsRune(p, 0):
		return bad("contains NUL")
	case strings.HasPrefix(p, "/"):
		return bad("is absolute")
	case len(p) > maxPathLen:
		return bad(fmt.Sprintf("is longer than %d bytes", maxPathLen))
	}
	for _, c := range strings.Split(p, "/") {
		switch {
		case c == "" || c == "." || c == "..":
			return bad("is not a clean relative path")
		case isDotGit(c):
			return bad("names a .git directory")
		}
	}
	return nil
}

// hfsIgnorable are the code points HFS+ ignores in names, so that
// ".g\u200cit" is ".git" there (git's is_hfs_dotgit).
var hfsIgnorable = strings.NewReplacer(
	"\u200c", "", "\u200d", "", "\u200e", "", "\u200f", "",
	"\u202a", "", "\u202b", "", "\u202c", "", "\u202d", "", "\u202e", "",
	"\u206a", "", "\u206b", "", "\u206c", "", "\u206d", "", "\u206e", "", "\u206f", "",
	"\ufeff", "",
)

// isDotGit says whether a name is, or a case-insensitive, HFS+ or NTFS
// filesystem would take it for, ".git".
func isDotGit(name string) bool {
	n := hfsIgnorable.Replace(name)
	// NTFS drops trailing dots and spaces, and knows ".git" as "git~1".
	n = strings.TrimRight(n, ". ")
	return strings.EqualFold(n, ".git") || strings.EqualFold(n, "git~1")
}

// symlinkEscapes says why a symlink at p pointing at target could lead out
// of the repository (or into a .git); "" when it cannot. Lexical cleaning
// alone is not enough: with "s -> ." elsewhere, "s/../x" cleans to "x" but
// leads out. So ".." may only lead the target, where it climbs the link's
// own directories (which apply checks are real directories), and not more
// of them than there are.
func symlinkEscapes(p, target string) string {
	switch {
	case target == "":
		return "is empty"
	case strings.ContainsRune(target, 0):
		return "contains NUL"
	case strings.HasPrefix(target, "/") || strings.HasPrefix(target, "\\") || (len(target) > 1 && target[1] == ':'):
		return "is absolute"
	}
	depth := strings.Count(p, "/") // directories above the link
	named := false
	for _, c := range strings.Split(target, "/") {
		switch {
		case c == "" || c == ".":
		case c == "..":
			if named {
				return "climbs out of a directory it names (\"..\" after a name)"
			}
			if depth--; depth < 0 {
				return "is outside the repository"
			}
		case isDotGit(c):
			return "is inside a .git directory"
		default:
			named = true
		}
	}
	// Belt and braces: the lexical result stays inside too.
	if resolved := path.Join(path.Dir(p), target); strings.HasPrefix(resolved, "../") || resolved == ".." {
		return "is outside the repository"
	}
	return ""
}
