package workspace

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// treeOf describes every entry under dir: its type and permission bits,
// and a file's content or a symlink's target.
func treeOf(t testing.TB, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		if rel == "." {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		desc := fi.Mode().String()
		switch {
		case fi.Mode().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			desc += " " + string(b)
		case fi.Mode()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			desc += " -> " + target
		}
		out[rel] = desc
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// roundTrip writes dir as a tar and reads it back into a new directory.
func roundTrip(t testing.TB, dir string, opts TarOptions) (string, Stats) {
	t.Helper()
	dest := filepath.Join(t.TempDir(), "back")
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(WriteTar(context.Background(), dir, pw, opts)) }()
	st, err := ReadTar(context.Background(), pr, dest, opts)
	pr.Close()
	if err != nil {
		t.Fatal(err)
	}
	return dest, st
}

func TestTarRoundTripGitRepo(t *testing.T) {
	isolateGit(t)
	repo := t.TempDir()
	userGit(t, repo, "init", "-q")
	writeFile(t, filepath.Join(repo, "README.md"), "# readme\n")
	writeFile(t, filepath.Join(repo, "src", "main.go"), "package main\n")
	writeFile(t, filepath.Join(repo, "run.sh"), "#!/bin/sh\necho hi\n")
	if err := os.Chmod(filepath.Join(repo, "run.sh"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("src/main.go", filepath.Join(repo, "link")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("/etc/passwd", filepath.Join(repo, "abs-link")); err != nil {
		t.Fatal(err)
	}
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "first")
	// A working-tree change, an untracked file, and one whose name needs quoting.
	writeFile(t, filepath.Join(repo, "README.md"), "# readme, changed\n")
	writeFile(t, filepath.Join(repo, "new file\twith tab.txt"), "new\n")
	// Not a workspace's: left out rather than copied.
	mkfifo(t, filepath.Join(repo, "fifo"))

	dest, st := roundTrip(t, repo, TarOptions{})
	want, got := treeOf(t, repo), treeOf(t, dest)
	delete(want, "fifo")
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s: got %q, want %q", k, got[k], v)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s appeared", k)
		}
	}
	if st.Symlinks != 2 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
	// The copy is the same repository: git sees the same commit and change.
	// (git runs here on the test's own tree, not on anything an agent wrote.)
	if a, b := userGit(t, repo, "rev-parse", "HEAD"), userGit(t, dest, "rev-parse", "HEAD"); a != b {
		t.Errorf("HEAD %s, copy's %s", a, b)
	}
	if a, b := userGit(t, repo, "status", "--porcelain"), userGit(t, dest, "status", "--porcelain"); a != b {
		t.Errorf("status differs:\n%s\ncopy's:\n%s", a, b)
	}
}

func TestWriteTarBounds(t *testing.T) {
	dir := t.TempDir()
	for i := range 3 {
		writeFile(t, filepath.Join(dir, fmt.Sprint(i)), "12345")
	}
	for _, c := range []struct {
		opts TarOptions
		want string
	}{{TarOptions{MaxFiles: 2}, "more than 2 files"}, {TarOptions{MaxBytes: 14}, "more than 14 B"}} {
		err := WriteTar(context.Background(), dir, io.Discard, c.opts)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("WriteTar %+v: %v, want %q", c.opts, err, c.want)
		}
	}
	if err := WriteTar(context.Background(), dir, io.Discard, TarOptions{MaxFiles: 3, MaxBytes: 15}); err != nil {
		t.Errorf("at the bounds: %v", err)
	}
}

// BenchmarkTarRoundTrip moves a 2000-file tree (about 16 MB) through
// WriteTar and ReadTar over a pipe, as a workspace goes into and out of a pod.
func BenchmarkTarRoundTrip(b *testing.B) {
	src := b.TempDir()
	var total int64
	for i := range 2000 {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.txt", i))
		body := strings.Repeat(fmt.Sprintf("line %d of a source file\n", i), 1+i%600)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			b.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(body))
	}
	b.SetBytes(total)
	b.ResetTimer()
	start := time.Now()
	for b.Loop() {
		dest, _ := roundTrip(b, src, TarOptions{})
		b.StopTimer()
		os.RemoveAll(dest)
		b.StartTimer()
	}
	el := time.Since(start)
	ours := float64(total) * float64(b.N) / 1e6 / el.Seconds()
	b.Logf("%d files, %.1f MB per round trip, %d round trips: %.0f MB/s (wall, including removal)",
		2000, float64(total)/1e6, b.N, ours)

	// The same stream through GNU tar, if the host has it: what the
	// filesystem allows, to read ours against.
	if _, err := exec.LookPath("tar"); err != nil {
		return
	}
	var stream bytes.Buffer
	if err := WriteTar(context.Background(), src, &stream, TarOptions{}); err != nil {
		b.Fatal(err)
	}
	var el2 time.Duration
	for range b.N {
		dest := filepath.Join(b.TempDir(), "gnu")
		os.Mkdir(dest, 0o700)
		t0 := time.Now()
		cmd := exec.Command("tar", "-x", "-C", dest)
		cmd.Stdin = bytes.NewReader(stream.Bytes())
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("tar -x: %v\n%s", err, out)
		}
		el2 += time.Since(t0)
		os.RemoveAll(dest)
	}
	gnu := float64(total) * float64(b.N) / 1e6 / el2.Seconds()
	b.Logf("GNU tar -x of the same stream alone: %.0f MB/s; WriteTar+ReadTar runs at %.2fx of it", gnu, ours/gnu)
}

