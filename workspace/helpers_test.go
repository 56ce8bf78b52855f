package workspace

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"
)

// isolateGit points every git of the test (ours and the helpers') at a
// private HOME, so the machine's config cannot change what git does.
func isolateGit(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("XDG_CONFIG_HOME", filepath.Join(home, ".config"))
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	writeFile(t, filepath.Join(home, ".gitconfig"), "[user]\n\tname = Test User\n\temail = test@example.com\n[init]\n\tdefaultBranch = main\n[advice]\n\tdetachedHead = false\n")
	return home
}

// runGit runs the host's git as the test (the user, or the agent acting on
// its workspace), with extra environment.
func runGit(t *testing.T, dir string, env []string, args ...string) string {
	t.Helper()
	return runGitIn(t, dir, env, "", args...)
}

func runGitIn(t *testing.T, dir string, env []string, stdin string, args ...string) string {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, stderr.String())
	}
	return out.String()
}

func userGit(t *testing.T, repo string, args ...string) string {
	t.Helper()
	return runGit(t, repo, nil, args...)
}

// agentGit runs git in a workspace the way the agent would in its
// container (where the user's objects are an alternate).
func agentGit(t *testing.T, info Info, args ...string) string {
	t.Helper()
	env := []string{"GIT_DIR=" + filepath.Join(info.Dir, ".git"), "GIT_WORK_TREE=" + info.Dir}
	if info.ObjectsDir != "" {
		env = append(env, "GIT_ALTERNATE_OBJECT_DIRECTORIES="+info.ObjectsDir)
	}
	return runGit(t, info.Dir, env, args...)
}

func writeFile(t *testing.T, p, content string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readFile(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// newRepo makes a repository with a few commits' worth of files.
func newRepo(t *testing.T) string {
	t.Helper()
	repo := filepath.Join(t.TempDir(), "repo")
	userGit(t, filepath.Dir(repo), "init", "-q", repo)
	writeFile(t, filepath.Join(repo, "a.txt"), "one\ntwo\nthree\n")
	writeFile(t, filepath.Join(repo, "b.txt"), "bee\n")
	writeFile(t, filepath.Join(repo, "dir", "c.txt"), "sea\n")
	writeFile(t, filepath.Join(repo, ".gitignore"), ".env\n.env.example\n")
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "first")
	return repo
}

func create(t *testing.T, o CreateOptions) Info {
	t.Helper()
	if o.Dir == "" {
		o.Dir = filepath.Join(t.TempDir(), "ws")
	}
	if o.Branch == "" {
		o.Branch = "clauderon/x"
	}
	if o.Chown == 0 {
		o.Chown = -1
	}
	info, err := Create(context.Background(), o)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return info
}

// listing is every path under dir with its type, size and content hash
// (files), for before/after comparisons.
func listing(t *testing.T, dir string, skip ...string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		for _, s := range skip {
			if p == s {
				return filepath.SkipDir
			}
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		v := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, _ := os.ReadFile(p)
			v += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, _ := os.Readlink(p)
			v += " -> " + target
		}
		out[rel] = v
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

func diffListings(before, after map[string]string) []string {
	var d []string
	for k, v := range before {
		if w, ok := after[k]; !ok {
			d = append(d, "removed "+k)
		} else if v != w {
			d = append(d, "changed "+k)
		}
	}
	for k := range after {
		if _, ok := before[k]; !ok {
			d = append(d, "added "+k)
		}
	}
	sort.Strings(d)
	return d
}

func ctxTimeout(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

func filesByPath(d Diff) map[string]Change {
	m := map[string]Change{}
	for _, c := range d.Files {
		m[c.Path] = c
	}
	return m
}
