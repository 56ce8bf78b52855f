package session

import (
	"path"
	"regexp"
	"runtime"
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
	if o.Workdir != "" && MountsAt(o.Mounts, ContainerWorkdir) {
		return o, Errorf(ErrInvalid, "a --mount at %s replaces the workspace, so a workdir cannot be copied there too: drop one of them (--no-workdir)", ContainerWorkdir)
	}
	if o.Workdir != "" {
		wd, err := g.check(o.Workdir)
		if err != nil {
			return o, err
		}
		o.Workdir = wd
	}
	if o.Workdir == "" && (o.From != "" || len(o.Includes) > 0) {
		return o, Errorf(ErrInvalid, "--from and --include shape the workspace copied from a workdir, and this session has none")
	}
	if err := checkFrom(o.From); err != nil {
		return o, err
	}
	if err := checkIncludes(o.Includes); err != nil {
		return o, err
	}
	if err := checkLimits(o); err != nil {
		return o, err
	}
	ms, err := checkMounts(o.Mounts, g, o.Workdir != "")
	if err != nil {
		return o, err
	}
	o.Mounts = ms
	return o, nil
}

// MinMemoryBytes is the least memory a session may have: Claude Code alone
// needs a few hundred MiB.
const MinMemoryBytes = 256 << 20

// MinPids is the fewest processes a session may be limited to.
const MinPids = 64

// CheckLimits validates the default limits of config.json's container.
func CheckLimits(l Limits) error {
	if l.Pids != 0 && l.Pids < MinPids {
		return Errorf(ErrInvalid, "container.pids %d is less than the %d processes Claude Code and its tools need", l.Pids, MinPids)
	}
	return checkCPUsMemory(l.CPUs, l.MemoryBytes, "container.cpus", "container.memory_bytes")
}

func checkLimits(o Options) error {
	return checkCPUsMemory(o.CPUs, o.MemoryBytes, "--cpus", "--memory")
}

// checkCPUsMemory validates a CPU and a memory limit (0: the default),
// naming them as cpusName and memName.
func checkCPUsMemory(cpus float64, mem int64, cpusName, memName string) error {
	if n := float64(runtime.NumCPU()); cpus != 0 && (cpus < 0.01 || cpus > n) {
		return Errorf(ErrInvalid, "%s %g is not between 0.01 and this host's %g CPUs", cpusName, cpus, n)
	}
	if mem != 0 && mem < MinMemoryBytes {
		return Errorf(ErrInvalid, "%s %d bytes is less than the %d MiB Claude Code needs", memName, mem, MinMemoryBytes>>20)
	}
	return nil
}

// MaxIncludes bounds the --include globs of one session.
const MaxIncludes = 64

func checkFrom(ref string) error {
	switch {
	case ref == "":
		return nil
	case len(ref) > 256:
		return Errorf(ErrInvalid, "--from is %d bytes long; a git ref is at most 256", len(ref))
	case strings.HasPrefix(ref, "-"):
		return Errorf(ErrInvalid, "--from %q starts with '-'; name a branch, tag or commit", ref)
	case !printableText(ref) || strings.ContainsAny(ref, " \t"):
		return Errorf(ErrInvalid, "--from %q contains a space or control character; name a branch, tag or commit", ref)
	}
	return nil
}

func checkIncludes(globs []string) error {
	if len(globs) > MaxIncludes {
		return Errorf(ErrInvalid, "%d --include globs; at most %d are allowed", len(globs), MaxIncludes)
	}
	for _, g := range globs {
		if g == "" || len(g) > 1024 || !printableText(g) {
			return Errorf(ErrInvalid, "--include %q is not a glob: use a pattern such as .env.example or config/*.local", g)
		}
		if _, err := path.Match(g, ""); err != nil {
			return Errorf(ErrInvalid, "--include %q is not a valid glob: %v", g, err)
		}
	}
	return nil
}
