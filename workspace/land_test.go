package workspace

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

func TestLand(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	writeFile(t, filepath.Join(repo, "wip.txt"), "user's own uncommitted file\n")
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)

	headBefore := userGit(t, repo, "rev-parse", "HEAD")
	symBefore := userGit(t, repo, "symbolic-ref", "HEAD")
	statusBefore := userGit(t, repo, "status", "--porcelain")
	indexBefore := readFile(t, filepath.Join(repo, ".git", "index"))

	m, err := info.Land(context.Background(), LandOptions{})
	if err != nil {
		t.Fatalf("Land: %v", err)
	}
	if m.Branch != "clauderon/x" || m.Commit == "" || m.Tree == "" || m.At.IsZero() {
		t.Errorf("Mark = %+v, want branch clauderon/x with commit, tree and time", m)
	}
	if got := strings.TrimSpace(userGit(t, repo, "rev-parse", "clauderon/x")); got != m.Commit {
		t.Errorf("clauderon/x = %s, want the landed commit %s", got, m.Commit)
	}
	if got := strings.TrimSpace(userGit(t, repo, "rev-parse", "clauderon/x^{tree}")); got != m.Tree {
		t.Errorf("clauderon/x's tree = %s, want %s", got, m.Tree)
	}
	log := userGit(t, repo, "log", "-p", "clauderon/x")
	for _, want := range []string{
		"agent: four", "+four",
		"clauderon: uncommitted work in session clauderon/x", "+brand new", "+more bee",
		"clauderon: uncommitted changes in " + repo, "+user's own uncommitted file",
	} {
		if !strings.Contains(log, want) {
			t.Errorf("git log -p clauderon/x lacks %q", want)
		}
	}
	userGit(t, repo, "fsck", "--strict")
	for _, c := range []struct{ name, got, want string }{
		{"HEAD", userGit(t, repo, "rev-parse", "HEAD"), headBefore},
		{"symbolic HEAD", userGit(t, repo, "symbolic-ref", "HEAD"), symBefore},
		{"status", userGit(t, repo, "status", "--porcelain"), statusBefore},
		{"index", readFile(t, filepath.Join(repo, ".git", "index")), indexBefore},
	} {
		if c.got != c.want {
			t.Errorf("the user's %s changed: %q, was %q", c.name, c.got, c.want)
		}
	}

	t.Run("again", func(t *testing.T) {
		if _, err := info.Land(context.Background(), LandOptions{}); !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "--force") {
			t.Errorf("second Land = %v, want ErrConflict suggesting --force", err)
		}
		writeFile(t, filepath.Join(info.Dir, "later.txt"), "later\n")
		m2, err := info.Land(context.Background(), LandOptions{Force: true})
		if err != nil {
			t.Fatalf("Land with Force: %v", err)
		}
		if m2.Commit == m.Commit {
			t.Error("forced land did not move the branch")
		}
		if got := userGit(t, repo, "show", "clauderon/x:later.txt"); got != "later\n" {
			t.Errorf("later.txt on the branch = %q", got)
		}
	})

	t.Run("other branch", func(t *testing.T) {
		m, err := info.Land(context.Background(), LandOptions{Branch: "review/agent-1"})
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(userGit(t, repo, "rev-parse", "review/agent-1")); got != m.Commit {
			t.Errorf("review/agent-1 = %s, want %s", got, m.Commit)
		}
	})

	t.Run("checked out", func(t *testing.T) {
		if _, err := info.Land(context.Background(), LandOptions{Branch: "main", Force: true}); !errors.Is(err, ErrConflict) {
			t.Errorf("Land on the checked-out branch = %v, want ErrConflict", err)
		}
	})

	for _, b := range []string{"-x", "a..b", "a//b", "a/", "x.lock", ".hidden", "a/.b", "a b", "a~b", "a^b", "a:b", "a\x1bb", "a@{b", strings.Repeat("a", 201)} {
		t.Run("bad "+b[:min(len(b), 10)], func(t *testing.T) {
			if _, err := info.Land(context.Background(), LandOptions{Branch: b}); !errors.Is(err, ErrInvalid) {
				t.Errorf("Land(%q) = %v, want ErrInvalid", b, err)
			}
		})
	}
}

func TestLandPlainDir(t *testing.T) {
	isolateGit(t)
	src := filepath.Join(t.TempDir(), "plain")
	writeFile(t, filepath.Join(src, "x.txt"), "x\n")
	info := create(t, CreateOptions{Source: src, Branch: "clauderon/demo"})
	_, err := info.Land(context.Background(), LandOptions{})
	if !errors.Is(err, ErrNotGit) || !strings.Contains(err.Error(), "clauderon apply demo") {
		t.Errorf("Land of a plain directory = %v, want ErrNotGit suggesting `clauderon apply demo`", err)
	}
}

