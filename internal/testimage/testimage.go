// Package testimage builds the one image every end-to-end test runs: the
// agent image on a locally made Debian with the host's real Claude Code; and
// a small image on top of it whose user is another one.
package testimage

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/build/agent"
)

const (
	// BaseImage is the Debian root filesystem made with debootstrap.
	BaseImage = "clauderon-test-base:bookworm"
	// Repository is the test image's name; its tag is a hash of its inputs.
	Repository = "clauderon-test"
	// DefaultClaude is where the test setup installs Claude Code's npm package.
	DefaultClaude = "/opt/clauderon-test/node_modules/.bin/claude"

	debianMirror = "http://deb.debian.org/debian"

	// OtherRepository is the name of the image EnsureOtherUser makes.
	OtherRepository = "clauderon-test-other"
	// OtherUser is that image's USER: neither claude nor uid 1000, so that
	// nothing passes by assuming either.
	OtherUser = "agent"
	OtherUID  = 1001
)

// ErrUnavailable wraps a missing prerequisite: no engine, no claude binary,
// no debootstrap (or not root) when the base image must be made.
var ErrUnavailable = errors.New("test image prerequisites missing")

// ClaudePath is the host's Claude Code binary: $CLAUDERON_TEST_CLAUDE or DefaultClaude.
func ClaudePath() string {
	if p := os.Getenv("CLAUDERON_TEST_CLAUDE"); p != "" {
		return p
	}
	return DefaultClaude
}

// cache remembers this process's result so Ensure costs one check per binary.
var cache struct {
	sync.Mutex
	tag, other string
	err        error
}

// Ensure returns the test image's tag, building it if this machine does not
// have it yet. Missing prerequisites skip the test, or fail it when
// CLAUDERON_REQUIRE_E2E=1; a failed build fails it.
func Ensure(t testing.TB) string {
	t.Helper()
	cache.Lock()
	defer cache.Unlock()
	if cache.tag == "" && cache.err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Minute)
		defer cancel()
		cache.tag, cache.err = Build(ctx, t.Logf)
	}
	if errors.Is(cache.err, ErrUnavailable) {
		testenv.Unavailable(t, "%v", cache.err)
	}
	if cache.err != nil {
		t.Fatalf("test image: %v", cache.err)
	}
	return cache.tag
}

// EnsureOtherUser is Ensure for the image whose USER is OtherUser, with
// its own home; it is built on the test image in a second or two.
func EnsureOtherUser(t testing.TB) string {
	t.Helper()
	tag := Ensure(t)
	cache.Lock()
	defer cache.Unlock()
	if cache.other == "" {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		other, err := BuildOtherUser(ctx, tag, t.Logf)
		if err != nil {
			t.Fatalf("test image with user %s: %v", OtherUser, err)
		}
		cache.other = other
	}
	return cache.other
}

// otherDockerfile makes OtherUser on the test image, as a user's own image
// would: its home, and Claude Code where the native build looks for itself.
const otherDockerfile = `FROM %s
USER root
RUN useradd --create-home --uid %d --user-group --shell /bin/bash %s \
 && mkdir -p /home/%[3]s/.local/bin \
 && ln -s /usr/local/bin/claude /home/%[3]s/.local/bin/claude \
 && chown -R %[3]s:%[3]s /home/%[3]s/.local
USER %[3]s
`

