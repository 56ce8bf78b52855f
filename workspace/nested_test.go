package workspace

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// plantGitDir writes, below dir, what the agent wrote: a directory that git
// takes for a repository, whose config runs a command that leaves mark.
func plantGitDir(t *testing.T, dir, mark string) {
	t.Helper()
	writeFile(t, filepath.Join(dir, "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(dir, "config"), fmt.Sprintf("[core]\n\trepositoryformatversion = 0\n\tworktree = .\n\tfsmonitor = \"touch %s; false\"\n", mark))
	writeFile(t, filepath.Join(dir, "objects", "info", "packs"), "")
	writeFile(t, filepath.Join(dir, "refs", "heads", ".keep"), "")
}

func TestNestedGitDirPlantingWorks(t *testing.T) {
	isolateGit(t)
	dir := filepath.Join(t.TempDir(), "tools", "cache")
	mark := filepath.Join(t.TempDir(), "pwned")
	plantGitDir(t, dir, mark)
	cmd := exec.CommandContext(ctxTimeout(t, 20*time.Second), "git", "status")
	cmd.Dir = dir
	cmd.WaitDelay = time.Second
	out, err := cmd.CombinedOutput()
	if !exists(mark) {
		t.Fatalf("git status in the planted directory ran nothing (%v: %s); the tests below prove nothing", err, out)
	}
}

func TestApplyRefusesNestedGitDir(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	// A fixture of the user's own, elsewhere, is not the work's.
	writeFile(t, filepath.Join(repo, "testdata", "repo", "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(repo, "testdata", "repo", "config"), "[core]\n")
	writeFile(t, filepath.Join(repo, "testdata", "repo", "refs", "heads", ".keep"), "")
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "fixture")
	mark := filepath.Join(t.TempDir(), "pwned")

	for _, c := range []struct {
		name  string
		plant func(t *testing.T, ws string)
		want  string // the directory named; "" when the apply goes through
	}{
		{"planted", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, "tools", "run.sh"), "echo\n")
			plantGitDir(t, filepath.Join(ws, "tools", "cache"), mark)
		}, `"tools/cache"`},
		{"below a planted one", func(t *testing.T, ws string) {
			plantGitDir(t, filepath.Join(ws, "deep"), mark)
			writeFile(t, filepath.Join(ws, "deep", "more", "x.txt"), "x\n")
		}, `"deep"`},
		{"lower case, as macOS reads it", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, "c", "head"), "ref: refs/heads/main\n")
			writeFile(t, filepath.Join(ws, "c", "Config"), "[core]\n")
		}, `"c"`},
		{"config into the user's fixture", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, "testdata", "repo", "config"), "[core]\n\tfsmonitor = \"touch "+mark+"\"\n")
		}, `"testdata/repo"`},
		{"next to the user's fixture", func(t *testing.T, ws string) {
			writeFile(t, filepath.Join(ws, "testdata", "other.txt"), "fine\n")
			writeFile(t, filepath.Join(ws, "a.txt"), "fine too\n")
		}, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			info := create(t, CreateOptions{Source: repo})
			c.plant(t, info.Dir)
			before := listing(t, repo, filepath.Join(repo, ".git"))
			_, err := info.Apply(context.Background(), ApplyOptions{})
			if c.want == "" {
				if err != nil {
					t.Fatalf("Apply: %v", err)
				}
				userGit(t, repo, "reset", "-q", "--hard")
				userGit(t, repo, "clean", "-q", "-fd")
				return
			}
			if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), c.want+", which looks like a git repository") || !strings.Contains(err.Error(), "not applied") {
				t.Fatalf("Apply = %v, want ErrInvalid naming %s", err, c.want)
			}
			if d := diffListings(before, listing(t, repo, filepath.Join(repo, ".git"))); len(d) > 0 {
				t.Errorf("a refused Apply wrote %q", d)
			}
		})
	}
	if exists(mark) {
		t.Error("the planted fsmonitor ran")
	}

	t.Run("a plain directory's top", func(t *testing.T) {
		src := filepath.Join(t.TempDir(), "plain")
		writeFile(t, filepath.Join(src, "main.go"), "package main\n")
		info := create(t, CreateOptions{Source: src})
		plantGitDir(t, info.Dir, mark)
		_, err := info.Apply(context.Background(), ApplyOptions{})
		if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `".", which looks like`) {
			t.Errorf("Apply = %v, want ErrInvalid naming the top", err)
		}
		if exists(filepath.Join(src, "config")) {
			t.Error("the planted config was written")
		}
	})

	t.Run("a HEAD on disk", func(t *testing.T) {
		// The user's tree holds an ignored HEAD; the work adds the rest.
		info := create(t, CreateOptions{Source: repo})
		writeFile(t, filepath.Join(repo, "cache", "HEAD"), "ref: refs/heads/main\n")
		t.Cleanup(func() { os.RemoveAll(filepath.Join(repo, "cache")) })
		writeFile(t, filepath.Join(info.Dir, "cache", "config"), "[core]\n")
		if _, err := info.Apply(context.Background(), ApplyOptions{}); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"cache"`) {
			t.Errorf("Apply = %v, want ErrInvalid naming cache", err)
		}
	})
}

func TestLandRefusesNestedGitDir(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	mark := filepath.Join(t.TempDir(), "pwned")
	plantGitDir(t, filepath.Join(info.Dir, "tools", "cache"), mark)
	agentGit(t, info, "add", "-A")
	agentGit(t, info, "commit", "-q", "-m", "a cache")
	objectsBefore := listing(t, filepath.Join(repo, ".git", "objects"))

	_, err := info.Land(context.Background(), LandOptions{})
	if !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), `"tools/cache", which looks like a git repository`) || !strings.Contains(err.Error(), "not landed") {
		t.Fatalf("Land = %v, want ErrInvalid naming tools/cache", err)
	}
	if out := userGit(t, repo, "branch", "--list", "clauderon/x"); out != "" {
		t.Errorf("the branch was made: %q", out)
	}
	if d := diffListings(objectsBefore, listing(t, filepath.Join(repo, ".git", "objects"))); len(d) > 0 {
		t.Errorf("a refused Land wrote objects: %q", d)
	}
	if exists(mark) {
		t.Error("the planted fsmonitor ran")
	}
}
