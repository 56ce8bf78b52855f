package testimage_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/internal/testimage"
)

// TestImage checks what other packages' tests rely on: claude runs as the
// non-root user claude in /workspace, with git, curl and rg at hand.
func TestImage(t *testing.T) {
	tag := testimage.Ensure(t)
	out := run(t, tag, "sh", "-c", `id -u; id -un; pwd; echo $HOME; claude --version; git --version; curl --version | head -n1; rg --version | head -n1`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 8 {
		t.Fatalf("output has %d lines, want 8:\n%s", len(lines), out)
	}
	for i, want := range []string{"1000", "claude", "/workspace", "/home/claude", "(Claude Code)", "git version", "curl ", "ripgrep "} {
		if !strings.Contains(lines[i], want) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], want)
		}
	}
}

func run(t *testing.T, image string, cmd ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	b, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	return testimage.Run(t, ctx, b, backend.Spec{Image: image, Cmd: cmd, Labels: map[string]string{"clauderon.test": t.Name()}})
}
