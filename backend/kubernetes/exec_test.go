package kubernetes

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/workspace"
)

// runPod starts a pod that only sleeps, to exec in.
func runPod(t *testing.T, ctx context.Context, b *Backend, image, name string) string {
	t.Helper()
	id, err := b.Create(ctx, testSpec(name, image, "sleep", "infinity"))
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Start(ctx, id); err != nil {
		t.Fatal(err)
	}
	return id
}

// execOK runs argv in the pod and fails the test unless it exits 0.
func execOK(t *testing.T, ctx context.Context, b *Backend, pod string, stdin io.Reader, argv ...string) string {
	t.Helper()
	var out, errb bytes.Buffer
	code, err := b.Exec(ctx, pod, "", argv, stdin, &out, &errb)
	if err != nil || code != 0 {
		t.Fatalf("exec %q: exit %d, %v; stderr %q", argv, code, err, errb.String())
	}
	return out.String()
}

func TestExecExitCodeAndStreams(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 120*time.Second)
	pod := runPod(t, ctx, b, image, "exec-codes")

	var out, errb bytes.Buffer
	// argv is not put through a shell: the ';' and '$' arrive as they are.
	code, err := b.Exec(ctx, pod, "", []string{"printf", "%s|", "a;b", "$HOME"}, nil, &out, &errb)
	if err != nil || code != 0 || out.String() != "a;b|$HOME|" {
		t.Errorf("printf: exit %d, %v, out %q", code, err, out.String())
	}
	out.Reset()
	code, err = b.Exec(ctx, pod, "", []string{"sh", "-c", "cat; echo to-stderr >&2; exit 7"}, strings.NewReader("from stdin"), &out, &errb)
	if err != nil || code != 7 {
		t.Errorf("exit 7: got exit %d, %v", code, err)
	}
	if out.String() != "from stdin" || !strings.Contains(errb.String(), "to-stderr") {
		t.Errorf("stdout %q stderr %q", out.String(), errb.String())
	}
	if code, err := b.Exec(ctx, pod, "", []string{"/no/such/program"}, nil, nil, nil); err == nil && code == 0 {
		t.Errorf("a missing program: exit %d, %v", code, err)
	}
	if _, err := b.Exec(ctx, "no-such-pod", "", []string{"true"}, nil, nil, nil); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("exec in a missing pod: %v, want ErrNotFound", err)
	}

	// Ending ctx ends an exec that is under way and would outlast the test.
	cctx, cancel := context.WithCancel(ctx)
	started := &signalWriter{ch: make(chan struct{})}
	done := make(chan error, 1)
	go func() {
		_, err := b.Exec(cctx, pod, "", []string{"sh", "-c", "echo started; exec sleep 600"}, nil, started, nil)
		done <- err
	}()
	select {
	case <-started.ch:
	case err := <-done:
		t.Fatalf("the exec ended before it started: %v", err)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("a cancelled exec returned %v, want context.Canceled", err)
		}
	case <-ctx.Done():
		t.Fatal("a cancelled exec did not return")
	}
}

// signalWriter closes ch at its first write.
type signalWriter struct {
	ch   chan struct{}
	once sync.Once
}

func (w *signalWriter) Write(p []byte) (int, error) {
	w.once.Do(func() { close(w.ch) })
	return len(p), nil
}

