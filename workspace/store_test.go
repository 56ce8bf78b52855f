package workspace

import (
	"bytes"
	"compress/zlib"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
)

// TestPackedWorkspace: after the agent's git packs its objects, the work
// still reads (through go-git's pack reader, each object hash-checked).
func TestPackedWorkspace(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)
	agentGit(t, info, "gc", "-q", "--prune=now")
	if loose, _ := filepath.Glob(filepath.Join(info.Dir, ".git", "objects", "??", "*")); len(loose) > 0 {
		t.Fatalf("gc left loose objects: %q", loose)
	}
	d, err := info.Diff(context.Background(), DiffOptions{Patches: true})
	if err != nil {
		t.Fatalf("Diff: %v", err)
	}
	if d.Commits != 1 || len(d.Files) != 7 {
		t.Errorf("Diff = %d commits, %d files; want 1, 7", d.Commits, len(d.Files))
	}
	m, err := info.Land(context.Background(), LandOptions{})
	if err != nil {
		t.Fatalf("Land: %v", err)
	}
	if got := userGit(t, repo, "show", m.Commit+"~1:a.txt"); got != "one\ntwo\nthree\nfour\n" {
		t.Errorf("the agent's committed a.txt on the branch = %q", got)
	}
}

// writeLoose writes raw (already "type size\0content") as a loose object
// named h.
func writeLoose(t *testing.T, info Info, h string, raw []byte) {
	t.Helper()
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	p := filepath.Join(info.Dir, ".git", "objects", h[:2], h[2:])
	os.MkdirAll(filepath.Dir(p), 0o755)
	os.Remove(p)
	if err := os.WriteFile(p, buf.Bytes(), 0o444); err != nil {
		t.Fatal(err)
	}
}

func TestLooseObjects(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	r, err := info.open()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()

	good := []byte("hello\n")
	goodHash := plumbing.ComputeHash(plumbing.BlobObject, good)
	writeLoose(t, info, goodHash.String(), append([]byte(fmt.Sprintf("blob %d\x00", len(good))), good...))
	if o, err := r.objs.ws.get(goodHash); err != nil || o.Size() != int64(len(good)) {
		t.Errorf("a good loose object: %v, %v", o, err)
	}

	bomb := bytes.Repeat([]byte{'a'}, 1<<20)
	for _, c := range []struct {
		name string
		raw  []byte
		want string
	}{
		{"forged", []byte("blob 5\x00other"), "forged"},
		{"bomb under a small header", append([]byte("blob 5\x00"), bomb...), "longer than its header"},
		{"huge header", []byte(fmt.Sprintf("blob %d\x00x", maxObjectBytes+1)), "more than"},
		{"bad type", []byte("evil 1\x00x"), "bad type"},
		{"no NUL", bytes.Repeat([]byte{'x'}, 100), "bad header"},
		{"truncated", []byte("blob 10\x00abc"), "truncated"},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := plumbing.ComputeHash(plumbing.BlobObject, []byte(c.name))
			writeLoose(t, info, h.String(), c.raw)
			_, err := r.objs.ws.get(h)
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), c.want) {
				t.Errorf("get = %v, want ErrCorrupt saying %q", err, c.want)
			}
		})
	}

	t.Run("fifo", func(t *testing.T) {
		h := plumbing.ComputeHash(plumbing.BlobObject, []byte("fifo"))
		p := filepath.Join(info.Dir, ".git", "objects", h.String()[:2], h.String()[2:])
		os.MkdirAll(filepath.Dir(p), 0o755)
		mkfifo(t, p)
		if _, err := r.objs.ws.get(h); !errors.Is(err, ErrCorrupt) {
			t.Errorf("get of a FIFO = %v, want ErrCorrupt", err)
		}
	})

	t.Run("user objects win", func(t *testing.T) {
		// A workspace object cannot stand in for one of the user's.
		head := plumbing.NewHash(info.Base)
		writeLoose(t, info, head.String(), []byte("blob 4\x00evil"))
		o, err := r.objs.EncodedObject(plumbing.AnyObject, head)
		if err != nil || o.Type() != plumbing.CommitObject {
			t.Errorf("the user's HEAD read as %v, %v; want the user's commit", o, err)
		}
	})
}

func TestCorruptPack(t *testing.T) {
	isolateGit(t)
	repo := newRepo(t)
	info := create(t, CreateOptions{Source: repo})
	agentSession(t, info)
	agentGit(t, info, "gc", "-q", "--prune=now")
	packs, _ := filepath.Glob(filepath.Join(info.Dir, ".git", "objects", "pack", "*.pack"))
	if len(packs) != 1 {
		t.Fatalf("packs = %q, want one", packs)
	}
	b, err := os.ReadFile(packs[0])
	if err != nil {
		t.Fatal(err)
	}
	// Overwrite everything after the header: every object is garbage.
	for i := 12; i < len(b)-20; i++ {
		b[i] = byte(i * 7)
	}
	os.Chmod(packs[0], 0o644)
	if err := os.WriteFile(packs[0], b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := info.Diff(context.Background(), DiffOptions{Patches: true}); !errors.Is(err, ErrCorrupt) {
		t.Errorf("Diff over a garbage pack = %v, want ErrCorrupt", err)
	}
}
