package testimage_test

import (
	"context"
	"strconv"
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
	// head closes the pipe early: the tools' "broken pipe" complaints on
	// stderr would land among the lines.
	out := run(t, tag, "sh", "-c", `id -u; id -un; pwd; echo $HOME; claude --version; git --version; curl --version 2>/dev/null | head -n1; rg --version 2>/dev/null | head -n1`)
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

// TestOtherUserImage: the second image runs as OtherUser, neither claude
// nor uid 1000, in its own home, with claude on its PATH.
func TestOtherUserImage(t *testing.T) {
	tag := testimage.EnsureOtherUser(t)
	out := run(t, tag, "sh", "-c", `id -u; id -un; echo $HOME; test -w $HOME && echo writable; claude --version`)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	want := []string{strconv.Itoa(testimage.OtherUID), testimage.OtherUser, "/home/" + testimage.OtherUser, "writable", "(Claude Code)"}
	if len(lines) < len(want) {
		t.Fatalf("output has %d lines, want %d:\n%s", len(lines), len(want), out)
	}
	for i, w := range want {
		if !strings.Contains(lines[i], w) {
			t.Errorf("line %d = %q, want it to contain %q", i, lines[i], w)
		}
	}
	if testimage.OtherUser == "claude" || testimage.OtherUID == 1000 {
		t.Error("the other user must be neither claude nor uid 1000")
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
