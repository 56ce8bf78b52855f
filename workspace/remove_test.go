package workspace

import (
	"os"
	"path/filepath"
	"testing"
)

func TestRemove(t *testing.T) {
	outside := filepath.Join(t.TempDir(), "keep")
	writeFile(t, outside, "keep\n")
	dir := filepath.Join(t.TempDir(), "ws")
	writeFile(t, filepath.Join(dir, "a", "b"), "x\n")
	if err := os.Symlink(filepath.Dir(outside), filepath.Join(dir, "link")); err != nil {
		t.Fatal(err)
	}
	if err := (Info{Dir: dir}).Remove(); err != nil {
		t.Fatal(err)
	}
	if exists(dir) {
		t.Error("the workspace is still there")
	}
	if !exists(outside) {
		t.Error("Remove followed a link out of the workspace")
	}
	if err := (Info{}).Remove(); err == nil {
		t.Error("Remove of an empty Info succeeded")
	}
}
