package session

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParseMount(t *testing.T) {
	tests := []struct {
		name, spec string
		want       Mount
		wantErr    string
	}{
		{"host only", "/data", Mount{Source: "/data"}, ""},
		{"host and target", "/data:/ref", Mount{Source: "/data", Target: "/ref"}, ""},
		{"read-only", "/data:/ref:ro", Mount{Source: "/data", Target: "/ref", ReadOnly: true}, ""},
		{"host read-only", "/data:ro", Mount{Source: "/data", ReadOnly: true}, ""},
		{"explicit rw", "/data:/ref:rw", Mount{Source: "/data", Target: "/ref"}, ""},
		{"relative host", "data:/ref", Mount{Source: "/cwd/data", Target: "/ref"}, ""},
		{"too many colons", "/a:/b:/c:ro", Mount{}, "cannot contain ':'"},
		{"empty host", ":/ref", Mount{}, "names no host path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseMount(tt.spec, "/cwd")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseMount(%q) error = %v, want %q", tt.spec, err, tt.wantErr)
				}
				return
			}
			if err != nil || got != tt.want {
				t.Fatalf("ParseMount(%q) = %+v, %v; want %+v", tt.spec, got, err, tt.want)
			}
		})
	}
}

func TestCheckMounts(t *testing.T) {
	home := t.TempDir()
	g := newMountGuard(filepath.Join(home, "clauderon"), filepath.Join(home, "user"), nil)
	data := t.TempDir()
	tests := []struct {
		name    string
		ms      []Mount
		ws      bool
		wantErr string
	}{
		{"ok", []Mount{{Source: data, Target: "/data"}}, true, ""},
		{"default target", []Mount{{Source: data}}, true, ""},
		{"target root", []Mount{{Source: data, Target: "/"}}, false, "whole filesystem"},
		{"target etc", []Mount{{Source: data, Target: "/etc/x"}}, false, "/etc"},
		{"target above the CA", []Mount{{Source: data, Target: "/etc"}}, false, "/etc"},
		{"target in the workspace", []Mount{{Source: data, Target: "/workspace/x"}}, true, "inside the workspace"},
		{"target the workspace without one", []Mount{{Source: data, Target: "/workspace"}}, false, ""},
		{"relative target", []Mount{{Source: data, Target: "ref"}}, false, "clean absolute"},
		{"unclean target", []Mount{{Source: data, Target: "/a/../b"}}, false, "clean absolute"},
		{"escape in target", []Mount{{Source: data, Target: "/a\x1b[2J"}}, false, "clean absolute"},
		{"twice the same target", []Mount{{Source: data, Target: "/d"}, {Source: data, Target: "/d"}}, false, "two mounts"},
		{"source is the user's home", []Mount{{Source: filepath.Join(home, "user"), Target: "/d"}}, false, "home directory"},
		{"source does not exist", []Mount{{Source: "/nonexistent/x", Target: "/d"}}, false, "--mount source /nonexistent/x does not exist"},
		{"source is /", []Mount{{Source: "/", Target: "/d"}}, false, "whole host filesystem"},
	}
	if err := os.MkdirAll(filepath.Join(home, "user"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := checkMounts(tt.ms, g, tt.ws)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("checkMounts: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkMounts error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestCheckReach: no path a new session mounts or copies lies below a
// directory another (or the same) session's container can write, and no new
// writable mount lies above what another session mounts.
func TestCheckReach(t *testing.T) {
	m := &Manager{sessions: map[string]*record{}, copying: map[string][]string{}}
	m.sessions["w"] = &record{Session: Session{Name: "w", Mounts: []Mount{{Source: "/p/w", Target: "/data"}}}}
	m.sessions["r"] = &record{Session: Session{Name: "r", Mounts: []Mount{{Source: "/q/r/ref", Target: "/ref", ReadOnly: true}}}}
	m.copying["c"] = []string{"/s/repo"}
	tests := []struct {
		name    string
		mounts  []Mount
		copySrc string
		wantErr string
	}{
		{"unrelated", []Mount{{Source: "/z", Target: "/z"}}, "/y", ""},
		{"the same writable directory", []Mount{{Source: "/p/w", Target: "/d", ReadOnly: true}}, "", ""},
		{"below a writable mount", []Mount{{Source: "/p/w/sub", Target: "/d", ReadOnly: true}}, "", `session "w"'s container can write`},
		{"copy from below a writable mount", nil, "/p/w/sub", "while they are copied"},
		{"copy from a writable mount", nil, "/p/w", "while they are copied"},
		{"copy from above a writable mount", nil, "/p", "while they are copied"},
		{"writable above another's mount", []Mount{{Source: "/q", Target: "/q"}}, "", `which session "r" mounts`},
		{"writable above a copy in progress", []Mount{{Source: "/s", Target: "/s"}}, "", "being copied"},
		{"writable below a copy in progress", []Mount{{Source: "/s/repo/sub", Target: "/s"}}, "", "being copied"},
		{"its own writable mount above its own", []Mount{{Source: "/t", Target: "/t"}, {Source: "/t/u", Target: "/u", ReadOnly: true}}, "", "this session's container can write"},
		{"read-only above another's mount", []Mount{{Source: "/q", Target: "/q", ReadOnly: true}}, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := m.checkReachLocked(&record{Session: Session{Name: "n", Mounts: tt.mounts}}, tt.copySrc)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("checkReach: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("checkReach error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}
