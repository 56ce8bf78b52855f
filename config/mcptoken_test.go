package config

import (
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestMCPToken: the token is made once, 0600, and every caller gets it,
// even concurrent first ones; a damaged file is an error, not a new token.
func TestMCPToken(t *testing.T) {
	home := t.TempDir()
	var wg sync.WaitGroup
	toks := make([]string, 8)
	for i := range toks {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := MCPToken(home)
			if err != nil {
				t.Error(err)
			}
			toks[i] = tok
		}()
	}
	wg.Wait()
	for _, tok := range toks {
		if tok != toks[0] || len(tok) != 64 {
			t.Fatalf("tokens differ or are malformed: %q", toks)
		}
	}
	fi, err := os.Stat(filepath.Join(home, MCPTokenFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("token file: %v %v", fi.Mode(), err)
	}
	os.WriteFile(filepath.Join(home, MCPTokenFile), []byte("short\n"), 0o600)
	if _, err := MCPToken(home); err == nil {
		t.Error("a damaged token file was accepted")
	}
	if (Config{}).MCPPort() != DefaultMCPPort || (Config{MCP: MCP{Port: -1}}).MCPPort() != 0 || (Config{MCP: MCP{Port: 9}}).MCPPort() != 9 {
		t.Error("MCPPort")
	}
}
