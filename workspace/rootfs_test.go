package workspace

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

func TestGitFS(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "secret")
	writeFile(t, outside, "secret\n")
	dir := t.TempDir()
	git := filepath.Join(dir, ".git")
	writeFile(t, filepath.Join(git, "HEAD"), "ref: refs/heads/main\n")
	writeFile(t, filepath.Join(git, "config"), "[core]\n\tfsmonitor = evil\n")
	writeFile(t, filepath.Join(git, "refs", "heads", "main"), strings.Repeat("a", 40)+"\n")
	writeFile(t, filepath.Join(git, "objects", "info", "alternates"), "/elsewhere\n")
	writeFile(t, filepath.Join(git, "objects", "ab", "cdef"), "loose\n")
	writeFile(t, filepath.Join(git, "objects", "pack", "pack-1.pack"), "PACK")
	writeFile(t, filepath.Join(git, "objects", "pack", "tmp_pack_x"), "")
	if err := os.Symlink(outside, filepath.Join(git, "refs", "heads", "out")); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink("../../../../x", filepath.Join(git, "refs", "heads", "up")); err != nil {
		t.Fatal(err)
	}
	root, err := os.OpenRoot(git)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	g := &gitFS{root: root, name: git}

	for _, c := range []struct {
		path     string
		want     string // content; "" when it must not open
		notExist bool
	}{
		{"HEAD", "ref: refs/heads/main\n", false},
		{"/refs/heads/main", strings.Repeat("a", 40) + "\n", false},
		{"config", "", true},
		{"index", "", true},
		{"hooks/pre-commit", "", true},
		{"objects/info/alternates", "", true},
		{"objects/ab/cdef", "", true},
		{"objects/pack/tmp_pack_x", "", true},
		{"refs/../config", "", true},
		{"refs/heads/out", "", false},
		{"refs/heads/up", "", false},
	} {
		t.Run(c.path, func(t *testing.T) {
			f, err := g.Open(c.path)
			if c.want == "" {
				if err == nil {
					b, _ := io.ReadAll(f)
					t.Fatalf("Open(%q) = %q, want an error", c.path, b)
				}
				if c.notExist && !errors.Is(err, fs.ErrNotExist) {
					t.Errorf("Open(%q) = %v, want not-exist", c.path, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Open(%q): %v", c.path, err)
			}
			b, _ := io.ReadAll(f)
			if string(b) != c.want {
				t.Errorf("Open(%q) read %q, want %q", c.path, b, c.want)
			}
		})
	}

	for _, c := range []struct {
		name string
		err  error
	}{
		{"Create", func() error { _, err := g.Create("refs/heads/x"); return err }()},
		{"OpenFile write", func() error { _, err := g.OpenFile("HEAD", os.O_WRONLY, 0); return err }()},
		{"Remove", g.Remove("HEAD")},
		{"Rename", g.Rename("HEAD", "x")},
		{"MkdirAll", g.MkdirAll("refs/x", 0o755)},
		{"Symlink", g.Symlink("HEAD", "refs/x")},
	} {
		if c.err == nil {
			t.Errorf("%s succeeded on the read-only gitFS", c.name)
		}
	}
	if readFile(t, filepath.Join(git, "HEAD")) != "ref: refs/heads/main\n" {
		t.Error("HEAD changed")
	}

	ents, err := g.ReadDir("objects")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	sort.Strings(names)
	if strings.Join(names, ",") != "pack" {
		t.Errorf("ReadDir(objects) = %q, want only pack", names)
	}
	if _, err := g.Chroot("refs"); err == nil {
		t.Error("Chroot succeeded")
	}
}

// sparse makes a file of size bytes with nothing on disk, or skips.
func sparse(t *testing.T, p string, size int64) {
	t.Helper()
	writeFile(t, p, "")
	if err := os.Truncate(p, size); err != nil {
		t.Skipf("sparse file: %v", err)
	}
	fi, err := os.Stat(p)
	if err != nil {
		t.Fatal(err)
	}
	if on, ok := allocated(fi); !ok || on >= size/8 {
		t.Skipf("this filesystem does not make sparse files (%d of %d bytes on disk)", on, size)
	}
}

func TestGitFSPackLimits(t *testing.T) {
	git := filepath.Join(t.TempDir(), ".git")
	packDir := filepath.Join(git, "objects", "pack")
	name := func(i int) string { return fmt.Sprintf("objects/pack/pack-%040d", i) }
	for i := range 3 {
		writeFile(t, filepath.Join(git, name(i)+".idx"), strings.Repeat("i", 1000))
		writeFile(t, filepath.Join(git, name(i)+".pack"), "PACK")
	}
	root, err := os.OpenRoot(git)
	if err != nil {
		t.Fatal(err)
	}
	defer root.Close()
	open := func(g *gitFS, p string) error {
		f, err := g.Open(p)
		if err == nil {
			f.Close()
		}
		return err
	}

	t.Run("index bytes", func(t *testing.T) {
		g := &gitFS{root: root, name: git, maxIdxBytes: 2500}
		for i := range 2 {
			if err := open(g, name(i)+".idx"); err != nil {
				t.Fatalf("index %d: %v", i, err)
			}
		}
		if err := open(g, name(0)+".idx"); err != nil {
			t.Errorf("an index opened again counted twice: %v", err)
		}
		if err := open(g, name(2)+".idx"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "pack indexes hold more than") {
			t.Errorf("the index past the budget: %v, want ErrCorrupt", err)
		}
	})

	t.Run("packs", func(t *testing.T) {
		g := &gitFS{root: root, name: git, maxPacks: 2}
		if _, err := g.ReadDir("objects/pack"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than 2 packs") {
			t.Errorf("ReadDir of 3 packs = %v, want ErrCorrupt", err)
		}
		for i := range 2 {
			if err := open(g, name(i)+".idx"); err != nil {
				t.Fatalf("index %d: %v", i, err)
			}
		}
		if err := open(g, name(2)+".idx"); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "more than 2 packs") {
			t.Errorf("the third index = %v, want ErrCorrupt", err)
		}
	})

	t.Run("sparse", func(t *testing.T) {
		g := &gitFS{root: root, name: git}
		for _, ext := range []string{".idx", ".pack"} {
			sparse(t, filepath.Join(packDir, "pack-"+strings.Repeat("5", 40)+ext), 2<<20)
			if err := open(g, "objects/pack/pack-"+strings.Repeat("5", 40)+ext); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sparse") {
				t.Errorf("a sparse %s = %v, want ErrCorrupt saying it is sparse", ext, err)
			}
		}
	})
}

// TestSparseIdxInWorkspace: a sparse index in the workspace is refused
// before go-git decodes it, whatever reads the store.
func TestSparseIdxInWorkspace(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	writeFile(t, filepath.Join(info.Dir, "new.txt"), "x\n")
	base := filepath.Join(info.Dir, ".git", "objects", "pack", "pack-"+strings.Repeat("7", 40))
	sparse(t, base+".idx", 500<<20) // under the old limit of one index, like the 532 MB ones
	writeFile(t, base+".pack", "PACK")
	_, err := info.Summarize(context.Background(), nil)
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "sparse") {
		t.Errorf("Summarize = %v, want ErrCorrupt saying the index is sparse", err)
	}
}
