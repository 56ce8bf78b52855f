package session

import (
	"context"
	"errors"
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

// UserDirs are what the engine makes in the container for u: its home,
// when clauderon makes it.
func UserDirs(u User) []backend.Dir {
	if !u.MadeHome {
		return nil
	}
	return []backend.Dir{{Path: u.Home, UID: u.UID, GID: u.GID, Mode: 0o700}}
}

// runAs resolves who a new session of o.Image runs as, and checks that no
// --mount covers where its claude.json goes.
func (m *Manager) runAs(ctx context.Context, be backend.Backend, o Options) (User, error) {
	iu, err := be.ImageUser(ctx, o.Image)
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
