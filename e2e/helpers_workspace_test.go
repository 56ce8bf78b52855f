package e2e

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/workspace"
)

// userGit runs the host's git as the user would in their repository, with
// only the test's own configuration (no system or global file of this machine).
func userGit(t testing.TB, dir string, args ...string) string {
	t.Helper()
	out, err := userGitErr(t, dir, args...)
	if err != nil {
		t.Fatalf("git %s in %s: %v\n%s", strings.Join(args, " "), dir, err, out)
	}
	return out
}

func userGitErr(t testing.TB, dir string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + dir, "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_GLOBAL=/dev/null",
		"GIT_AUTHOR_NAME=User", "GIT_AUTHOR_EMAIL=user@example.com",
		"GIT_COMMITTER_NAME=User", "GIT_COMMITTER_EMAIL=user@example.com",
	}
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// writeFiles writes each path → content below dir.
func writeFiles(t testing.TB, dir string, files map[string]string) {
	t.Helper()
	for p, c := range files {
		full := filepath.Join(dir, p)
		if err := os.MkdirAll(filepath.Dir(full), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(full, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// userRepo makes a git repository below a fresh directory with files
// committed; the parent directory is returned too, for snapshots.
func userRepo(t testing.TB, files map[string]string) (repo, parent string) {
	t.Helper()
	parent = t.TempDir()
	repo = filepath.Join(parent, "project")
	if err := os.Mkdir(repo, 0o755); err != nil {
		t.Fatal(err)
	}
	userGit(t, repo, "init", "-q", "-b", "main")
	writeFiles(t, repo, files)
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "initial")
	return repo, parent
}

// inSession runs argv in a session's container as its user, in /workspace.
func inSession(t testing.TB, name string, argv ...string) string {
	t.Helper()
	out, err := inSessionErr(t, name, argv...)
	if err != nil {
		t.Fatalf("in session %s: %s: %v\n%s", name, strings.Join(argv, " "), err, out)
	}
	return out
}

func inSessionErr(t testing.TB, name string, argv ...string) (string, error) {
	t.Helper()
	args := append([]string{"exec", "-w", session.ContainerWorkdir, session.ContainerName(name)}, argv...)
	return dockerCLI(t, args...)
}

// agentSh runs a shell script in the session's container, as the agent would.
func agentSh(t testing.TB, name, script string) string {
	t.Helper()
	return inSession(t, name, "sh", "-c", "set -e\n"+script)
}

// agentGit is the agent's git in its workspace, with an identity.
const agentGit = "git -c user.name=Agent -c user.email=agent@example.com"

// snapshot lists every entry below dir (skipping skip), with its size and
// modification time, so a test can tell that nothing there was written.
func snapshot(t testing.TB, dir, skip string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if p == skip {
			return filepath.SkipDir
		}
		fi, err := os.Lstat(p)
		if err != nil {
			return err
		}
		out = append(out, p+" "+fi.Mode().String()+" "+fi.ModTime().String()+" "+strconv.FormatInt(fi.Size(), 10))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	sort.Strings(out)
	return out
}

// diffJSON runs `clauderon diff --json`.
func diffJSON(t testing.TB, home, name string) workspace.Diff {
	t.Helper()
	var d workspace.Diff
	if err := json.Unmarshal([]byte(clOK(t, home, "diff", name, "--json")), &d); err != nil {
		t.Fatal(err)
	}
	return d
}

// changedPaths are the paths a diff names.
func changedPaths(d workspace.Diff) map[string]string {
	out := map[string]string{}
	for _, f := range d.Files {
		out[f.Path] = f.Status
	}
	return out
}

// wsDir is a session's workspace on the host.
func wsDir(home, name string) string { return filepath.Join(home, "workspaces", name) }

// tree is the work's tree of a session, as `clauderon diff --json` shows it:
// land and apply of a running session name it.
func tree(t testing.TB, home, name string) string {
	t.Helper()
	return diffJSON(t, home, name).Tree
}
