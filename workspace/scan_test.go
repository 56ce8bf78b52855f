package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestScanMatchesGit checks that the working tree is recorded exactly as
// `git add -A && git write-tree` would: entry order, modes, ignore rules.
func TestScanMatchesGit(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	writeFile(t, filepath.Join(repo, ".gitignore"), "build/\n*.log\n!keep.log\n/rooted.txt\n")
	writeFile(t, filepath.Join(repo, "build", "tracked.txt"), "tracked though ignored\n")
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "add", "-f", "build/tracked.txt")
	userGit(t, repo, "commit", "-q", "-m", "ignores")
	info := create(t, CreateOptions{Source: repo})
	ws := info.Dir

	for _, p := range []string{"x.y", "x-y", "x/z", "x0", "x/a", "x/z0", "x/z.q/r", "é ü.txt", "with space", "line\nbreak", "keep.log", "sub/keep.log",
		"sub/rooted.txt", "tab\there"} {
		writeFile(t, filepath.Join(ws, p), "content of "+p+"\n")
	}
	for _, p := range []string{"debug.log", "sub/debug.log", "rooted.txt", "build/new.txt", "sub/deeper/local.tmp", "excluded.txt"} {
		writeFile(t, filepath.Join(ws, p), "ignored\n")
	}
	writeFile(t, filepath.Join(ws, "sub", ".gitignore"), "deeper/*.tmp\n")
	writeFile(t, filepath.Join(ws, ".git", "info", "exclude"), "excluded.txt\n")
	writeFile(t, filepath.Join(ws, "build", "tracked.txt"), "changed inside an ignored directory\n")
	writeFile(t, filepath.Join(ws, "run.sh"), "#!/bin/sh\n")
	if err := os.Chmod(filepath.Join(ws, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("x/z", filepath.Join(ws, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/nowhere/at/all", filepath.Join(ws, "dangling")); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(ws, "empty", "dir"), 0o755); err != nil {
		t.Fatal(err)
	}
	mkfifo(t, filepath.Join(ws, "fifo"))

	d, err := info.Diff(context.Background(), DiffOptions{})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	os.Remove(filepath.Join(ws, "fifo")) // git would hang on it
	agentGit(t, info, "add", "-A")
	if want := strings.TrimSpace(agentGit(t, info, "write-tree")); d.Tree != want {
		t.Errorf("Tree = %s, git's write-tree = %s\ngit's tree:\n%s", d.Tree, want, agentGit(t, info, "ls-tree", "-r", want))
	}
}

func TestScanSkipsNestedRepositories(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	// The agent clones something into its workspace, and makes a ".GIT".
	nested := filepath.Join(info.Dir, "vendor", "lib")
	userGit(t, info.Dir, "init", "-q", nested)
	writeFile(t, filepath.Join(nested, "lib.go"), "package lib\n")
	writeFile(t, filepath.Join(info.Dir, "deep", ".GIT", "config"), "[core]\n")
	writeFile(t, filepath.Join(info.Dir, "deep", "ok.txt"), "ok\n")
	d, err := info.Diff(context.Background(), DiffOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range d.Files {
		got = append(got, c.Path)
	}
	if strings.Join(got, ",") != "deep/ok.txt" {
		t.Errorf("Diff lists %q, want only deep/ok.txt", got)
	}
}

func TestScanTooBigFile(t *testing.T) {
	if testing.Short() {
		t.Skip("writes a sparse file")
	}
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	f, err := os.Create(filepath.Join(info.Dir, "huge.bin"))
	if err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(maxFileBytes + 1); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	f.Close()
	_, err = info.Diff(context.Background(), DiffOptions{})
	if err == nil || !strings.Contains(err.Error(), `"huge.bin"`) {
		t.Errorf("Diff = %v, want an error naming huge.bin", err)
	}
}

func TestScanTooDeep(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	deep := info.Dir
	for range maxScanDepth + 2 {
		deep = filepath.Join(deep, "d")
	}
	writeFile(t, filepath.Join(deep, "f"), "deep\n")
	if _, err := info.Diff(context.Background(), DiffOptions{}); err == nil || !strings.Contains(err.Error(), "nested more than") {
		t.Errorf("Diff = %v, want an error about nesting", err)
	}
}

func TestScanRefusesSparseFile(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	sparse(t, filepath.Join(info.Dir, "holes.bin"), sparseMinBytes+1<<20)
	_, err := info.Summarize(context.Background(), nil)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), `"holes.bin" in the workspace is a sparse file of 65.0 MiB`) || !strings.Contains(err.Error(), "remove it") {
		t.Errorf("Summarize = %v, want ErrCorrupt naming the sparse holes.bin", err)
	}
}

func TestScanHashBudget(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	writeFile(t, filepath.Join(info.Dir, "big.txt"), strings.Repeat("x", 1000))
	r, err := info.open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	head, _, err := r.head()
	if err != nil {
		t.Fatal(err)
	}
	tree, err := r.tree(head.TreeHash)
	if err != nil {
		t.Fatal(err)
	}
	sc := scanner{ctx: context.Background(), dir: r.dir, git: r.git, objs: r.objs, hashLimit: 500}
	if _, err := sc.scan(tree); err == nil || !strings.Contains(err.Error(), "more than 500 B to read") {
		t.Errorf("scan of 1000+ bytes with a budget of 500 = %v, want an error saying so", err)
	}
	sc = scanner{ctx: context.Background(), dir: r.dir, git: r.git, objs: r.objs, hashLimit: 5000}
	if _, err := sc.scan(tree); err != nil {
		t.Errorf("scan within the budget: %v", err)
	}
}

func TestHashCache(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	for i := range 40 {
		writeFile(t, filepath.Join(repo, "many", fmt.Sprintf("f%02d.txt", i)), strings.Repeat(fmt.Sprintf("line %d\n", i), 500))
	}
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "many")
	info := create(t, CreateOptions{Source: repo})
	cache := NewHashCache()
	// Every file is old enough to be kept.
	later := time.Now().Add(time.Minute)
	cache.now = func() time.Time { return later }
	summarize := func() Summary {
		t.Helper()
		s, err := info.Summarize(context.Background(), cache)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	hashedBy := func(f func() Summary) (Summary, int64) {
		t.Helper()
		before := cache.hashed.Load()
		s := f()
		return s, cache.hashed.Load() - before
	}

	s, n := hashedBy(summarize)
	files := n
	if s.Files != 0 || files < 40 {
		t.Fatalf("first Summarize: %+v hashing %d files, want no change and every file (40+) hashed", s, n)
	}
	if s, n = hashedBy(summarize); s.Files != 0 || n != 0 {
		t.Errorf("second Summarize of an unchanged tree hashed %d files (%+v), want none", n, s)
	}

	t.Run("forged mtime", func(t *testing.T) {
		// Same size, mtime put back: only ctime tells.
		p := filepath.Join(info.Dir, "many", "f07.txt")
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		b := []byte(readFile(t, p))
		b[0] = 'L'
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, fi.ModTime(), fi.ModTime()); err != nil {
			t.Fatal(err)
		}
		if fi2, _ := os.Stat(p); fi2.Size() != fi.Size() || !fi2.ModTime().Equal(fi.ModTime()) {
			t.Fatal("the forged file differs in size or mtime")
		}
		s, n := hashedBy(summarize)
		if s.Files != 1 || n != 1 {
			t.Errorf("after a change with mtime restored: %+v, %d files hashed; want 1 changed and 1 hashed", s, n)
		}
	})

	t.Run("racy", func(t *testing.T) {
		// Hashed within the racy window of its change, a file is not
		// kept: the next scan reads it again.
		cache.now = time.Now
		writeFile(t, filepath.Join(info.Dir, "many", "f09.txt"), "changed just now\n")
		for i := range 2 {
			if s, n := hashedBy(summarize); s.Files != 2 || n != 1 {
				t.Errorf("scan %d after a recent change: %+v, %d files hashed; want 2 changed, 1 hashed", i, s, n)
			}
		}
	})

	t.Run("forgets", func(t *testing.T) {
		if err := os.RemoveAll(filepath.Join(info.Dir, "many")); err != nil {
			t.Fatal(err)
		}
		summarize()
		cache.mu.Lock()
		defer cache.mu.Unlock()
		for p := range cache.entries {
			if strings.HasPrefix(p, "many/") {
				t.Errorf("the cache still holds %q, removed from the tree", p)
			}
		}
	})
}
