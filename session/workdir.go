package session

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
)

// The workdir is mounted read-write into a container that runs Claude Code
// with every permission, on the request of any LocalAPI or MCP client. So a
// workdir must never expose what the container is kept from: clauderon's
// own home (the key every session's proxy secret derives from, the proxy
// CA's key), the user's home (the host Claude Code's OAuth token in
// ~/.claude, SSH keys, …) or the engine's socket (which is root on the host).

// credentialDirs, below the user's home, hold credentials of other tools; a
// workdir inside one is refused as well.
var credentialDirs = []string{".claude", ".ssh", ".gnupg", ".aws", ".azure", ".docker", ".kube", ".cargo", ".password-store",
	".mozilla", ".netrc", ".git-credentials", ".local/share/keyrings", ".config/gcloud", ".config/gh", ".config/google-chrome", ".config/chromium"}

// DefaultEngineSockets are the Docker engine's usual unix sockets, and the
// one DOCKER_HOST names.
func DefaultEngineSockets() []string {
	socks := []string{"/var/run/docker.sock", "/run/docker.sock"}
	if u, err := url.Parse(os.Getenv("DOCKER_HOST")); err == nil && u.Scheme == "unix" && u.Path != "" {
		socks = append(socks, u.Path)
	}
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		socks = append(socks, filepath.Join(d, "docker.sock")) // rootless Docker
	}
	return socks
}

// systemDirs hold what the container must not reach, at any depth: other
// processes' environments (/proc/<daemon pid>/environ holds the OAuth
// token, and the container's uid is often the desktop user's), devices,
// agent and bus sockets, the engine's storage and the system's
// configuration and programs.
var systemDirs = []string{"/proc", "/sys", "/dev", "/run", "/var/run", "/etc", "/usr", "/boot",
	"/bin", "/sbin", "/lib", "/lib64", "/var/lib/docker"}

// sharedDirs are refused as a whole (they hold other people's and
// programs' files, not a project); a directory below them is fine.
var sharedDirs = []string{"/tmp", "/var/tmp", "/var", "/opt", "/srv", "/mnt", "/media", "/home"}

// mountGuard knows the host paths a workdir must not expose, resolved.
type mountGuard struct {
	clauderonHome string
	userHome      string // "" when unknown
	sockets       []string
	system        []string // refused with everything below them
	runtimeDir    string   // $XDG_RUNTIME_DIR, resolved; "" when unset
	shared        []string // refused exactly
}

func newMountGuard(clauderonHome, userHome string, sockets []string) mountGuard {
	g := mountGuard{clauderonHome: resolvePath(clauderonHome)}
	if userHome != "" {
		g.userHome = resolvePath(userHome)
	}
	// Both spellings of each: /var/run is often a link to /run, /lib to /usr/lib.
	for _, d := range systemDirs {
		g.system = append(g.system, d, resolvePath(d))
	}
	for _, d := range sharedDirs {
		g.shared = append(g.shared, d, resolvePath(d))
	}
	// The D-Bus session bus (and through it the Secret Service) and the
	// ssh and gpg agents listen here.
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" && filepath.IsAbs(d) {
		g.runtimeDir = resolvePath(d)
	}
	for _, s := range sockets {
		if filepath.IsAbs(s) {
			// Both spellings: /var/run is often a link to /run.
			g.sockets = append(g.sockets, filepath.Clean(s), resolvePath(s))
		}
	}
	return g
}

// resolvePath resolves the symbolic links of an absolute path's longest
// existing prefix, so a socket that does not exist yet is still placed right.
func resolvePath(p string) string {
	p = filepath.Clean(p)
	if r, err := filepath.EvalSymlinks(p); err == nil {
		return r
	}
	dir, base := filepath.Split(p)
	if dir == p || base == "" {
		return p
	}
	return filepath.Join(resolvePath(dir), base)
}

// within reports whether p is dir or below it.
func within(p, dir string) bool {
	return p == dir || dir == "/" || strings.HasPrefix(p, dir+"/")
}

