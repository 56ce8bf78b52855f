package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// MCPTokenFile holds the bearer token of the MCP endpoint, 0600.
const MCPTokenFile = "mcp-token"

// MCPToken returns home's MCP bearer token, making one the first time.
// Concurrent first calls agree: the file is created once, whole.
func MCPToken(home string) (string, error) {
	p := filepath.Join(home, MCPTokenFile)
	for range 3 {
		b, err := os.ReadFile(p)
		switch {
		case err == nil:
			tok := strings.TrimSpace(string(b))
			if len(tok) != 64 || strings.Trim(tok, "0123456789abcdef") != "" {
				return "", fmt.Errorf("%s is damaged; remove it and a new token is made (MCP clients set up with the old one need the new one)", p)
			}
			return tok, nil
		case !errors.Is(err, os.ErrNotExist):
			return "", err
		}
		raw := make([]byte, 32)
		if _, err := rand.Read(raw); err != nil {
			return "", err
		}
		tmp, err := os.CreateTemp(home, ".mcp-token-*")
		if err != nil {
			return "", err
		}
		_, werr := tmp.WriteString(hex.EncodeToString(raw) + "\n")
		cerr := tmp.Close()
		if werr == nil && cerr == nil {
			// Link, not rename: a token another process made first wins.
			werr = os.Link(tmp.Name(), p)
		}
		os.Remove(tmp.Name())
		if werr != nil && !errors.Is(werr, os.ErrExist) {
			return "", werr
		}
		if cerr != nil {
			return "", cerr
		}
	}
	return "", fmt.Errorf("cannot create %s: it keeps changing", p)
}

// RotateMCPToken replaces home's MCP token with a new one; MCP clients set
// up with the old one need the new one.
func RotateMCPToken(home string) error {
	p := filepath.Join(home, MCPTokenFile)
	if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	_, err := MCPToken(home)
	return err
}
