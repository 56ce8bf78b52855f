package docker

import (
	"archive/tar"
	"bytes"
	"context"
	"fmt"
	"io"
	"os"
	"path"
	"strconv"
	"strings"
	"sync"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/clauderon/clauderon/backend"
)

// The image is untrusted: what is read of it is bounded and checked.
const (
	// maxAccountFile bounds /etc/passwd and /etc/group (a large distribution's
	// are a few KiB).
	maxAccountFile = 1 << 20
	// maxID is the largest uid or gid the engine accepts.
	maxID = 1<<31 - 1
	// maxLinks bounds the symlinks followed to reach /etc/passwd.
	maxLinks = 8
	// maxUserCache bounds the remembered image users.
	maxUserCache = 256
)

// userCache remembers image users by image ID: an ID names one content.
type userCache struct {
	mu sync.Mutex
	m  map[string]backend.ImageUser
}

func (c *userCache) get(id string) (backend.ImageUser, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	u, ok := c.m[id]
	return u, ok
}

func (c *userCache) put(id string, u backend.ImageUser) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil || len(c.m) >= maxUserCache {
		c.m = map[string]backend.ImageUser{}
	}
	c.m[id] = u
}

// ImageUser resolves the image's USER in its own /etc/passwd and /etc/group,
// read from a container that is created and removed but never started, so
// nothing of the image runs.
func (b *Backend) ImageUser(ctx context.Context, ref string) (backend.ImageUser, error) {
	info, err := b.cli.ImageInspect(ctx, ref)
	if err != nil {
		if cerrdefs.IsNotFound(err) && !unreachable(err) {
			return backend.ImageUser{}, fmt.Errorf("%w: %s", backend.ErrImageNotFound, ref)
		}
		return backend.ImageUser{}, b.wrap(err, "inspect image "+ref)
	}
	if u, ok := b.users.get(info.ID); ok {
		return u, nil
	}
	spec := ""
	if info.Config != nil {
		spec = info.Config.User
	}
	u, err := b.probeUser(ctx, info.ID, spec)
	if err != nil {
		return backend.ImageUser{}, fmt.Errorf("image %s: %w", ref, err)
	}
	b.users.put(info.ID, u)
	return u, nil
}

