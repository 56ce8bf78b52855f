package workspace

import (
	"context"
	"errors"
	"strings"
	"testing"
)

func TestGitCmdEnvironment(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	// A daemon started from a git hook would inherit these.
	t.Setenv("GIT_DIR", "/nonexistent")
	t.Setenv("GIT_INDEX_FILE", "/nonexistent/index")
	t.Setenv("GIT_CONFIG_PARAMETERS", "'core.hooksPath'='/tmp/evil'")
	g := gitCmd{dir: repo}
	for _, c := range []struct{ key, want string }{
		{"core.hooksPath", "/dev/null"},
		{"core.fsmonitor", "false"},
		{"core.pager", "cat"},
	} {
		out, err := g.run(context.Background(), "config", "--get", c.key)
		if err != nil {
			t.Fatalf("git config %s: %v", c.key, err)
		}
		if got := strings.TrimSpace(string(out)); got != c.want {
			t.Errorf("%s = %q, want %q", c.key, got, c.want)
		}
	}
	out, err := g.run(context.Background(), "rev-parse", "--absolute-git-dir")
	if err != nil || !strings.HasPrefix(string(out), repo) {
		t.Errorf("git found %q, %v; want the repository, not the inherited GIT_DIR", out, err)
	}
}

func TestNoGit(t *testing.T) {
	t.Setenv("PATH", t.TempDir())
	_, err := Create(context.Background(), CreateOptions{Source: "/", Dir: t.TempDir() + "/ws", Branch: "clauderon/x", Chown: -1})
	if !errors.Is(err, ErrNoGit) || !strings.Contains(err.Error(), "install git") {
		t.Errorf("Create without git = %v, want ErrNoGit saying to install it", err)
	}
}
