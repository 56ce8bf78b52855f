package cli

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCreateDefaultWorkdirAtHome: run from the home directory (or /), the
// default workdir is refused before any daemon is asked, with the way out.
func TestCreateDefaultWorkdirAtHome(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLAUDERON_HOME", filepath.Join(t.TempDir(), "no-daemon-here"))
	for _, dir := range []string{home, "/"} {
		t.Chdir(dir)
		var out, errOut bytes.Buffer
		err := runCreate(t.Context(), &out, &errOut, createFlags{name: "a"})
		if err == nil || !strings.Contains(err.Error(), "run it from a project directory or pass --workdir DIR or --no-workdir") {
			t.Errorf("create from %s: %v", dir, err)
		}
	}
	// From a project directory it goes on to the daemon (here: none).
	proj := filepath.Join(home, "proj")
	os.Mkdir(proj, 0o700)
	t.Chdir(proj)
	err := runCreate(t.Context(), &bytes.Buffer{}, &bytes.Buffer{}, createFlags{name: "a"})
	if err == nil || !strings.Contains(err.Error(), "cannot reach the clauderon daemon") {
		t.Errorf("create from a project directory without a daemon: %v", err)
	}
}

// TestCreateWorkdirAndNoWorkdir: asking for both a workdir and none is
// refused rather than silently mounting nothing.
func TestCreateWorkdirAndNoWorkdir(t *testing.T) {
	t.Setenv("CLAUDERON_HOME", filepath.Join(t.TempDir(), "no-daemon-here"))
	cmd := newCreateCmd()
	cmd.SetArgs([]string{"--name", "a", "--workdir", t.TempDir(), "--no-workdir"})
	cmd.SetOut(&bytes.Buffer{})
	cmd.SetErr(&bytes.Buffer{})
	err := cmd.ExecuteContext(t.Context())
	if err == nil || !strings.Contains(err.Error(), "--workdir and --no-workdir cannot be used together") {
		t.Errorf("create --workdir DIR --no-workdir: %v", err)
	}
}

func TestParseBytes(t *testing.T) {
	tests := []struct {
		in   string
		want int64
		ok   bool
	}{
		{"1073741824", 1 << 30, true},
		{"512m", 512 << 20, true},
		{"2g", 2 << 30, true},
		{"2G", 2 << 30, true},
		{"1.5g", 3 << 29, true},
		{"64k", 64 << 10, true},
		{"2gb", 2 << 30, true},
		{"", 0, false},
		{"g", 0, false},
		{"-1g", 0, false},
		{"lots", 0, false},
		{"9999999t", 0, false},
	}
	for _, tt := range tests {
		got, err := parseBytes(tt.in)
		if (err == nil) != tt.ok || got != tt.want {
			t.Errorf("parseBytes(%q) = %d, %v; want %d (ok %v)", tt.in, got, err, tt.want, tt.ok)
		}
	}
}
