package agent_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/build/agent"
	"github.com/clauderon/clauderon/internal/testimage"
)

// TestBuildFromNPM builds the image users get, with Claude Code downloaded
// from the npm registry, on the local Debian base. It is opt-in
// (CLAUDERON_TEST_NPM_BUILD=1): it downloads about 80 MB. The host's roots
// are added to the base because networks may intercept TLS.
func TestBuildFromNPM(t *testing.T) {
	if os.Getenv("CLAUDERON_TEST_NPM_BUILD") != "1" {
		t.Skip("set CLAUDERON_TEST_NPM_BUILD=1 to build the agent image from npm")
	}
	b, err := docker.New()
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	testimage.Ensure(t) // makes testimage.BaseImage
	suffix := time.Now().Format("20060102150405")

	baseDir := t.TempDir()
	roots, err := os.ReadFile(hostRoots())
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(baseDir, "host-roots.crt"), roots, 0o644)
	os.WriteFile(filepath.Join(baseDir, "Dockerfile"), []byte("FROM "+testimage.BaseImage+"\nCOPY host-roots.crt /usr/local/share/ca-certificates/\n"), 0o644)
	base := "clauderon-test-npmbase:" + suffix
	if err := b.BuildImage(ctx, baseDir, "", base, func(l string) { t.Log(l) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.RemoveImage(context.Background(), base) })

	dir := t.TempDir()
	if err := agent.WriteContext(dir, agent.Options{BaseImage: base}); err != nil {
		t.Fatal(err)
	}
	tag := "clauderon-test-npm:" + suffix
	if err := b.BuildImage(ctx, dir, "", tag, func(l string) { t.Log(l) }); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.RemoveImage(context.Background(), tag) })

	out := testimage.Run(t, ctx, b, backend.Spec{Image: tag, Cmd: []string{"sh", "-c", "id -un; readlink -f \"$(command -v claude)\"; claude --version"}})
	for _, want := range []string{"claude\n", "/usr/local/bin/claude\n", "(Claude Code)"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}
