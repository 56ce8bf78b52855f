package workspace

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/go-git/go-git/v5/plumbing"
	"github.com/go-git/go-git/v5/storage/memory"
)

func TestWritePack(t *testing.T) {
	isolateGit(t)
	mem := memory.NewStorage()
	var hashes []plumbing.Hash
	for _, c := range []struct {
		t       plumbing.ObjectType
		content string
	}{
		{plumbing.BlobObject, ""},
		{plumbing.BlobObject, "small\n"},
		{plumbing.BlobObject, strings.Repeat("large enough for a multi-byte size header ", 1000)},
	} {
		o := &plumbing.MemoryObject{}
		o.SetType(c.t)
		o.Write([]byte(c.content))
		if _, err := mem.SetEncodedObject(o); err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, o.Hash())
	}
	var pack bytes.Buffer
	if err := writePack(&pack, mem, hashes); err != nil {
		t.Fatal(err)
	}
	repo := filepath.Join(t.TempDir(), "r")
	userGit(t, filepath.Dir(repo), "init", "-q", repo)
	runGitIn(t, repo, nil, pack.String(), "index-pack", "--stdin", "--strict")
	for _, h := range hashes {
		if got := strings.TrimSpace(userGit(t, repo, "cat-file", "-t", h.String())); got != "blob" {
			t.Errorf("%s in the repository has type %q, want blob", h, got)
		}
	}
	if got := userGit(t, repo, "cat-file", "blob", hashes[1].String()); got != "small\n" {
		t.Errorf("content = %q", got)
	}
}