func (b *Backend) probeUser(ctx context.Context, imageID, spec string) (backend.ImageUser, error) {
	resp, err := b.cli.ContainerCreate(ctx, &container.Config{
		Image: imageID,
		// Never started; an entrypoint is set only because the engine
		// refuses to create a container that has no command.
		Entrypoint:      []string{"/clauderon-never-runs"},
		Cmd:             []string{},
		NetworkDisabled: true,
		Labels:          map[string]string{"dev.clauderon.probe": "image-user"},
	}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		return backend.ImageUser{}, b.wrap(err, "create a container to read its users")
	}
	defer func() {
		_ = b.cli.ContainerRemove(context.WithoutCancel(ctx), resp.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	}()
	passwd, err := b.readFile(ctx, resp.ID, "/etc/passwd")
	if err != nil {
		return backend.ImageUser{}, err
	}
	var group []byte
	if _, g, ok := strings.Cut(spec, ":"); ok && !isID(g) {
		if group, err = b.readFile(ctx, resp.ID, "/etc/group"); err != nil {
			return backend.ImageUser{}, err
		}
	}
	u, err := resolveUser(spec, parsePasswd(passwd), parseGroup(group))
	if err != nil {
		return backend.ImageUser{}, err
	}
	// A link anywhere on the way to a home could lead the engine, which
	// makes the claude.json mount point there, into a bind mount (the
	// workspace, a --mount): such a home is not used, and an image whose
	// /home, where clauderon would make one, is a link is refused.
	if link, err := b.linkOnPath(ctx, resp.ID, madeHomeClaudeJSON); err != nil {
		return backend.ImageUser{}, err
	} else if link != "" {
		return backend.ImageUser{}, fmt.Errorf("%w: the image's %s is a link, so clauderon cannot make a home there safely; make it a directory (or remove it) in the image", backend.ErrImageUser, link)
	}
	if u.Home != "" {
		link, err := b.linkOnPath(ctx, resp.ID, path.Join(u.Home, ".claude.json"))
		if err != nil {
			return backend.ImageUser{}, err
		}
		if link == "" {
			hdr, err := b.statPath(ctx, resp.ID, u.Home)
			if err != nil {
				return backend.ImageUser{}, err
			}
			u.HomeWritable = hdr != nil && canWrite(hdr, u.UID, u.GID)
		}
	}
	return u, nil
}

// madeHomeClaudeJSON is where a session's claude.json goes when clauderon
// makes its home (session.FallbackHome): no component of it may be a link.
const madeHomeClaudeJSON = "/home/clauderon/.claude.json"

// linkOnPath returns the first component of p (absolute, clean) that is a
// symbolic link in the container, or "" when none is (or p is missing).
func (b *Backend) linkOnPath(ctx context.Context, id, p string) (string, error) {
	cur := "/"
	for _, part := range strings.Split(strings.TrimPrefix(path.Clean(p), "/"), "/") {
		if part == "" {
			continue
		}
		cur = path.Join(cur, part)
		st, err := b.cli.ContainerStatPath(ctx, id, cur)
		switch {
		case err != nil && unreachable(err):
			return "", b.wrap(err, "stat "+cur)
		case err != nil:
			return "", nil // missing (or unreadable): nothing to follow
		case st.LinkTarget != "" || st.Mode&os.ModeSymlink != 0:
			return cur, nil
		}
	}
	return "", nil
}

// readFile returns the content of a regular file of a container, or nil
// when it does not exist. Links are resolved inside the container's root:
// by the engine, or here when an engine hands one back.
func (b *Backend) readFile(ctx context.Context, id, p string) ([]byte, error) {
	for range maxLinks {
		rc, _, err := b.cli.CopyFromContainer(ctx, id, p)
		if err != nil {
			switch {
			case unreachable(err):
				return nil, b.wrap(err, "read "+p)
			case cerrdefs.IsNotFound(err):
				return nil, nil
			}
			// Such as a link loop, which the engine follows itself.
			return nil, fmt.Errorf("%w: cannot read the image's %s: %v", backend.ErrImageUser, p, err)
		}
		data, link, err := firstFile(rc, p)
		rc.Close()
		if err != nil || link == "" {
			return data, err
		}
		if !path.IsAbs(link) {
			link = path.Join(path.Dir(p), link)
		}
		p = path.Clean(link)
	}
	return nil, fmt.Errorf("%w: the image's account files are links more than %d deep", backend.ErrImageUser, maxLinks)
}

// firstFile reads the one entry of a copy of p: its content when it is a
// regular file, its target when it is a link.
func firstFile(r io.Reader, p string) (data []byte, link string, err error) {
	tr := tar.NewReader(r)
	hdr, err := tr.Next()
	if err != nil {
		return nil, "", fmt.Errorf("read %s of the image: %w", p, err)
	}
	switch hdr.Typeflag {
	case tar.TypeSymlink:
		return nil, hdr.Linkname, nil
	case tar.TypeReg:
	default:
		return nil, "", fmt.Errorf("%w: the image's %s is not a regular file", backend.ErrImageUser, p)
	}
	if hdr.Size > maxAccountFile {
		return nil, "", fmt.Errorf("%w: the image's %s is larger than %d bytes", backend.ErrImageUser, p, maxAccountFile)
	}
	data, err = io.ReadAll(io.LimitReader(tr, maxAccountFile))
	if err != nil {
		return nil, "", fmt.Errorf("read %s of the image: %w", p, err)
	}
	return data, "", nil
}

// statPath returns the header of a container path itself (its type, owner
// and mode), or nil when the engine cannot show it: missing, or a link loop
// (the engine resolves links), which is no home to use either. Only the
// first header is read.
func (b *Backend) statPath(ctx context.Context, id, p string) (*tar.Header, error) {
	rc, _, err := b.cli.CopyFromContainer(ctx, id, p)
	if err != nil {
		if unreachable(err) {
			return nil, b.wrap(err, "look at "+p)
		}
		return nil, nil
	}
	defer rc.Close()
	hdr, err := tar.NewReader(rc).Next()
	if err != nil {
		return nil, nil
	}
	return hdr, nil
}

// canWrite reports whether uid (with primary group gid) may create files in
// the directory hdr describes, by its mode bits alone: a container runs
// without capabilities, so nothing overrides them.
func canWrite(hdr *tar.Header, uid, gid int) bool {
	if hdr.Typeflag != tar.TypeDir {
		return false
	}
	m := hdr.Mode
	switch {
	case hdr.Uid == uid:
		return m&0o300 == 0o300
	case hdr.Gid == gid:
		return m&0o030 == 0o030
	}
	return m&0o003 == 0o003
}

// account is one line of /etc/passwd or /etc/group.
type account struct {
	name     string
	uid, gid int    // uid is unused for groups
	home     string // "" when not a clean absolute path
}

// parsePasswd reads /etc/passwd (name:password:uid:gid:gecos:home:shell).
// Malformed lines are skipped, as the C library does.
func parsePasswd(b []byte) []account {
	var out []account
	for _, f := range accountLines(b, 7) {
		uid, ok1 := parseID(f[2])
		gid, ok2 := parseID(f[3])
		if !ok1 || !ok2 {
			continue
		}
		a := account{name: f[0], uid: uid, gid: gid}
		if validHome(f[5]) {
			a.home = f[5]
		}
		out = append(out, a)
	}
	return out
}

// parseGroup reads /etc/group (name:password:gid:members).
func parseGroup(b []byte) []account {
	var out []account
	for _, f := range accountLines(b, 4) {
		if gid, ok := parseID(f[2]); ok {
			out = append(out, account{name: f[0], gid: gid})
		}
	}
	return out
}

// accountLines splits an account file into lines of exactly n fields with a
// valid name; comments, NIS lines (+, -) and anything else are skipped.
func accountLines(b []byte, n int) [][]string {
	var out [][]string
	for line := range bytes.SplitSeq(b, []byte("\n")) {
		f := strings.Split(string(line), ":")
		if len(f) != n || !validName(f[0]) {
			continue
		}
		out = append(out, f)
	}
	return out
}

// validName accepts the names useradd makes, and a little more (a trailing
// '$', dots, '@'): printable, no separators, at most 64 bytes.
func validName(s string) bool {
	if s == "" || len(s) > 64 || s[0] == '-' || s[0] == '+' || s[0] == '#' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("._-@$", c) >= 0) {
			return false
		}
	}
	return true
}

