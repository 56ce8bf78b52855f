package workspace

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestApply(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)
	if err := os.Chmod(filepath.Join(info.Dir, "new.txt"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../a.txt", filepath.Join(info.Dir, "dir", "link")); err != nil {
		t.Fatal(err)
	}
	indexBefore := readFile(t, filepath.Join(repo, ".git", "index"))

	m, err := info.Apply(context.Background(), ApplyOptions{})
	if err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if m.Tree == "" || m.At.IsZero() {
		t.Errorf("Mark = %+v, want a tree and a time", m)
	}
	for _, c := range []struct{ path, want string }{
		{"a.txt", "one\ntwo\nthree\nfour\n"},
		{"b.txt", "bee\nmore bee\n"},
		{"new.txt", "brand new\n"},
		{escName, "escape\n"},
	} {
		if got := readFile(t, filepath.Join(repo, c.path)); got != c.want {
			t.Errorf("%q = %q, want %q", c.path, got, c.want)
		}
	}
	if exists(filepath.Join(repo, "dir", "c.txt")) || exists(filepath.Join(repo, "dir", "c.txt")) {
		t.Error("dir/c.txt was not deleted")
	}
	if target, err := os.Readlink(filepath.Join(repo, "dir", "link")); err != nil || target != "../a.txt" {
		t.Errorf("dir/link = %q, %v; want a symlink to ../a.txt", target, err)
	}
	if fi, err := os.Stat(filepath.Join(repo, "new.txt")); err != nil || fi.Mode().Perm()&0o100 == 0 {
		t.Errorf("new.txt is not executable: %v %v", fi, err)
	}
	if exists(filepath.Join(repo, "node_modules")) {
		t.Error("an ignored directory was applied")
	}
	if readFile(t, filepath.Join(repo, ".git", "index")) != indexBefore {
		t.Error("Apply changed the user's index")
	}
	if d := userGit(t, repo, "diff"); !strings.Contains(d, "+four") || !strings.Contains(d, "+more bee") {
		t.Errorf("git diff in the user's repo = %q, want the work", d)
	}
	if st := userGit(t, repo, "status", "--porcelain"); !strings.Contains(st, "?? new.txt") {
		t.Errorf("git status = %q, want new.txt untracked", st)
	}
	matches, _ := filepath.Glob(filepath.Join(repo, "*", ".clauderon-apply-*"))
	top, _ := filepath.Glob(filepath.Join(repo, ".clauderon-apply-*"))
	if len(matches)+len(top) > 0 {
		t.Errorf("temporary files left: %q %q", matches, top)
	}

	t.Run("again conflicts", func(t *testing.T) {
		// The user's tree now holds the work, not the baseline.
		before := listing(t, repo, filepath.Join(repo, ".git"))
		_, err := info.Apply(context.Background(), ApplyOptions{})
		if !errors.Is(err, ErrConflict) {
			t.Fatalf("second Apply = %v, want ErrConflict", err)
		}
		if d := diffListings(before, listing(t, repo, filepath.Join(repo, ".git"))); len(d) > 0 {
			t.Errorf("a refused Apply wrote %q", d)
		}
	})
}

func TestApplyConflict(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)
	writeFile(t, filepath.Join(repo, "b.txt"), "the user's edit\n")
	writeFile(t, filepath.Join(repo, "new.txt"), "the user's own new.txt\n")
	before := listing(t, repo, filepath.Join(repo, ".git"))

	_, err := info.Apply(context.Background(), ApplyOptions{})
	if !errors.Is(err, ErrConflict) {
		t.Fatalf("Apply = %v, want ErrConflict", err)
	}
	for _, want := range []string{`"b.txt": changed in your working tree`, `"new.txt": already exists`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not say %q", err, want)
		}
	}
	if d := diffListings(before, listing(t, repo, filepath.Join(repo, ".git"))); len(d) > 0 {
		t.Errorf("a refused Apply wrote %q", d)
	}
}

