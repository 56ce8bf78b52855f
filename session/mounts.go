package session

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/workspace"
)

// MaxMounts bounds the --mount flags of one session.
const MaxMounts = 16

const pickMount = "pick another directory to mount"

// ParseMount reads the --mount flag's HOST[:CONTAINER][:ro] (or :rw). The
// host path is made absolute against cwd; the container path defaults to the
// host path.
func ParseMount(spec, cwd string) (Mount, error) {
	parts := strings.Split(spec, ":")
	var m Mount
	if n := len(parts); n > 1 && (parts[n-1] == "ro" || parts[n-1] == "rw") {
		m.ReadOnly = parts[n-1] == "ro"
		parts = parts[:n-1]
	}
	switch len(parts) {
	case 1:
	case 2:
		m.Target = parts[1]
	default:
		return Mount{}, Errorf(ErrInvalid, "--mount %q is not HOST[:CONTAINER][:ro]: a path cannot contain ':'", spec)
	}
	m.Source = parts[0]
	if m.Source == "" {
		return Mount{}, Errorf(ErrInvalid, "--mount %q names no host path; use --mount HOST[:CONTAINER][:ro]", spec)
	}
	if !filepath.IsAbs(m.Source) {
		m.Source = filepath.Join(cwd, m.Source)
	}
	return m, nil
}

// reservedTargets are container paths a mount may neither be nor sit above:
// the system's own directories, and what clauderon itself mounts (the
// session's claude.json, in its user's home, is checkUserMounts').
var reservedTargets = []string{"/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/run", "/var/run",
	ContainerCA, ContainerBundle, workspace.ContainerObjects, gateway.SocketDir, path.Dir(gateway.Binary)}

// checkMounts validates the mounts, resolving each host path through the
// guard; withWorkspace says a workspace will be mounted at /workspace.
func checkMounts(ms []Mount, g mountGuard, withWorkspace bool) ([]Mount, error) {
	if len(ms) > MaxMounts {
		return nil, Errorf(ErrInvalid, "%d mounts asked for; at most %d are allowed", len(ms), MaxMounts)
	}
	out := make([]Mount, 0, len(ms))
	seen := map[string]bool{}
	for _, m := range ms {
		src, err := g.checkAs("--mount source", pickMount, m.Source)
		if err != nil {
			return nil, err
		}
		t := m.Target
		if t == "" {
			t = m.Source
		}
		if !filepath.IsAbs(t) || strings.ContainsAny(t, ":,\x00") || filepath.Clean(t) != t || !printableText(t) {
			return nil, Errorf(ErrInvalid, "--mount target %q must be a clean absolute container path without ':' or ','", t)
		}
		if t == "/" {
			return nil, Errorf(ErrInvalid, "--mount target / would hide the container's whole filesystem; mount at /workspace or below another directory")
		}
		for _, r := range reservedTargets {
			if within(t, r) || within(r, t) {
				return nil, Errorf(ErrInvalid, "--mount target %s is or holds %s, which the container needs as it is; mount elsewhere (for example /data)", t, r)
			}
		}
		if withWorkspace && within(t, ContainerWorkdir) {
			return nil, Errorf(ErrInvalid, "--mount target %s is inside the workspace, where it would mix with the agent's work; mount it elsewhere (for example /data), or at /workspace to replace the workspace", t)
		}
		if seen[t] {
			return nil, Errorf(ErrInvalid, "two mounts at %s", t)
		}
		seen[t] = true
		out = append(out, Mount{Source: src, Target: t, ReadOnly: m.ReadOnly})
	}
	return out, nil
}

// printableText reports whether s is UTF-8 without control characters (C0,
// DEL or C1), which a listing would print.
func printableText(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsFunc(s, unicode.IsControl)
}

// MountsAt reports whether one of ms is mounted at target (/workspace: it
// replaces the workspace).
func MountsAt(ms []Mount, target string) bool {
	for _, m := range ms {
		if m.Target == target || (m.Target == "" && m.Source == target) {
			return true
		}
	}
	return false
}

// The engine resolves a bind mount's host path when the container starts,
// later than clauderon checked it. A container that can write a directory
// above that path could swap a component for a link to / in between. So no
// path a container sees may lie below a directory some session's container
// can write: then nothing that could swap it exists. The check runs under
// the manager's lock, where the new session's mounts are registered, so two
// creates cannot race past it.

// writable returns the host directories r's container can write, besides its
// own workspace (which lies in clauderon's home, where no mount may reach).
func (r *record) writable() []string {
	var out []string
	for _, m := range r.Mounts {
		if !m.ReadOnly {
			out = append(out, m.Source)
		}
	}
	return out
}

// mounted returns the host paths the engine resolves when r's container starts.
func (r *record) mounted() []string {
	var out []string
	for _, m := range r.Mounts {
		out = append(out, m.Source)
	}
	if w := r.Workspace; w != nil && w.ObjectsDir != "" {
		out = append(out, w.ObjectsDir)
	}
	return out
}

// checkReachLocked refuses a new session n whose paths a container could
// swap, or whose writable mounts could swap another session's paths. copySrc
// is the directory its workspace is copied from ("" for none): it must not
// be writable by any container at all, since the copy reads it file by file.
// Call with mu held.
func (m *Manager) checkReachLocked(n *record, copySrc string) error {
	all := make([]*record, 0, len(m.sessions)+1)
	for _, r := range m.sessions {
		all = append(all, r)
	}
	all = append(all, n)
	// Nothing n reads or mounts may lie below what a container can write.
	for _, r := range all {
		who := fmt.Sprintf("session %q", r.Name)
		if r == n {
			who = "this session"
		}
		for _, w := range r.writable() {
			if copySrc != "" && overlaps(copySrc, w) {
				return Errorf(ErrInvalid, "workdir %s and %s overlap, and %s's container can write %s (--mount); it could swap files for links while they are copied: pick a directory apart from it", copySrc, w, who, w)
			}
			for _, p := range n.mounted() {
				if p != w && within(p, w) {
					return Errorf(ErrInvalid, "%s is inside %s, which %s's container can write (--mount %s); it could swap a directory there for a link while it is mounted: mount %s read-only there (:ro), or pick a path outside it", p, w, who, w, w)
				}
			}
		}
	}
	// Nor may n's writable mounts lie above what another session mounts, or
	// a workdir being copied right now.
	for name, srcs := range m.copying {
		for _, src := range srcs {
			for _, w := range n.writable() {
				if name != n.Name && overlaps(src, w) {
					return Errorf(ErrUnavailable, "--mount %s and %s overlap, and %s is being copied into session %q's workspace; try again once that session is created", w, src, src, name)
				}
			}
		}
	}
	for _, r := range m.sessions {
		for _, w := range n.writable() {
			for _, p := range r.mounted() {
				if p != w && within(p, w) {
					return Errorf(ErrInvalid, "--mount %s holds %s, which session %q mounts; this session's container could swap a directory there for a link before that one starts again: mount it read-only (:ro), or pick another path", w, p, r.Name)
				}
			}
		}
	}
	return nil
}

// writerOfLocked names a session whose container can write dir, a
// directory above it or one below it. Call with mu held.
func (m *Manager) writerOfLocked(dir string) (name, w string, ok bool) {
	for _, r := range m.sessions {
		for _, w := range r.writable() {
			if overlaps(dir, w) {
				return r.Name, w, true
			}
		}
	}
	return "", "", false
}

// overlaps reports whether one of a and b is the other or below it.
func overlaps(a, b string) bool { return within(a, b) || within(b, a) }
