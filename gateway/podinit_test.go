package gateway

import (
	"os"
	"path/filepath"
	"testing"
)

func TestPodInitInstallsAndCopies(t *testing.T) {
	dir := t.TempDir()
	src := filepath.Join(dir, "src.json")
	if err := os.WriteFile(src, []byte(`{"a":1}`), 0o444); err != nil {
		t.Fatal(err)
	}
	bin, dst := filepath.Join(dir, "bin"), filepath.Join(dir, "home", ".claude.json")
	os.Mkdir(filepath.Join(dir, "home"), 0o755)
	if err := PodInit([]string{"--install", bin, "--copy", src + "=" + dst}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(bin); err != nil || fi.Mode().Perm() != 0o755 || fi.Size() == 0 {
		t.Fatalf("installed binary: %v %v", fi, err)
	}
	if b, err := os.ReadFile(dst); err != nil || string(b) != `{"a":1}` {
		t.Fatalf("copied file: %q %v", b, err)
	}
	if fi, _ := os.Stat(dst); fi.Mode().Perm() != 0o600 {
		t.Errorf("copied file mode %v, want 0600 (the session's own user rewrites it)", fi.Mode())
	}
	// A destination planted as a symlink is never written through.
	target := filepath.Join(dir, "outside")
	link := filepath.Join(dir, "home", "link.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := PodInit([]string{"--copy", src + "=" + link}); err == nil {
		t.Error("copied through a symlink")
	}
	if _, err := os.Stat(target); !os.IsNotExist(err) {
		t.Errorf("the symlink's target was written: %v", err)
	}
	for _, bad := range [][]string{{"--copy"}, {"--copy", "rel=/x"}, {"--copy", "/x"}, {"--what", "x"}} {
		if err := PodInit(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
