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

// TestSetDailyUSD: the daily budget is written with every other setting
// kept, removed at 0, into a file of null or with a null budget too, and
// into the file a symlinked config.json points at.
func TestSetDailyUSD(t *testing.T) {
	for _, tc := range []struct{ name, before string }{
		{"none", ""},
		{"null", "null"},
		{"null budget", `{"budget": null, "mcp": {"port": -1}}`},
		{"other keys", `{"budget": {"other": 1}, "mcp": {"port": -1}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			home := t.TempDir()
			if tc.before != "" {
				if err := os.WriteFile(filepath.Join(home, FileName), []byte(tc.before), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			if err := SetDailyUSD(home, 12.5); err != nil {
				t.Fatal(err)
			}
			c, err := Load(home)
			if err != nil || c.Budget.DailyUSD != 12.5 {
				t.Fatalf("after setting: %+v %v", c.Budget, err)
			}
			if strings.Contains(tc.before, "mcp") && c.MCP.Port != -1 {
				t.Errorf("mcp.port lost: %+v", c.MCP)
			}
			if strings.Contains(tc.before, "other") {
				b, _ := os.ReadFile(filepath.Join(home, FileName))
				if !strings.Contains(string(b), `"other"`) {
					t.Errorf("budget.other lost: %s", b)
				}
			}
			if err := SetDailyUSD(home, 0); err != nil {
				t.Fatal(err)
			}
			if c, _ := Load(home); c.Budget.DailyUSD != 0 {
				t.Errorf("after removing: %+v", c.Budget)
			}
		})
	}
	home, dots := t.TempDir(), t.TempDir()
	target := filepath.Join(dots, "clauderon.json")
	if err := os.WriteFile(target, []byte(`{"mcp": {"port": -1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(target, filepath.Join(home, FileName)); err != nil {
		t.Fatal(err)
	}
	if err := SetDailyUSD(home, 3); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(filepath.Join(home, FileName)); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlinked config.json was replaced: %v %v", fi, err)
	}
	if c, err := Load(home); err != nil || c.Budget.DailyUSD != 3 || c.MCP.Port != -1 {
		t.Errorf("through the symlink: %+v %v", c, err)
	}
}

func TestKubernetesSection(t *testing.T) {
	for _, c := range []struct {
		json string
		ok   bool
	}{
		{`{}`, true},
		{`{"default_backend":"docker"}`, true},
		{`{"default_backend":"kubernetes"}`, false},
		{`{"default_backend":"podman"}`, false},
		{`{"default_backend":"kubernetes","kubernetes":{"namespace":"team-a","image_pull_policy":"Never"}}`, true},
		{`{"kubernetes":{"namespace":"Team_A"}}`, false},
		{`{"kubernetes":{"image_pull_policy":"sometimes"}}`, false},
		{`{"kubernetes":{"cpus":-1}}`, false},
	} {
		home := t.TempDir()
		if err := os.WriteFile(filepath.Join(home, FileName), []byte(c.json), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := Load(home)
		if (err == nil) != c.ok {
			t.Errorf("%s: err %v, want ok=%v", c.json, err, c.ok)
		}
	}
}