const pickProject = "pick a project directory (--workdir DIR) or use --no-workdir"

// check validates a workdir and returns it with its links resolved: the
// path that is then copied.
func (g mountGuard) check(dir string) (string, error) {
	return g.checkAs("workdir", pickProject, dir)
}

// checkAs validates a host directory that a container will see (what names
// it in messages, such as "workdir" or "--mount source"; instead says what to
// do when it is refused) and returns it with its links resolved.
func (g mountGuard) checkAs(what, instead, dir string) (string, error) {
	if !filepath.IsAbs(dir) {
		return "", Errorf(ErrInvalid, "%s %q must be an absolute path", what, dir)
	}
	if strings.ContainsAny(dir, ":,\x00") {
		return "", Errorf(ErrInvalid, "%s %q contains a character that cannot be mounted (':' or ',')", what, dir)
	}
	dir = filepath.Clean(dir)
	fi, err := os.Stat(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return "", Errorf(ErrInvalid, "%s %s does not exist", what, dir)
		}
		return "", Errorf(ErrInvalid, "%s %s cannot be used: %v", what, dir, err)
	}
	if !fi.IsDir() {
		return "", Errorf(ErrInvalid, "%s %s is not a directory", what, dir)
	}
	real, err := filepath.EvalSymlinks(dir)
	if err != nil {
		return "", Errorf(ErrInvalid, "%s %s cannot be resolved: %v", what, dir, err)
	}
	shown := dir
	if real != dir {
		shown = dir + " (" + real + ")"
	}
	if strings.ContainsAny(real, ":,") {
		return "", Errorf(ErrInvalid, "%s %s contains a character that cannot be mounted (':' or ',')", what, shown)
	}
	refuse := func(why string) error {
		return Errorf(ErrInvalid, "%s %s %s; %s", what, shown, why, instead)
	}
	if real == "/" {
		return "", refuse("is the whole host filesystem: the container would see every file, clauderon's keys and the Docker socket")
	}
	if real == g.userHome {
		return "", refuse("is your home directory: the container would see your credentials (~/.claude, ~/.ssh, …) and clauderon's keys")
	}
	ch := g.clauderonHome
	switch {
	case real == ch:
		return "", refuse("is clauderon's home, which holds the key of every session's proxy credential and the proxy CA's private key")
	case within(real, ch):
		return "", refuse("is inside clauderon's home " + ch + ", which holds the key of every session's proxy credential and the proxy CA's private key")
	case within(ch, real):
		return "", refuse("contains clauderon's home " + ch + ", which holds the key of every session's proxy credential and the proxy CA's private key")
	}
	if h := g.userHome; h != "" {
		if within(h, real) {
			return "", refuse("contains your home directory " + h + ": the container would see your credentials (~/.claude, ~/.ssh, …)")
		}
		for _, c := range credentialDirs {
			d := filepath.Join(h, c)
			if within(real, d) {
				return "", refuse("is in " + d + ", which holds credentials")
			}
			if within(d, real) {
				return "", refuse("contains " + d + ", which holds credentials")
			}
		}
	}
	for _, s := range g.sockets {
		if within(s, real) {
			return "", refuse("contains the Docker socket " + s + ": a container that reaches it controls the host")
		}
	}
	for _, d := range g.shared {
		if real == d {
			return "", refuse("is a shared system directory, not a project; use a directory below it")
		}
	}
	if d := g.runtimeDir; d != "" && (within(real, d) || within(d, real)) {
		return "", refuse("is or holds your runtime directory " + d + ", where your session bus (and keyring) and ssh/gpg agents listen")
	}
	for _, d := range g.system {
		switch {
		case within(real, d):
			return "", refuse("is in the system directory " + d + ", which holds other processes' secrets, devices or the system's own files")
		case within(d, real):
			return "", refuse("contains the system directory " + d + ", which holds other processes' secrets, devices or the system's own files")
		}
	}
	return real, nil
}
