package session

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestWorkdirGuard: a workdir that would show a container clauderon's
// keys, the user's credentials or the engine's socket is refused with a
// reason and a way out, symlinks included.
func TestWorkdirGuard(t *testing.T) {
	root := t.TempDir()
	mk := func(p string) string {
		t.Helper()
		p = filepath.Join(root, p)
		if err := os.MkdirAll(p, 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	userHome := mk("home/alice")
	chome := mk("home/alice/.clauderon")
	project := mk("home/alice/src/proj")
	claudeDir := mk("home/alice/.claude")
	sshDir := mk("home/alice/.ssh/keys")
	run := mk("run")
	otherHome := mk("elsewhere/chome") // a CLAUDERON_HOME outside the user's home
	sock := filepath.Join(run, "docker.sock")
	os.WriteFile(sock, nil, 0o600)
	hostSock := filepath.Join(mk("var/lib/ctr"), "podman.sock") // does not exist: still guarded
	link := filepath.Join(root, "link-to-home")
	if err := os.Symlink(userHome, link); err != nil {
		t.Fatal(err)
	}
	linkProj := filepath.Join(root, "link-to-proj")
	os.Symlink(project, linkProj)

	g := newMountGuard(chome, userHome, []string{sock, hostSock})
	g2 := newMountGuard(otherHome, userHome, nil)
	tests := []struct {
		name  string
		g     mountGuard
		dir   string
		want  string // substring of the error; "" for accepted
		wantD string // the workdir kept, when accepted
	}{
		{"project", g, project, "", project},
		{"project through a symlink", g, linkProj, "", project},
		{"project with dots", g, project + "/../proj/.", "", project},
		{"root", g, "/", "whole host filesystem", ""},
		{"user home", g, userHome, "is your home directory", ""},
		{"user home through a symlink", g, link, "is your home directory", ""},
		{"above the user home", g2, filepath.Dir(userHome), "contains your home directory", ""},
		{"clauderon home", g, chome, "is clauderon's home", ""},
		{"inside clauderon home", g, mk("home/alice/.clauderon/sessions"), "inside clauderon's home", ""},
		{"contains clauderon home", g2, filepath.Dir(otherHome), "contains clauderon's home", ""},
		{"clauderon home elsewhere", g2, otherHome, "is clauderon's home", ""},
		{"claude credentials", g, claudeDir, "holds credentials", ""},
		{"ssh keys below", g, sshDir, "holds credentials", ""},
		{"contains a credential directory", g, mk("home/alice/.config/gh/.."), "contains " + filepath.Join(userHome, ".config") + "/", ""},
		{"a project next to credentials", g, mk("home/alice/.config/myproj"), "", filepath.Join(userHome, ".config/myproj")},
		{"docker socket dir", g, run, "Docker socket", ""},
		{"parent of a missing socket path", g, filepath.Dir(hostSock), "Docker socket", ""},
		{"contains everything", g2, root, "contains clauderon's home", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.g.check(tc.dir)
			if tc.want == "" {
				if err != nil || got != tc.wantD {
					t.Errorf("check(%s) = %q, %v; want %q accepted", tc.dir, got, err, tc.wantD)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("check(%s) = %v; want ErrInvalid containing %q", tc.dir, err, tc.want)
			}
			if !strings.Contains(err.Error(), "--no-workdir") || !strings.Contains(err.Error(), "project directory") {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}

// TestDefaultEngineSockets names the usual sockets and DOCKER_HOST's.
func TestDefaultEngineSockets(t *testing.T) {
	t.Setenv("DOCKER_HOST", "unix:///srv/engine/d.sock")
	t.Setenv("XDG_RUNTIME_DIR", "")
	got := strings.Join(DefaultEngineSockets(), " ")
	for _, want := range []string{"/var/run/docker.sock", "/run/docker.sock", "/srv/engine/d.sock"} {
		if !strings.Contains(got, want) {
			t.Errorf("DefaultEngineSockets() = %s, lacks %s", got, want)
		}
	}
	t.Setenv("DOCKER_HOST", "tcp://127.0.0.1:2375")
	if got := DefaultEngineSockets(); len(got) != 2 {
		t.Errorf("with a TCP DOCKER_HOST: %v", got)
	}
}

// TestCreateRefusesGuardedWorkdir: the manager applies the guard with its
// own home, so a create asking for CLAUDERON_HOME leaves nothing behind.
func TestCreateRefusesGuardedWorkdir(t *testing.T) {
	h := newHarness(t)
	_, err := h.m.Create(t.Context(), Options{Name: "a", Workdir: h.home})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "clauderon's home") {
		t.Fatalf("create with workdir = CLAUDERON_HOME: %v", err)
	}
	if len(h.be.cs) != 0 || len(h.m.List()) != 0 {
		t.Errorf("left behind: %d containers, %d sessions", len(h.be.cs), len(h.m.List()))
	}
}

// TestWorkdirGuardSystemDirs: the host's system directories (and anything
// below them), the user's runtime directory and the shared top-level
// directories are refused; project directories below /tmp stay allowed.
func TestWorkdirGuardSystemDirs(t *testing.T) {
	runtime := t.TempDir()
	bus := filepath.Join(runtime, "bus-dir")
	if err := os.Mkdir(bus, 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("XDG_RUNTIME_DIR", runtime)
	project := t.TempDir() // below /tmp (or $TMPDIR), as the e2e tests' workdirs are
	link := filepath.Join(t.TempDir(), "to-proc")
	if err := os.Symlink("/proc", link); err != nil {
		t.Fatal(err)
	}
	g := newMountGuard("/nonexistent/clauderon-home", "/nonexistent/user-home", nil)
	tests := []struct {
		dir  string
		want string // substring of the error; "" for accepted
	}{
		{"/proc", "system directory /proc"},
		{"/proc/self", "system directory /proc"},
		{"/proc/1", "system directory /proc"},
		{link, "system directory /proc"},
		{"/sys", "system directory"},
		{"/sys/kernel", "system directory"},
		{"/dev", "system directory"},
		{"/dev/shm", "system directory"},
		{"/run", "system directory"},
		{"/run/user", "system directory"},
		{"/var/run", "system directory"},
		{"/etc", "system directory"},
		{"/etc/ssl", "system directory"},
		{"/usr", "system directory"},
		{"/usr/local", "system directory"},
		{"/boot", "system directory"},
		{"/bin", "system directory"},
		{"/sbin", "system directory"},
		{"/lib", "system directory"},
		{"/lib64", "system directory"},
		{"/var/lib/docker", "system directory"},
		{"/var/lib", "contains the system directory"},
		{runtime, "runtime directory"},
		{bus, "runtime directory"},
		{filepath.Dir(runtime), "runtime directory"},
		{"/tmp", "shared system directory"},
		{"/var/tmp", "shared system directory"},
		{"/var", "system directory"},
		{"/opt", "shared system directory"},
		{"/srv", "shared system directory"},
		{"/mnt", "shared system directory"},
		{"/media", "shared system directory"},
		{"/home", "shared system directory"},
		{project, ""},
	}
	for _, tc := range tests {
		t.Run(tc.dir, func(t *testing.T) {
			if _, err := os.Stat(tc.dir); err != nil {
				t.Skipf("%s is not on this host: %v", tc.dir, err)
			}
			got, err := g.check(tc.dir)
			if tc.want == "" {
				if err != nil {
					t.Errorf("check(%s) = %v; want it accepted", tc.dir, err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("check(%s) = %q, %v; want ErrInvalid containing %q", tc.dir, got, err, tc.want)
			}
			if !strings.Contains(err.Error(), pickProject) {
				t.Errorf("error %q does not say what to do", err)
			}
		})
	}
}
