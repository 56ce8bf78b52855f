package session

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/workspace"
)

// gitT runs the host's git for a test, with none of the machine's config.
func gitT(t *testing.T, dir string, args ...string) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=u", "GIT_AUTHOR_EMAIL=u@example.com", "GIT_COMMITTER_NAME=u", "GIT_COMMITTER_EMAIL=u@example.com")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("git %s: %v\n%s", strings.Join(args, " "), err, out)
	}
}

func newRepo(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	gitT(t, dir, "init", "-q", "-b", "main")
	if err := os.WriteFile(filepath.Join(dir, "f.txt"), []byte("f\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	gitT(t, dir, "add", "f.txt")
	gitT(t, dir, "commit", "-q", "-m", "one")
}

// TestCreateRefusesRepositoryAContainerCanWrite: a workdir whose git
// directory, or whose object store through a link, lies in a directory
// another session's container can write is refused before git reads any of
// it, so a filter that container planted in that git directory's config
// never runs on the host, and its object store can never be swapped for /
// before it is mounted.
func TestCreateRefusesRepositoryAContainerCanWrite(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	shared := t.TempDir() // what session "w" can write
	if _, err := h.m.Create(ctx, Options{Name: "w", Mounts: []Mount{{Source: shared, Target: "/data"}}}); err != nil {
		t.Fatal(err)
	}

	// A worktree outside the shared directory, of a repository inside it,
	// whose config the other container has armed.
	main := filepath.Join(shared, "main")
	newRepo(t, main)
	wt := filepath.Join(t.TempDir(), "wt")
	gitT(t, main, "worktree", "add", "-q", wt)
	sentinel := filepath.Join(t.TempDir(), "ran")
	cfg, err := os.OpenFile(filepath.Join(main, ".git", "config"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = cfg.WriteString("[filter \"x\"]\n\tclean = \"touch " + sentinel + "; cat\"\n\tsmudge = \"touch " + sentinel + "; cat\"\n")
	cfg.Close()
	if err := os.WriteFile(filepath.Join(main, ".git", "info", "attributes"), []byte("* filter=x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(wt, "f.txt"), []byte("changed\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = h.m.Create(ctx, Options{Name: "wt", Workdir: wt})
	if err == nil || !strings.Contains(err.Error(), `session "w"'s container can write`) {
		t.Errorf("create on a worktree of a repository the other container can write: %v", err)
	}
	if _, err := os.Stat(sentinel); err == nil {
		t.Error("the filter planted in the other container's git directory ran on the host")
	}

	// A repository whose object store is a link into the shared directory.
	linked := filepath.Join(t.TempDir(), "linked")
	newRepo(t, linked)
	objs := filepath.Join(shared, "store", "objects")
	if err := os.Mkdir(filepath.Dir(objs), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(linked, ".git", "objects"), objs); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(objs, filepath.Join(linked, ".git", "objects")); err != nil {
		t.Fatal(err)
	}
	_, err = h.m.Create(ctx, Options{Name: "linked", Workdir: linked})
	if err == nil || !strings.Contains(err.Error(), `session "w"'s container can write`) {
		t.Errorf("create on a repository whose objects link into the other container's mount: %v", err)
	}
	for _, n := range []string{"wt", "linked"} {
		if _, err := os.Stat(filepath.Join(h.home, "workspaces", n)); !os.IsNotExist(err) {
			t.Errorf("a refused create left its workspace %s behind: %v", n, err)
		}
	}
}

// TestLandRunningNeedsTree: the work of a running session can change between
// the user's review and the land, so the land of a running session names the
// tree that was reviewed.
func TestLandRunningNeedsTree(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	s := sessionOnRepo(t, h, "a")
	// The container's user (the image's, uid 1234) must be able to write its workspace.
	fi, err := os.Stat(filepath.Join(s.Workspace.Dir, "f.txt"))
	if err != nil {
		t.Fatal(err)
	}
	switch st := fi.Sys().(*syscall.Stat_t); {
	case os.Geteuid() == 0 && int(st.Uid) != fakeUser.UID:
		t.Errorf("a root daemon's workspace file is owned by uid %d, not the container's %d", st.Uid, fakeUser.UID)
	case os.Geteuid() != 0 && os.Geteuid() != fakeUser.UID && fi.Mode().Perm()&0o002 == 0:
		t.Errorf("a workspace file has mode %v: the container's uid %d cannot write it", fi.Mode(), fakeUser.UID)
	}
	if err := os.WriteFile(filepath.Join(s.Workspace.Dir, "f.txt"), []byte("agent\n"), 0o666); err != nil {
		t.Fatal(err)
	}
	_, err = h.m.Land(ctx, "a", workspace.LandOptions{})
	if err == nil || !strings.Contains(err.Error(), "--tree") {
		t.Fatalf("land of a running session without a tree: %v", err)
	}
	d, err := h.m.Diff(ctx, "a", workspace.DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Land(ctx, "a", workspace.LandOptions{Tree: d.Tree}); err != nil {
		t.Fatalf("land of the reviewed tree: %v", err)
	}
	got := h.m.WithChanges(ctx, []Session{mustGet(t, h.m, "a")})[0]
	if got.Changes == nil || got.Changes.Unlanded {
		t.Errorf("after the land, changes = %+v", got.Changes)
	}
}

func mustGet(t *testing.T, m *Manager, name string) Session {
	t.Helper()
	s, err := m.Get(name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLandRefusesCommonDirAContainerCanWrite: a session on a linked
// worktree lands refs into the main repository's git directory; when another
// session's container can write part of that directory (here its refs), the
// land is refused.
func TestLandRefusesCommonDirAContainerCanWrite(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	main := filepath.Join(t.TempDir(), "main")
	newRepo(t, main)
	wt := filepath.Join(t.TempDir(), "wt")
	gitT(t, main, "worktree", "add", "-q", wt)
	s, err := h.m.Create(ctx, Options{Name: "a", Workdir: wt})
	if err != nil {
		t.Fatal(err)
	}
	if s.Workspace.CommonDir == "" || s.Workspace.CommonDir == s.Workspace.GitDir {
		t.Fatalf("a linked worktree's workspace records common dir %q (git dir %q)", s.Workspace.CommonDir, s.Workspace.GitDir)
	}
	if _, err := h.m.Create(ctx, Options{Name: "b", Mounts: []Mount{{Source: filepath.Join(main, ".git", "refs"), Target: "/refs"}}}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Stop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	_, err = h.m.Land(ctx, "a", workspace.LandOptions{})
	if err == nil || !strings.Contains(err.Error(), `session "b"'s container can write`) {
		t.Errorf("land into a repository whose refs another container can write: %v", err)
	}
}

// TestChangeThroughMappingIsNotCached: a write through a shared mapping does
// not move the file's ctime until the kernel writes the page back, so a
// cached hash can go stale. rm's check reads every file afresh, and a diff
// that finds the content changed forgets the cache rather than failing for
// ever.
func TestChangeThroughMappingIsNotCached(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	s := sessionOnRepo(t, h, "a")
	p := filepath.Join(s.Workspace.Dir, "f.txt")
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	mem, err := syscall.Mmap(int(f.Fd()), 0, 2, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Munmap(mem)
	copy(mem, "g\n")
	// The cache keeps a hash only once the file's ctime is 2 s old.
	time.Sleep(2100 * time.Millisecond)
	if _, err := h.m.Diff(ctx, "a", workspace.DiffOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Stop(ctx, "a"); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Land(ctx, "a", workspace.LandOptions{}); err != nil {
		t.Fatal(err)
	}
	copy(mem, "h\n") // a change the file's stamps do not show
	err = h.m.Remove(ctx, "a", false, false)
	if err == nil || !errors.Is(err, ErrUnlanded) {
		t.Fatalf("rm after a change through a mapping: %v (the change would be lost)", err)
	}
	var diffErr error
	for range 2 {
		if _, diffErr = h.m.Diff(ctx, "a", workspace.DiffOptions{Patches: true}); diffErr == nil {
			break
		}
	}
	if diffErr != nil {
		t.Errorf("diff keeps failing after a change through a mapping: %v", diffErr)
	}
}

// sessionOnRepo creates session name on a fresh one-commit repository.
func sessionOnRepo(t *testing.T, h *harness, name string) Session {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "r")
	newRepo(t, repo)
	s, err := h.m.Create(context.Background(), Options{Name: name, Workdir: repo})
	if err != nil {
		t.Fatal(err)
	}
	return s
}