// validHome accepts a clean absolute path of printable ASCII other than "/"
// (which no unprivileged user can write) and without ',' or ':'.
func validHome(s string) bool {
	if len(s) < 2 || len(s) > 1024 || s[0] != '/' || path.Clean(s) != s {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x21 || c > 0x7e || c == ',' || c == ':' || c == '\\' {
			return false
		}
	}
	return true
}

func isID(s string) bool { _, ok := parseID(s); return ok }

// parseID reads a decimal uid or gid the engine accepts: digits only (no
// sign, no spaces), at most maxID.
func parseID(s string) (int, bool) {
	if s == "" || len(s) > 10 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil || n > maxID {
		return 0, false
	}
	return int(n), true
}

// resolveUser resolves a USER (user, uid, user:group, uid:gid or "") as the
// engine does: a name must be in passwd; a uid need not, and then has gid 0
// and no home; a group name must be in group.
func resolveUser(spec string, passwd, group []account) (backend.ImageUser, error) {
	u := backend.ImageUser{Config: spec}
	if len(spec) > 256 || strings.ContainsFunc(spec, func(r rune) bool { return r < 0x21 || r > 0x7e }) {
		return u, fmt.Errorf("%w: the image's USER %q is malformed", backend.ErrImageUser, spec)
	}
	name, grp, hasGroup := strings.Cut(spec, ":")
	if name == "" {
		name = "0"
	}
	var entry *account
	if id, ok := parseID(name); ok {
		u.UID = id
		for i := range passwd {
			if passwd[i].uid == id {
				entry = &passwd[i]
				break
			}
		}
	} else {
		for i := range passwd {
			if passwd[i].name == name {
				entry = &passwd[i]
				break
			}
		}
		if entry == nil {
			return u, fmt.Errorf("%w: the image's USER %q is not in its /etc/passwd", backend.ErrImageUser, name)
		}
		u.UID = entry.uid
	}
	if entry != nil {
		u.Name, u.GID, u.Home = entry.name, entry.gid, entry.home
	}
	if hasGroup {
		if id, ok := parseID(grp); ok {
			u.GID = id
		} else {
			found := false
			for _, g := range group {
				if g.name == grp {
					u.GID, found = g.gid, true
					break
				}
			}
			if !found {
				return u, fmt.Errorf("%w: the image's USER names group %q, which is not in its /etc/group", backend.ErrImageUser, grp)
			}
		}
	}
	return u, nil
}

// makeDirs makes dirs in the created container id, through the engine's
// archive upload (extracted inside the container's root, so a link in the
// image cannot lead it out). On failure the container is removed.
func (b *Backend) makeDirs(ctx context.Context, id string, dirs []backend.Dir) (string, error) {
	if len(dirs) == 0 {
		return id, nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	err := error(nil)
	for _, d := range dirs {
		if !path.IsAbs(d.Path) || path.Clean(d.Path) != d.Path || d.Path == "/" {
			err = fmt.Errorf("directory %q is not a clean absolute path", d.Path)
			break
		}
		// No trailing slash: the engine then makes missing parents.
		if err = tw.WriteHeader(&tar.Header{Typeflag: tar.TypeDir, Name: d.Path[1:], Mode: int64(d.Mode.Perm()), Uid: d.UID, Gid: d.GID}); err != nil {
			break
		}
	}
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = b.wrapContainer(b.cli.CopyToContainer(ctx, id, "/", &buf, container.CopyToContainerOptions{}), "make directories in", id)
	}
	if err != nil {
		_ = b.cli.ContainerRemove(context.WithoutCancel(ctx), id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		return "", err
	}
	return id, nil
}
