package cli

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestMergeMCPEntry: the entry is added to the client's configuration and
// nothing else in it is lost; running it again changes nothing more; a
// file that is not JSON is left alone with an error.
func TestMergeMCPEntry(t *testing.T) {
	p := filepath.Join(t.TempDir(), ".claude.json")
	orig := `{"numStartups": 7, "projects": {"/x": {"allowedTools": ["a"]}}, "mcpServers": {"other": {"command": "other-mcp"}}}`
	if err := os.WriteFile(p, []byte(orig), 0o640); err != nil {
		t.Fatal(err)
	}
	e := mcpEntry{Type: "stdio", Command: "/usr/bin/clauderon", Args: []string{"mcp"}}
	for range 2 {
		if err := mergeMCPEntry(p, e); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := os.ReadFile(p)
	var doc struct {
		NumStartups int                        `json:"numStartups"`
		Projects    map[string]json.RawMessage `json:"projects"`
		MCPServers  map[string]mcpEntry        `json:"mcpServers"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.NumStartups != 7 || doc.Projects["/x"] == nil || doc.MCPServers["other"].Command != "other-mcp" {
		t.Errorf("the merge lost what was there: %s", b)
	}
	if got := doc.MCPServers["clauderon"]; got.Command != e.Command || got.Type != "stdio" || len(got.Args) != 1 {
		t.Errorf("clauderon's entry: %+v", got)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o640 {
		t.Errorf("mode changed to %v", fi.Mode().Perm())
	}
	// A new file is made, private.
	q := filepath.Join(t.TempDir(), "Claude", "claude_desktop_config.json")
	if err := mergeMCPEntry(q, e); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(q); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new config: %v %v", fi, err)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("[1,2"), 0o600)
	if err := mergeMCPEntry(bad, e); err == nil || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("merge into a broken file: %v", err)
	}
	if b, _ := os.ReadFile(bad); string(b) != "[1,2" {
		t.Error("a broken file was rewritten")
	}
}

// TestMCPSetupPrints: without --write the exact command and entry are
// printed, and the stdio entry names this binary; an unknown host is
// refused.
func TestMCPSetupPrints(t *testing.T) {
	t.Setenv("HOME", t.TempDir())
	t.Setenv("CLAUDERON_HOME", t.TempDir())
	var out bytes.Buffer
	if err := runMCPSetup(&out, "claude-code", mcpSetupFlags{}); err != nil {
		t.Fatal(err)
	}
	self, _ := os.Executable()
	self, _ = filepath.EvalSymlinks(self)
	if !strings.Contains(out.String(), "claude mcp add --scope user") || !strings.Contains(out.String(), self) || !strings.Contains(out.String(), `"mcp"`) {
		t.Errorf("claude-code setup:\n%s", out.String())
	}
	out.Reset()
	if err := runMCPSetup(&out, "claude-code", mcpSetupFlags{http: true}); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "--transport http clauderon http://127.0.0.1:18090/mcp") || !strings.Contains(out.String(), "Authorization: Bearer ") {
		t.Errorf("claude-code --http setup:\n%s", out.String())
	}
	out.Reset()
	if err := runMCPSetup(&out, "claude-desktop", mcpSetupFlags{}); err != nil || !strings.Contains(out.String(), "claude_desktop_config.json") {
		t.Errorf("claude-desktop setup: %v\n%s", err, out.String())
	}
	if err := runMCPSetup(&out, "vim", mcpSetupFlags{}); err == nil {
		t.Error("an unknown host was accepted")
	}
	if err := runMCPSetup(&out, "claude-desktop", mcpSetupFlags{http: true, write: true}); err == nil {
		t.Error("claude-desktop --http --write was accepted")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"/usr/bin/clauderon": "/usr/bin/clauderon", "a b": "'a b'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestMergeMCPEntryEdges: a file holding null is refused cleanly (no
// panic); a symlinked file stays a link and its target gets the entry; a
// file that now holds the bearer token is no longer readable by others.
func TestMergeMCPEntryEdges(t *testing.T) {
	dir := t.TempDir()
	null := filepath.Join(dir, "null.json")
	os.WriteFile(null, []byte("null"), 0o600)
	if err := mergeMCPEntry(null, mcpEntry{Command: "x"}); err == nil {
		t.Error("a file holding null was merged")
	}
	target := filepath.Join(dir, "dotfiles", "claude.json")
	os.MkdirAll(filepath.Dir(target), 0o700)
	os.WriteFile(target, []byte(`{"keep": 1}`), 0o644)
	link := filepath.Join(dir, ".claude.json")
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
	if err := mergeMCPEntry(link, mcpEntry{Type: "http", URL: "http://127.0.0.1:1/mcp", Headers: map[string]string{"Authorization": "Bearer t"}}); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi, err)
	}
	b, _ := os.ReadFile(target)
	if !strings.Contains(string(b), "Bearer t") || !strings.Contains(string(b), `"keep"`) {
		t.Errorf("the target: %s", b)
	}
	if fi, _ := os.Stat(target); fi.Mode().Perm() != 0o600 {
		t.Errorf("the file holding the token is %v, want 0600", fi.Mode().Perm())
	}
}
