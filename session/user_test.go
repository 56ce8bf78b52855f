package session

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"

	"github.com/clauderon/clauderon/backend"
)

func TestRunAs(t *testing.T) {
	fallback := User{UID: FallbackUID, GID: FallbackGID, Home: FallbackHome, MadeHome: true, Fallback: true}
	own := func(home string) backend.ImageUser {
		return backend.ImageUser{Config: "agent", Name: "agent", UID: 1001, GID: 1002, Home: home, HomeWritable: true}
	}
	made := User{Name: "agent", UID: 1001, GID: 1002, Home: FallbackHome, MadeHome: true}
	tests := []struct {
		name string
		in   backend.ImageUser
		want User
	}{
		{"no USER: root", backend.ImageUser{Name: "root", Home: "/root", HomeWritable: true}, fallback},
		{"USER root:staff", backend.ImageUser{Config: "root:staff", Name: "root", GID: 50, Home: "/root", HomeWritable: true}, fallback},
		{"USER 0", backend.ImageUser{Config: "0", UID: 0}, fallback},
		{"the image's own user", own("/home/agent"), User{Name: "agent", UID: 1001, GID: 1002, Home: "/home/agent"}},
		{"a uid without an entry", backend.ImageUser{Config: "4242", UID: 4242}, User{UID: 4242, Home: FallbackHome, MadeHome: true}},
		{"a home it cannot write", backend.ImageUser{Name: "agent", UID: 1001, GID: 1002, Home: "/nonexistent"}, made},
		{"a home in the workspace", own("/workspace/x"), made},
		{"the workspace as home", own("/workspace"), made},
		{"a home in the object store", own("/opt/clauderon/source-objects"), made},
		{"a home above the object store", own("/opt"), made},
		{"a home in /etc", own("/etc/clauderon"), made},
		{"a home in /proc", own("/proc/self"), made},
		{"an unclean home", own("/home/../workspace"), made},
		{"a relative home", own("home/agent"), made},
	}
	for _, tt := range tests {
		if got := RunAs(tt.in); got != tt.want {
			t.Errorf("%s: RunAs(%+v) = %+v, want %+v", tt.name, tt.in, got, tt.want)
		}
	}
}

func TestUserSpecParts(t *testing.T) {
	u := RunAs(backend.ImageUser{})
	if u.SpecUser() != "1000:1000" || u.ClaudeCfg() != "/home/clauderon/.claude.json" || !slices.Equal(u.Env(), []string{"HOME=/home/clauderon"}) {
		t.Errorf("fallback: user %q, claude.json %q, env %v", u.SpecUser(), u.ClaudeCfg(), u.Env())
	}
	if d := UserDirs(u); len(d) != 1 || d[0] != (backend.Dir{Path: "/home/clauderon", UID: 1000, GID: 1000, Mode: 0o700}) {
		t.Errorf("fallback dirs: %+v", d)
	}
	own := RunAs(fakeUser)
	if UserDirs(own) != nil || own.String() != "agent (uid 1234, gid 1235)" {
		t.Errorf("own user: dirs %+v, %s", UserDirs(own), own)
	}
}

func TestCheckUserMounts(t *testing.T) {
	u := RunAs(fakeUser)
	for _, tt := range []struct {
		target string
		ok     bool
	}{
		{"/data", true}, {"/home/agent/.ssh", true}, {"/home/agents", true},
		{"/home/agent/.claude.json", false}, {"/home/agent", false}, {"/home", false},
	} {
		err := checkUserMounts(u, []Mount{{Source: "/src", Target: tt.target}})
		if tt.ok != (err == nil) || (err != nil && (!errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "/home/agent/.claude.json"))) {
			t.Errorf("--mount at %s: %v", tt.target, err)
		}
	}
	// A mount's target defaults to its source.
	if err := checkUserMounts(u, []Mount{{Source: "/home"}}); err == nil {
		t.Error("a mount of /home at its own path was allowed")
	}
}

