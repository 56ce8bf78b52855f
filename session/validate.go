package session

import (
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxPromptBytes bounds a prompt: it travels as one argv element, and the
// kernel limits a single argument (MAX_ARG_STRLEN, 128 KiB).
const MaxPromptBytes = 100 << 10

// imageRefRE is what an image reference may look like: the characters of
// registry hosts, paths, tags and digests; never a space, a control or
// escape byte (which `list` would print), or a leading "-" (a flag).
var imageRefRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_./:@-]{0,254}$`)

// ValidImageRef reports whether ref has the shape of an image reference.
func ValidImageRef(ref string) bool { return imageRefRE.MatchString(ref) }

var nameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// ValidateName checks a session name: 1–40 of a-z, 0-9 and '-', not starting with '-'.
func ValidateName(name string) error {
	if name == "" {
		return Errorf(ErrInvalid, "a session name is required (--name)")
	}
	if !nameRE.MatchString(name) {
		return Errorf(ErrInvalid, "session name %q is not valid: use 1 to 40 lowercase letters, digits and '-', starting with a letter or digit", name)
	}
	return nil
}

// checkPrompt refuses a prompt that is not UTF-8 text: a control character
// (an escape sequence, say) would reach every terminal that lists it. The
// error names the offset, not the prompt, so it echoes nothing back.
func checkPrompt(p string) error {
	for i, r := range p {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(p[i:], "\uFFFD"):
			return Errorf(ErrInvalid, "the prompt is not valid UTF-8 (at byte %d)", i)
		case r == 0:
			return Errorf(ErrInvalid, "the prompt contains a NUL byte (at byte %d)", i)
		case unicode.IsControl(r) && r != '\t' && r != '\n' && r != '\r':
			return Errorf(ErrInvalid, "the prompt contains control character %U at byte %d; only tab, newline and carriage return are allowed", r, i)
		}
	}
	return nil
}

// normalize checks every field of o and fills in defaults; g guards the workdir.
func normalize(o Options, g mountGuard) (Options, error) {
	if err := ValidateName(o.Name); err != nil {
		return o, err
	}
	switch o.Mode {
	case "":
		o.Mode = ModeInteractive
	case ModeInteractive, ModePrint:
	default:
		return o, Errorf(ErrInvalid, "mode %q is not valid: use %q or %q", o.Mode, ModeInteractive, ModePrint)
	}
	if len(o.Prompt) > MaxPromptBytes {
		return o, Errorf(ErrInvalid, "the prompt is %d KiB; at most %d KiB fits on a command line — put the long text in a file in the workdir and ask Claude to read it", len(o.Prompt)>>10, MaxPromptBytes>>10)
	}
	if err := checkPrompt(o.Prompt); err != nil {
		return o, err
	}
	if o.Mode == ModePrint && strings.TrimSpace(o.Prompt) == "" {
		return o, Errorf(ErrInvalid, "a print session needs a prompt (--prompt)")
	}
	if o.Image == "" {
		o.Image = DefaultImage
	}
	if !ValidImageRef(o.Image) {
		return o, Errorf(ErrInvalid, "image %q is not a valid image reference", o.Image)
	}
	if o.Workdir != "" {
		wd, err := g.check(o.Workdir)
		if err != nil {
			return o, err
		}
		o.Workdir = wd
	}
	return o, nil
}
