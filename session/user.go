package session

import (
	"context"
	"errors"
	"fmt"
	"path"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/workspace"
)

// What a session runs as when its image's own user is root (or it names
// none): never root, and a home clauderon makes for it.
const (
	FallbackUID  = 1000
	FallbackGID  = 1000
	FallbackHome = "/home/clauderon"
)

// User is who a session's container runs as: the image's own non-root user,
// or the fallback. It is resolved once, when the session is created.
type User struct {
	Name string `json:"name,omitempty"` // the image's name for it; "" for none
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	Home string `json:"home"` // HOME; the session's claude.json is in it
	// MadeHome: the image gives the user no home it can write, so
	// clauderon makes Home (0700, the user's) in the container.
	MadeHome bool `json:"made_home,omitempty"`
	// Fallback: the image's own user is root, so the container runs as
	// FallbackUID:FallbackGID instead.
	Fallback bool `json:"fallback,omitempty"`
}

// RunAs is who a container of an image whose own user is iu runs as.
func RunAs(iu backend.ImageUser) User {
	if iu.UID == 0 {
		return User{UID: FallbackUID, GID: FallbackGID, Home: FallbackHome, MadeHome: true, Fallback: true}
	}
	u := User{Name: iu.Name, UID: iu.UID, GID: iu.GID, Home: iu.Home}
	if !iu.HomeWritable || !homeAllowed(iu.Home) {
		u.Home, u.MadeHome = FallbackHome, true
	}
	return u
}

// homeAllowed refuses a home (which the image chooses) where the
// claude.json mount would land in what clauderon mounts or the system's
// own directories: the engine would make its mount point there, on the host
// for a workspace or an object store.
func homeAllowed(home string) bool {
	if home == "" || !path.IsAbs(home) || path.Clean(home) != home || home == "/" {
		return false
	}
	for _, r := range append([]string{ContainerWorkdir, workspace.ContainerObjects, "/opt/clauderon"}, reservedTargets...) {
		if within(home, r) || within(r, home) {
			return false
		}
	}
	return true
}

// SpecUser is the engine's user spec, numeric so that it means exactly the
// uid and gid the workspace was given.
func (u User) SpecUser() string { return fmt.Sprintf("%d:%d", u.UID, u.GID) }

// ClaudeCfg is where the session's claude.json is mounted.
func (u User) ClaudeCfg() string { return path.Join(u.Home, ".claude.json") }

// Dirs are what the engine makes in the container for this user.
func (u User) Dirs() []backend.Dir {
	if !u.MadeHome {
		return nil
	}
	return []backend.Dir{{Path: u.Home, UID: u.UID, GID: u.GID, Mode: 0o700}}
}

// Env is the user's environment: HOME, which the engine sets only from the
// image's passwd.
func (u User) Env() []string { return []string{"HOME=" + u.Home} }

// String describes the user for people: "agent (uid 1001, gid 1001)".
func (u User) String() string {
	ids := fmt.Sprintf("uid %d, gid %d", u.UID, u.GID)
	if u.Name == "" {
		return ids
	}
	return u.Name + " (" + ids + ")"
}

// runAs resolves who a new session of o.Image runs as, and checks that no
// --mount covers where its claude.json goes.
func (m *Manager) runAs(ctx context.Context, o Options) (User, error) {
	iu, err := m.cfg.Backend.ImageUser(ctx, o.Image)
	if errors.Is(err, backend.ErrImageUser) {
		return User{}, Errorf(ErrImage, "%v; fix the image's USER (see `clauderon doctor --image %s`)", err, o.Image)
	}
	if err != nil {
		return User{}, engineErr("reading the image's user", err)
	}
	u := RunAs(iu)
	if err := checkUserMounts(u, o.Mounts); err != nil {
		return User{}, err
	}
	return u, nil
}

// checkUserMounts refuses a --mount that is or holds the claude.json's
// place, as checkMounts does for the other paths clauderon mounts.
func checkUserMounts(u User, ms []Mount) error {
	cfg := u.ClaudeCfg()
	for _, mt := range ms {
		t := mt.Target
		if t == "" {
			t = mt.Source
		}
		if within(cfg, t) {
			return Errorf(ErrInvalid, "--mount target %s is or holds %s, the session's own claude.json (in the home of the image's user, %s); mount elsewhere (for example /data)", t, cfg, u)
		}
	}
	return nil
}
