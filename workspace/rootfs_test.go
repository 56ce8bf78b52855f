package workspace

import (
	"errors"
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