// TestCreateAsImageUser: a session runs as its image's user, with that
// user's home; an image whose user is root runs as uid 1000 in a home
// clauderon makes; the user is in the session's state; the workspace and the
// claude.json are that user's.
func TestCreateAsImageUser(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.be.images["rooty"] = true
	h.be.users = map[string]backend.ImageUser{"rooty": {Name: "root", Home: "/root", HomeWritable: true}}

	for _, tt := range []struct {
		image string
		want  User
		dirs  int
	}{
		{DefaultImage, User{Name: "agent", UID: 1234, GID: 1235, Home: "/home/agent"}, 0},
		{"rooty", User{UID: 1000, GID: 1000, Home: FallbackHome, MadeHome: true, Fallback: true}, 1},
	} {
		name := "u-" + strings.NewReplacer(":", "", ".", "").Replace(tt.image)
		name = name[:min(len(name), 20)]
		repo := filepath.Join(t.TempDir(), "r")
		newRepo(t, repo)
		s, err := h.m.Create(ctx, Options{Name: name, Image: tt.image, Workdir: repo})
		if err != nil {
			t.Fatal(err)
		}
		if s.User != tt.want {
			t.Errorf("%s: session user %+v, want %+v", tt.image, s.User, tt.want)
		}
		spec := h.be.specs[s.ContainerID]
		if spec.User != fmt.Sprintf("%d:%d", tt.want.UID, tt.want.GID) || len(spec.Dirs) != tt.dirs || !slices.Contains(spec.Env, "HOME="+tt.want.Home) {
			t.Errorf("%s: spec user %q, dirs %+v, env %v", tt.image, spec.User, spec.Dirs, spec.Env)
		}
		var cfg string
		for _, m := range spec.Mounts {
			if strings.HasSuffix(m.Source, "claude.json") {
				cfg = m.Target
			}
		}
		if cfg != tt.want.Home+"/.claude.json" {
			t.Errorf("%s: claude.json mounted at %q", tt.image, cfg)
		}
		if os.Geteuid() == 0 {
			for _, p := range []string{filepath.Join(s.Workspace.Dir, "f.txt"), filepath.Join(h.home, "sessions", name, "claude.json")} {
				fi, err := os.Stat(p)
				if err != nil {
					t.Fatal(err)
				}
				if st := fi.Sys().(*syscall.Stat_t); int(st.Uid) != tt.want.UID {
					t.Errorf("%s: %s is owned by uid %d, not the container's %d", tt.image, p, st.Uid, tt.want.UID)
				}
			}
		}
	}

	// A restarted daemon knows who each session runs as.
	h.open(t)
	if s, err := h.m.Get("u-rooty"); err != nil || !s.User.Fallback || s.User.UID != 1000 {
		t.Errorf("after a restart: %+v, %v", s.User, err)
	}
}

func TestCreateImageUserErrors(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	h.be.images["ghostly"] = true
	h.be.userErrs = map[string]error{"ghostly": fmt.Errorf("image ghostly: %w: the image's USER \"ghost\" is not in its /etc/passwd", backend.ErrImageUser)}
	_, err := h.m.Create(ctx, Options{Name: "g", Image: "ghostly"})
	if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), `"ghost" is not in its /etc/passwd`) || !strings.Contains(err.Error(), "doctor --image ghostly") {
		t.Errorf("create of an image whose USER is missing: %v", err)
	}
	_, err = h.m.Create(ctx, Options{Name: "h", Mounts: []Mount{{Source: t.TempDir(), Target: "/home/agent"}}})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "/home/agent/.claude.json") {
		t.Errorf("create with a mount over the user's claude.json: %v", err)
	}
	for _, n := range []string{"g", "h"} {
		if _, err := h.m.Get(n); !errors.Is(err, ErrNotFound) {
			t.Errorf("a refused create left session %s: %v", n, err)
		}
	}
	if len(h.be.cs) != 0 {
		t.Errorf("a refused create left containers: %v", h.be.cs)
	}
}