// BuildOtherUser makes the image with OtherUser on top of the test image
// base (a tag Build returned) unless it exists, and returns its tag.
func BuildOtherUser(ctx context.Context, base string, logf func(string, ...any)) (string, error) {
	b, err := docker.New()
	if err != nil {
		return "", err
	}
	defer b.Close()
	unlock, err := lock(filepath.Join(os.TempDir(), "clauderon-testimage.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()
	df := fmt.Sprintf(otherDockerfile, base, OtherUID, OtherUser)
	sum := sha256.Sum256([]byte(df))
	tag := OtherRepository + ":" + hex.EncodeToString(sum[:])[:16]
	if ok, err := b.ImageExists(ctx, tag); err != nil || ok {
		return tag, err
	}
	dir, err := os.MkdirTemp("", "clauderon-testimage-other-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte(df), 0o644); err != nil {
		return "", err
	}
	logf("testimage: building %s (user %s) on %s", tag, OtherUser, base)
	if err := b.BuildImage(ctx, dir, "Dockerfile", tag, func(line string) { logf("testimage: %s", line) }); err != nil {
		return "", err
	}
	return tag, nil
}

// Build makes the test image unless it exists and returns its tag. Concurrent
// callers, in this process or others, wait for one build.
func Build(ctx context.Context, logf func(string, ...any)) (string, error) {
	b, err := docker.New()
	if err != nil {
		return "", err
	}
	defer b.Close()
	if err := b.Ping(ctx); err != nil {
		return "", fmt.Errorf("%w: %v", ErrUnavailable, err)
	}
	claude, err := filepath.EvalSymlinks(ClaudePath())
	if err != nil {
		return "", fmt.Errorf("%w: Claude Code binary (set CLAUDERON_TEST_CLAUDE): %v", ErrUnavailable, err)
	}
	fi, err := os.Stat(claude)
	if err != nil {
		return "", fmt.Errorf("%w: Claude Code binary: %v", ErrUnavailable, err)
	}

	unlock, err := lock(filepath.Join(os.TempDir(), "clauderon-testimage.lock"))
	if err != nil {
		return "", err
	}
	defer unlock()

	if err := ensureBase(ctx, b, logf); err != nil {
		return "", err
	}
	baseID, err := b.ImageID(ctx, BaseImage)
	if err != nil {
		return "", err
	}
	opts := agent.Options{BaseImage: BaseImage, ClaudeBinary: claude}
	df, err := agent.Dockerfile(opts)
	if err != nil {
		return "", err
	}
	h := sha256.New()
	for _, s := range []string{baseID, string(df), strconv.FormatInt(fi.Size(), 10), strconv.FormatInt(fi.ModTime().UnixNano(), 10)} {
		fmt.Fprintf(h, "%d:%s\n", len(s), s)
	}
	tag := Repository + ":" + hex.EncodeToString(h.Sum(nil))[:16]
	if ok, err := b.ImageExists(ctx, tag); err != nil || ok {
		return tag, err
	}

	dir, err := os.MkdirTemp("", "clauderon-testimage-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := agent.WriteContext(dir, opts); err != nil {
		return "", err
	}
	logf("testimage: building %s with %s", tag, claude)
	start := time.Now()
	if err := b.BuildImage(ctx, dir, "Dockerfile", tag, func(line string) { logf("testimage: %s", line) }); err != nil {
		return "", err
	}
	logf("testimage: built %s in %s", tag, time.Since(start).Round(time.Second))
	return tag, nil
}

// ensureBase makes BaseImage from debootstrap unless the engine has it.
func ensureBase(ctx context.Context, b *docker.Backend, logf func(string, ...any)) error {
	if ok, err := b.ImageExists(ctx, BaseImage); err != nil || ok {
		return err
	}
	if _, err := exec.LookPath("debootstrap"); err != nil {
		return fmt.Errorf("%w: %s is missing and debootstrap is not installed", ErrUnavailable, BaseImage)
	}
	if os.Geteuid() != 0 {
		return fmt.Errorf("%w: %s is missing and debootstrap needs root", ErrUnavailable, BaseImage)
	}
	dir, err := os.MkdirTemp("", "clauderon-debootstrap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	root := filepath.Join(dir, "root")

	logf("testimage: debootstrap --variant=minbase bookworm (about 30 s)")
	start := time.Now()
	cmd := exec.CommandContext(ctx, "debootstrap", "--variant=minbase", "bookworm", root, debianMirror)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("debootstrap: %w\n%s", err, tail(out, 2000))
	}

	tarCmd := exec.CommandContext(ctx, "tar", "-C", root, "-c", ".")
	stdout, err := tarCmd.StdoutPipe()
	if err != nil {
		return err
	}
	var stderr tailBuffer
	tarCmd.Stderr = &stderr
	if err := tarCmd.Start(); err != nil {
		return err
	}
	importErr := b.ImportImage(ctx, stdout, BaseImage, nil)
	if importErr != nil {
		_ = tarCmd.Process.Kill()
	}
	if err := errors.Join(importErr, tarCmd.Wait()); err != nil {
		return fmt.Errorf("import %s: %w %s", BaseImage, err, stderr.String())
	}
	logf("testimage: made %s in %s", BaseImage, time.Since(start).Round(time.Second))
	return nil
}

// lock takes an exclusive flock on path, waiting for other processes.
func lock(path string) (unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o666)
	if err != nil {
		return nil, fmt.Errorf("test image lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("test image lock: %w", err)
	}
	return func() {
		_ = syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}

func tail(b []byte, n int) []byte {
	if len(b) > n {
		return b[len(b)-n:]
	}
	return b
}

// tailBuffer keeps the last few KB written to it.
type tailBuffer struct{ b []byte }

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.b = tail(append(t.b, p...), 4096)
	return len(p), nil
}

func (t *tailBuffer) String() string { return string(t.b) }

// Run runs spec to its end on b and returns what it printed; the container
// is removed before Run returns.
func Run(t testing.TB, ctx context.Context, b *docker.Backend, spec backend.Spec) string {
	t.Helper()
	id, err := b.Create(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Remove(context.Background(), id, true)
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	rc, err := b.Logs(ctx, id, true)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	out, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return string(out)
}