// TestTarRoundTripWorkspace is the Kubernetes path on one host: a
// workspace Create made goes out as a tar, the agent's work comes back
// into a fresh directory, and Diff and Land read that directory as they
// read the workspace itself (the user's objects are found through Info,
// not through the alternates file the tree carries).
func TestTarRoundTripWorkspace(t *testing.T) {
	isolateGit(t)
	repo := t.TempDir()
	userGit(t, repo, "init", "-q")
	writeFile(t, filepath.Join(repo, "README.md"), "# readme\n")
	writeFile(t, filepath.Join(repo, "keep.txt"), "keep\n")
	userGit(t, repo, "add", "-A")
	userGit(t, repo, "commit", "-q", "-m", "first")
	info := create(t, CreateOptions{Source: repo})

	// The pod's copy, where the agent works and commits.
	pod, _ := roundTrip(t, info.Dir, TarOptions{})
	writeFile(t, filepath.Join(pod, "README.md"), "# readme, by the agent\n")
	writeFile(t, filepath.Join(pod, "new.txt"), "new\n")
	agentGit(t, Info{Dir: pod, ObjectsDir: info.ObjectsDir}, "add", "-A")
	agentGit(t, Info{Dir: pod, ObjectsDir: info.ObjectsDir}, "commit", "-q", "-m", "agent")

	back, _ := roundTrip(t, pod, TarOptions{})
	got := info
	got.Dir = back
	d, err := got.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatal(err)
	}
	var files []string
	for _, f := range d.Files {
		files = append(files, f.Path+":"+f.Status)
	}
	if strings.Join(files, ",") != "README.md:modified,new.txt:added" || d.Commits != 1 {
		t.Errorf("diff of the synced-back tree: %v, %d commits", files, d.Commits)
	}
	m, err := got.Land(context.Background(), LandOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if out := userGit(t, repo, "show", m.Commit+":README.md"); out != "# readme, by the agent\n" {
		t.Errorf("landed README.md: %q", out)
	}
}

// TestWriteTarTreeChangingUnderIt: the agent goes on working while its
// pod's side of a sync-back reads the tree. Whatever it does between the
// walk and the reads, the stream stays a whole tar that ReadTar takes.
func TestWriteTarTreeChangingUnderIt(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "a-shrinks"), strings.Repeat("a", 300<<10))
	writeFile(t, filepath.Join(dir, "b-grows"), "bb")
	writeFile(t, filepath.Join(dir, "c-vanishes"), "c")
	writeFile(t, filepath.Join(dir, "d-becomes-link"), "d")
	writeFile(t, filepath.Join(dir, "e-becomes-fifo"), "e")
	writeFile(t, filepath.Join(dir, "f-dir", "x"), "x")
	writeFile(t, filepath.Join(dir, "z-stays"), "z")
	testHookTarCopy = func(name string) {
		if name != "a-shrinks" {
			return
		}
		// All of it happens after the walk read the top directory.
		os.Truncate(filepath.Join(dir, "a-shrinks"), 10)
		os.WriteFile(filepath.Join(dir, "b-grows"), []byte("bbbbbbbb"), 0o644)
		os.Remove(filepath.Join(dir, "c-vanishes"))
		os.Remove(filepath.Join(dir, "d-becomes-link"))
		os.Symlink("/etc/passwd", filepath.Join(dir, "d-becomes-link"))
		os.Remove(filepath.Join(dir, "e-becomes-fifo"))
		mkfifo(t, filepath.Join(dir, "e-becomes-fifo"))
		os.RemoveAll(filepath.Join(dir, "f-dir"))
	}
	t.Cleanup(func() { testHookTarCopy = nil })
	dest, st := roundTrip(t, dir, TarOptions{})
	got := treeOf(t, dest)
	want := map[string]string{
		"a-shrinks": "-rw-r--r-- " + strings.Repeat("a", 10) + strings.Repeat("\x00", 300<<10-10),
		"b-grows":   "-rw-r--r-- bbbbbbbb",
		"z-stays":   "-rw-r--r-- z",
	}
	for k, v := range want {
		if got[k] != v {
			g := got[k]
			t.Errorf("%s: got %q…, want %q…", k, g[:min(len(g), 40)], v[:min(len(v), 40)])
		}
	}
	for k := range got {
		// A directory removed once the walk saw it may come as an empty one.
		if _, ok := want[k]; !ok && !(k == "f-dir" && got[k] == "drwxr-xr-x") {
			t.Errorf("%s came across: %q", k, got[k])
		}
	}
	if st.Files != 3 || st.Skipped != 0 {
		t.Errorf("stats %+v", st)
	}
}