func TestLandRefusesBadTree(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	// The agent commits a tree holding a ".GIT" directory, which git's own
	// fsck refuses (it would become the repository's metadata on a
	// case-insensitive filesystem).
	blob := strings.TrimSpace(runGitStdin(t, info, "[core]\n\tfsmonitor = evil\n", "hash-object", "-w", "--stdin"))
	inner := strings.TrimSpace(runGitStdin(t, info, "100644 blob "+blob+"\tconfig\n", "mktree"))
	head := strings.TrimSpace(agentGit(t, info, "rev-parse", "HEAD^{tree}"))
	top := strings.TrimSpace(runGitStdin(t, info, lsTree(t, info, head)+"040000 tree "+inner+"\t.GIT\n", "mktree"))
	commit := strings.TrimSpace(agentGit(t, info, "commit-tree", top, "-p", "HEAD", "-m", "evil"))
	agentGit(t, info, "update-ref", "HEAD", commit)

	_, err := info.Land(context.Background(), LandOptions{})
	if !errors.Is(err, ErrCorrupt) {
		t.Errorf("Land of a tree with .GIT = %v, want ErrCorrupt", err)
	}
	if out := userGit(t, repo, "branch", "--list", "clauderon/x"); out != "" {
		t.Errorf("the branch was made: %q", out)
	}
}

func lsTree(t *testing.T, info Info, tree string) string {
	t.Helper()
	return agentGit(t, info, "ls-tree", tree)
}

func runGitStdin(t *testing.T, info Info, stdin string, args ...string) string {
	t.Helper()
	env := []string{"GIT_DIR=" + filepath.Join(info.Dir, ".git"), "GIT_WORK_TREE=" + info.Dir, "GIT_ALTERNATE_OBJECT_DIRECTORIES=" + info.ObjectsDir}
	return runGitIn(t, info.Dir, env, stdin, args...)
}

func TestLandFromLinkedWorktree(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	wt := filepath.Join(filepath.Dir(repo), "wt")
	userGit(t, repo, "worktree", "add", "-q", "-b", "feature", wt)
	info := create(t, CreateOptions{Source: wt})
	if info.GitDir != filepath.Join(repo, ".git", "worktrees", "wt") || info.ObjectsDir != filepath.Join(repo, ".git", "objects") || info.Source != wt {
		t.Errorf("Info = %+v, want the worktree's git dir and the common objects", info)
	}
	writeFile(t, filepath.Join(info.Dir, "wt.txt"), "from a worktree\n")
	if _, err := info.Land(context.Background(), LandOptions{}); err != nil {
		t.Fatalf("Land: %v", err)
	}
	if got := userGit(t, repo, "show", "clauderon/x:wt.txt"); got != "from a worktree\n" {
		t.Errorf("wt.txt on the branch = %q", got)
	}
	for _, b := range []string{"feature", "main"} {
		if _, err := info.Land(context.Background(), LandOptions{Branch: b, Force: true}); !errors.Is(err, ErrConflict) {
			t.Errorf("Land on %s, checked out in a worktree = %v, want ErrConflict", b, err)
		}
	}
}

// TestTreePinned: land and apply bring back only the tree the user
// reviewed.
func TestTreePinned(t *testing.T) {
	isolateGit(t)
	for _, c := range []struct {
		name string
		do   func(Info, string) error
		done func(t *testing.T, repo string) bool
	}{
		{"land", func(i Info, tree string) error {
			_, err := i.Land(context.Background(), LandOptions{Tree: tree})
			return err
		},
			func(t *testing.T, repo string) bool { return userGit(t, repo, "branch", "--list", "clauderon/x") != "" }},
		{"apply", func(i Info, tree string) error {
			_, err := i.Apply(context.Background(), ApplyOptions{Tree: tree})
			return err
		},
			func(t *testing.T, repo string) bool { return exists(filepath.Join(repo, "new.txt")) }},
	} {
		t.Run(c.name, func(t *testing.T) {
			repo := newRepo(t)
			info := create(t, CreateOptions{Source: repo})
			writeFile(t, filepath.Join(info.Dir, "new.txt"), "reviewed\n")
			d, err := info.Diff(context.Background(), DiffOptions{})
			if err != nil {
				t.Fatal(err)
			}
			for _, bad := range []string{"abc", "xyz1234", strings.Repeat("a", 41), "-abcdefg", d.Tree[:6]} {
				if err := c.do(info, bad); !errors.Is(err, ErrInvalid) {
					t.Errorf("%s with tree %q = %v, want ErrInvalid", c.name, bad, err)
				}
			}
			// The agent changes the work after the review.
			writeFile(t, filepath.Join(info.Dir, "new.txt"), "changed after the review\n")
			err = c.do(info, d.Tree)
			if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), "not "+d.Tree+"); look at `clauderon diff` again") {
				t.Errorf("%s of a changed work = %v, want ErrConflict", c.name, err)
			}
			if c.done(t, repo) {
				t.Fatalf("a refused %s brought the work back", c.name)
			}
			writeFile(t, filepath.Join(info.Dir, "new.txt"), "reviewed\n")
			if err := c.do(info, strings.ToUpper(d.Tree[:7])); err != nil {
				t.Fatalf("%s with the reviewed tree's prefix: %v", c.name, err)
			}
			if !c.done(t, repo) {
				t.Errorf("%s did nothing", c.name)
			}
		})
	}
}
