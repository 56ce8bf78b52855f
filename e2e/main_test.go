// Package e2e runs the built clauderon binary against real clients, a real
// Docker engine and the real Claude Code, with only Anthropic's API faked.
package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/testimage"
)

// Canary is the "real" token of every end-to-end test. It must never show up
// anywhere but in the fake upstream's records.
const Canary = "sk-ant-oat01-CANARY-e2e-5f1c2b7a9d3e4c60"

// binary is the clauderon binary built once for this package.
var binary string

func TestMain(m *testing.M) {
	if os.Getenv(squatterEnv) != "" {
		os.Exit(squatterMain(os.Args[1:]))
	}
	dir, err := os.MkdirTemp("", "clauderon-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "clauderon")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-race", "-o", binary, ".")
	build.Dir = filepath.Dir(filepath.Dir(file))
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building clauderon:", err)
		os.Exit(1)
	}
	code := m.Run()
	closeBrowser()
	os.RemoveAll(dir)
	os.Exit(code)
}

// releaseBinary is clauderon built as `make build` builds it, without the
// race detector (whose shadow memory would swamp a memory bound), built
// once, when a test first asks.
var releaseBinary = sync.OnceValues(func() (string, error) {
	out := filepath.Join(filepath.Dir(binary), "clauderon-release")
	_, file, _, _ := runtime.Caller(0)
	build := exec.Command("go", "build", "-o", out, ".")
	build.Dir = filepath.Dir(filepath.Dir(file))
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := build.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building clauderon without -race: %v\n%s", err, b)
	}
	return out, nil
})

// claudeBinary is the real Claude Code native binary from npm.
func claudeBinary(t testing.TB) string {
	t.Helper()
	p := testimage.ClaudePath()
	if _, err := os.Stat(p); err != nil {
		testenv.Unavailable(t, "Claude Code is not installed at %s (make test installs it): %v", p, err)
	}
	return p
}

// fakeHome makes a CLAUDERON_HOME whose config sends api.anthropic.com to a
// fresh fake upstream, verified against the fake's own CA.
func fakeHome(t testing.TB) (home string, fake *fakeanthropic.Server) {
	t.Helper()
	home = t.TempDir()
	fake, err := fakeanthropic.Start(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fake.Close)
	// No MCP HTTP endpoint unless a test asks: daemons would meet on its port.
	cfg := config.Config{Proxy: config.Proxy{Upstreams: map[string]config.Upstream{
		"api.anthropic.com": {Address: fake.Addr, CAFile: fake.CAFile},
	}}, MCP: config.MCP{Port: -1}}
	b, _ := json.MarshalIndent(cfg, "", "  ")
	if err := os.WriteFile(filepath.Join(home, config.FileName), b, 0o600); err != nil {
		t.Fatal(err)
	}
	return home, fake
}

// baseEnv is a minimal environment: no inherited credential can leak in.
func baseEnv(home string, extra ...string) []string {
	env := []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + home,
		"CLAUDERON_HOME=" + home,
		// The race runtime otherwise sleeps a second at every exit.
		"GORACE=atexit_sleep_ms=0",
	}
	for _, k := range []string{"DOCKER_HOST", "DBUS_SESSION_BUS_ADDRESS", "TMPDIR"} {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	return append(env, extra...)
}

// assertNoCanaryUnder fails if any file below dir contains the canary.
func assertNoCanaryUnder(t testing.TB, dir, canary string) {
	t.Helper()
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !d.Type().IsRegular() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.Contains(b, []byte(canary)) {
			t.Errorf("the canary token was written to %s", p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func assertNoCanary(t testing.TB, where, text, canary string) {
	t.Helper()
	if strings.Contains(text, canary) {
		t.Errorf("the canary token appears in %s", where)
	}
}
