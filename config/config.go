// Package config finds clauderon's home directory and reads its settings file.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the settings file inside the home directory.
const FileName = "config.json"

// Config is the content of $CLAUDERON_HOME/config.json. Every field is
// optional; the zero value is the default behaviour.
type Config struct {
	Proxy Proxy `json:"proxy"`
}

// Proxy configures the credential-injecting proxy.
type Proxy struct {
	// Port the daemon's proxy listens on; 0 means the default, 18080.
	Port int `json:"port,omitempty"`
	// Upstreams sends an intercepted host's traffic somewhere else, such as a
	// corporate gateway. The key is the intercepted host name.
	Upstreams map[string]Upstream `json:"upstreams,omitempty"`
	// AuditMaxBytes rotates audit.jsonl when it grows past this size; 0 means 10 MiB.
	AuditMaxBytes int64 `json:"audit_max_bytes,omitempty"`
}

// Upstream overrides where a rule's traffic goes. TLS is still verified, as
// the rule's host name, against CAFile when given or the system roots.
type Upstream struct {
	Address string `json:"address"`           // host:port to dial
	CAFile  string `json:"ca_file,omitempty"` // PEM file of trusted roots
}

// Home returns $CLAUDERON_HOME, or ~/.clauderon, creating it (0700) if needed.
func Home() (string, error) {
	dir := os.Getenv("CLAUDERON_HOME")
	if dir == "" {
		h, err := os.UserHomeDir()
		if err != nil {
			return "", fmt.Errorf("cannot find the home directory (set CLAUDERON_HOME): %w", err)
		}
		dir = filepath.Join(h, ".clauderon")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", fmt.Errorf("cannot create CLAUDERON_HOME %s: %w", dir, err)
	}
	return dir, nil
}

// Load reads home/config.json. A missing file is the default configuration.
func Load(home string) (Config, error) {
	var c Config
	path := filepath.Join(home, FileName)
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return c, nil
	}
	if err != nil {
		return c, err
	}
	if err := json.Unmarshal(b, &c); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	for host, u := range c.Proxy.Upstreams {
		if u.Address == "" {
			return c, fmt.Errorf("%s: proxy.upstreams[%q].address is empty", path, host)
		}
	}
	if c.Proxy.Port < 0 || c.Proxy.Port > 65535 {
		return c, fmt.Errorf("%s: proxy.port %d is not a port number", path, c.Proxy.Port)
	}
	return c, nil
}
