package workspace

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
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
