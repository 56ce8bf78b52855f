package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEnsurePrivate: a home others can enter is tightened to 0700 (and the
// old mode returned, to warn about); one of another user is refused.
func TestEnsurePrivate(t *testing.T) {
	tests := []struct {
		name    string
		mode    os.FileMode
		wantWas os.FileMode
	}{
		{"private", 0o700, 0},
		{"world readable", 0o755, 0o755},
		{"group writable", 0o770, 0o770},
		{"other traversable", 0o701, 0o701},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "home")
			os.Mkdir(dir, 0o700)
			os.Chmod(dir, tc.mode)
			was, err := EnsurePrivate(dir)
			if err != nil || was != tc.wantWas {
				t.Fatalf("EnsurePrivate = %v, %v; want %v", was, err, tc.wantWas)
			}
			if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o700 {
				t.Errorf("mode after: %v", fi.Mode().Perm())
			}
		})
	}
	t.Run("not a directory", func(t *testing.T) {
		f := filepath.Join(t.TempDir(), "f")
		os.WriteFile(f, nil, 0o600)
		if _, err := EnsurePrivate(f); err == nil || !strings.Contains(err.Error(), "not a directory") {
			t.Errorf("err = %v", err)
		}
	})
	t.Run("another user's", func(t *testing.T) {
		if os.Geteuid() != 0 {
			t.Skip("needs root to give a directory away")
		}
		dir := filepath.Join(t.TempDir(), "home")
		os.Mkdir(dir, 0o755)
		if err := os.Chown(dir, 12345, 12345); err != nil {
			t.Fatal(err)
		}
		_, err := EnsurePrivate(dir)
		if err == nil || !strings.Contains(err.Error(), "belongs to uid 12345") || !strings.Contains(err.Error(), "CLAUDERON_HOME") {
			t.Errorf("err = %v", err)
		}
		if fi, _ := os.Stat(dir); fi.Mode().Perm() != 0o755 {
			t.Errorf("another user's directory was changed: %v", fi.Mode().Perm())
		}
	})
}