func TestApplyTypeChanges(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	// A file becomes a directory, and a directory a file.
	if err := os.Remove(filepath.Join(info.Dir, "b.txt")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(info.Dir, "b.txt", "inside"), "now a dir\n")
	if err := os.RemoveAll(filepath.Join(info.Dir, "dir")); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(info.Dir, "dir"), "now a file\n")
	if _, err := info.Apply(context.Background(), ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := readFile(t, filepath.Join(repo, "b.txt", "inside")); got != "now a dir\n" {
		t.Errorf("b.txt/inside = %q", got)
	}
	if got := readFile(t, filepath.Join(repo, "dir")); got != "now a file\n" {
		t.Errorf("dir = %q", got)
	}
}

func TestApplyRefusesEscapingSymlink(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	for _, target := range []string{"/etc/passwd", "../../outside", "dir/../../x", ".git/config"} {
		t.Run(target, func(t *testing.T) {
			info := create(t, CreateOptions{Source: repo})
			writeFile(t, filepath.Join(info.Dir, "new.txt"), "fine\n")
			if err := os.Symlink(target, filepath.Join(info.Dir, "evil")); err != nil {
				t.Fatal(err)
			}
			before := listing(t, repo, filepath.Join(repo, ".git"))
			_, err := info.Apply(context.Background(), ApplyOptions{})
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"evil" would become a symlink`) {
				t.Errorf("Apply = %v, want ErrInvalid naming evil", err)
			}
			if d := diffListings(before, listing(t, repo, filepath.Join(repo, ".git"))); len(d) > 0 {
				t.Errorf("a refused Apply wrote %q", d)
			}
		})
	}
}

func TestApplyRefusesSymlinkedParent(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	writeFile(t, filepath.Join(info.Dir, "dir", "new.txt"), "through a link?\n")
	// The user's dir is (now) a symlink to somewhere else.
	outside := t.TempDir()
	if err := os.RemoveAll(filepath.Join(repo, "dir")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(outside, filepath.Join(repo, "dir")); err != nil {
		t.Fatal(err)
	}
	_, err := info.Apply(context.Background(), ApplyOptions{})
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "is a symlink") {
		t.Errorf("Apply = %v, want ErrConflict about the symlink", err)
	}
	if entries, _ := os.ReadDir(outside); len(entries) > 0 {
		t.Errorf("Apply wrote outside the repository: %v", entries)
	}
}

func TestPlainDirDiffAndApply(t *testing.T) {
	isolateGit(t)
	src := filepath.Join(t.TempDir(), "plain")
	writeFile(t, filepath.Join(src, "x.txt"), "x\n")
	writeFile(t, filepath.Join(src, "y.txt"), "y\n")
	info := create(t, CreateOptions{Source: src})
	writeFile(t, filepath.Join(info.Dir, "x.txt"), "x changed\n")
	os.Remove(filepath.Join(info.Dir, "y.txt"))
	writeFile(t, filepath.Join(info.Dir, "z", "new.txt"), "new\n")
	agentGit(t, info, "add", "-A")
	agentGit(t, info, "commit", "-q", "-m", "agent")

	d, err := info.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if len(d.Files) != 3 || d.Commits != 1 || d.Uncommitted {
		t.Errorf("Diff = %d files, %d commits, uncommitted %v; want 3, 1, false", len(d.Files), d.Commits, d.Uncommitted)
	}
	if _, err := info.Apply(context.Background(), ApplyOptions{}); err != nil {
		t.Fatalf("Apply: %v", err)
	}
	if got := readFile(t, filepath.Join(src, "x.txt")); got != "x changed\n" {
		t.Errorf("x.txt = %q", got)
	}
	if exists(filepath.Join(src, "y.txt")) || readFile(t, filepath.Join(src, "z", "new.txt")) != "new\n" {
		t.Error("y.txt not deleted or z/new.txt not written")
	}
	if exists(filepath.Join(src, ".git")) {
		t.Error("Apply made a repository in a plain directory")
	}
}