// TestWorkspaceThroughExec fills a pod's workspace from a host repository
// with WriteTar and tar -x, lets the "agent" change it and plant what would
// run on a host that used git on it, brings it back with tar -c and
// ReadTar, and reads it with the host's workspace code.
func TestWorkspaceThroughExec(t *testing.T) {
	if _, err := exec.LookPath("git"); err != nil {
		t.Skip("git is not installed")
	}
	b, image := testBackend(t)
	ctx := ctxFor(t, 120*time.Second)
	pod := runPod(t, ctx, b, image, "exec-ws")

	// The user's repository, on the host.
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("GIT_CONFIG_NOSYSTEM", "1")
	repo := t.TempDir()
	hostGit := func(args ...string) string {
		t.Helper()
		cmd := exec.Command("git", append([]string{"-c", "user.name=T", "-c", "user.email=t@example.com"}, args...)...)
		cmd.Dir = repo
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("git %q: %v\n%s", args, err, out)
		}
		return strings.TrimSpace(string(out))
	}
	hostGit("init", "-q", "-b", "main")
	for name, body := range map[string]string{"README.md": "# readme\n", "src/main.go": "package main\n", "run.sh": "#!/bin/sh\necho hi\n"} {
		p := filepath.Join(repo, name)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	os.Chmod(filepath.Join(repo, "run.sh"), 0o755)
	if err := os.Symlink("src/main.go", filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	hostGit("add", "-A")
	hostGit("commit", "-q", "-m", "first")
	baseline := hostGit("rev-parse", "HEAD")

	// Into the pod.
	execOK(t, ctx, b, pod, nil, "mkdir", "/tmp/ws")
	res, err := b.ExecWithInput(ctx, pod, "", []string{"tar", "-x", "-C", "/tmp/ws"}, func(w io.Writer) error {
		return workspace.WriteTar(ctx, repo, w, workspace.TarOptions{})
	})
	if err != nil || res.ExitCode != 0 {
		t.Fatalf("tar -x: %+v, %v", res, err)
	}
	if st := execOK(t, ctx, b, pod, nil, "git", "-C", "/tmp/ws", "status", "--porcelain"); st != "" {
		t.Fatalf("the pod's copy is not clean:\n%s", st)
	}
	if m := execOK(t, ctx, b, pod, nil, "stat", "-c", "%A", "/tmp/ws/run.sh"); strings.TrimSpace(m) != "-rwxr-xr-x" {
		t.Errorf("run.sh in the pod: %s", m)
	}

	// The agent works, and plants.
	var rnd [6]byte
	rand.Read(rnd[:])
	pwned := "/tmp/PWNED-" + hex.EncodeToString(rnd[:])
	t.Cleanup(func() { os.Remove(pwned) })
	agent := `set -e; cd /tmp/ws
echo '# readme, by the agent' > README.md
ln -s /etc/passwd passwd-link
printf '#!/bin/sh\ntouch ` + pwned + `-hook\n' > .git/hooks/post-checkout; chmod +x .git/hooks/post-checkout
git config core.fsmonitor 'touch ` + pwned + `'
mkfifo a-fifo
ln README.md hardlinked.md`
	execOK(t, ctx, b, pod, nil, "sh", "-c", agent)

	// Back to the host, into a new directory.
	dest := filepath.Join(t.TempDir(), "back")
	var st workspace.Stats
	res, err = b.ExecWithOutput(ctx, pod, "", []string{"tar", "-c", "--hard-dereference", "-C", "/tmp/ws", "."}, func(r io.Reader) error {
		var err error
		st, err = workspace.ReadTar(ctx, r, dest, workspace.TarOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.ExitCode != 0 {
		t.Errorf("tar -c: %+v", res)
	}
	if st.Skipped != 1 || st.SkippedNames[0] != "./a-fifo" {
		t.Errorf("stats %+v: want the FIFO skipped", st)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "README.md")); err != nil || string(b) != "# readme, by the agent\n" {
		t.Errorf("README.md: %q, %v", b, err)
	}
	if b, err := os.ReadFile(filepath.Join(dest, "hardlinked.md")); err != nil || string(b) != "# readme, by the agent\n" {
		t.Errorf("hardlinked.md: %q, %v", b, err)
	}
	if fi, err := os.Lstat(filepath.Join(dest, "passwd-link")); err != nil || fi.Mode()&fs.ModeSymlink == 0 {
		t.Errorf("passwd-link: %v, %v: want a symlink", fi, err)
	} else if target, _ := os.Readlink(filepath.Join(dest, "passwd-link")); target != "/etc/passwd" {
		t.Errorf("passwd-link -> %q", target)
	}
	if fi, err := os.Lstat(filepath.Join(dest, "run.sh")); err != nil || fi.Mode() != 0o755 {
		t.Errorf("run.sh: %v, %v", fi, err)
	}
	if fi, err := os.Lstat(filepath.Join(dest, ".git/hooks/post-checkout")); err != nil || !fi.Mode().IsRegular() {
		t.Errorf("the planted hook did not come back as a plain file: %v, %v", fi, err)
	}

	// The host's workspace code reads the agent's work without running
	// any of it (never the host's git on this tree: that would obey its config).
	d, err := workspace.Info{Dir: dest, Baseline: baseline, Branch: "clauderon/exec-ws"}.Diff(ctx, workspace.DiffOptions{Patches: true})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, f := range d.Files {
		got[f.Path] = f.Status
	}
	if got["README.md"] != workspace.StatusModified || got["passwd-link"] != workspace.StatusAdded {
		t.Errorf("diff files %v: want README.md modified and passwd-link added", got)
	}
	for _, p := range []string{pwned, pwned + "-hook"} {
		if _, err := os.Lstat(p); !errors.Is(err, fs.ErrNotExist) {
			t.Errorf("%s exists on the host: something the agent planted ran (%v)", p, err)
		}
	}
	if out := execOK(t, ctx, b, pod, nil, "git", "-C", "/tmp/ws", "status", "--porcelain"); !strings.Contains(out, "README.md") {
		t.Errorf("sanity: the pod's git sees no change: %q", out)
	}
	// The fsmonitor plant is real: the pod's own git just ran it.
	execOK(t, ctx, b, pod, nil, "test", "-e", pwned)
}

func TestExecWithInputOutputFailures(t *testing.T) {
	b, image := testBackend(t)
	ctx := ctxFor(t, 120*time.Second)
	pod := runPod(t, ctx, b, image, "exec-helpers")

	// The command exits without reading its stdin: the exit code and stderr
	// come back. (The input is small: a command that stops reading a flood
	// stalls the WebSocket stream until client-go's heartbeat deadline,
	// 61 s, and then ends it with an error instead; see ExecWithInput.)
	res, err := b.ExecWithInput(ctx, pod, "", []string{"sh", "-c", "echo no thanks >&2; exit 2"}, func(w io.Writer) error {
		_, err := io.Copy(w, io.LimitReader(zeros{}, 64<<10))
		return err
	})
	if err != nil || res.ExitCode != 2 || !strings.Contains(res.Stderr, "no thanks") {
		t.Errorf("exit 2 without reading: %+v, %v", res, err)
	}
	// A producer's own error is returned and ends the exec.
	boom := errors.New("boom")
	if _, err := b.ExecWithInput(ctx, pod, "", []string{"cat"}, func(w io.Writer) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("producer error: %v", err)
	}

	// tar -c of a missing directory: the consumer sees a short stream, the
	// caller the exit code and tar's message.
	res, err = b.ExecWithOutput(ctx, pod, "", []string{"tar", "-c", "-C", "/no/such/dir", "."}, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil || res.ExitCode == 0 || !strings.Contains(res.Stderr, "/no/such/dir") {
		t.Errorf("tar -c of a missing dir: %+v, %v", res, err)
	}
	// A consumer that stops early ends a command that would write forever.
	stop := errors.New("enough")
	if _, err := b.ExecWithOutput(ctx, pod, "", []string{"cat", "/dev/zero"}, func(r io.Reader) error {
		io.CopyN(io.Discard, r, 1<<20)
		return stop
	}); !errors.Is(err, stop) {
		t.Errorf("consumer error: %v", err)
	}
	// And a long stderr is kept only in part.
	res, err = b.ExecWithOutput(ctx, pod, "", []string{"sh", "-c", "head -c 100000 /dev/zero | tr '\\0' x >&2"}, func(r io.Reader) error {
		_, err := io.Copy(io.Discard, r)
		return err
	})
	if err != nil || len(res.Stderr) != maxExecStderr {
		t.Errorf("long stderr: %d bytes kept, %v", len(res.Stderr), err)
	}
}

type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}
