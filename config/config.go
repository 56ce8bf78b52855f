// Package config finds clauderon's home directory and reads its settings file.
package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"syscall"

	"github.com/clauderon/clauderon/internal/atomicfile"
)

// FileName is the settings file inside the home directory.
const FileName = "config.json"

// Config is the content of $CLAUDERON_HOME/config.json. Every field is
// optional; the zero value is the default behaviour.
type Config struct {
	Proxy     Proxy     `json:"proxy"`
	Workspace Workspace `json:"workspace"`
	Container Container `json:"container"`
	Egress    Egress    `json:"egress"`
	MCP       MCP       `json:"mcp"`
	UI        UI        `json:"ui"`
	Spawn     Spawn     `json:"spawn"`
	// Prices add to and override the built-in price table: USD per
	// million tokens by model name (or a prefix of it, such as
	// "claude-sonnet-4-5").
	Prices map[string]Price `json:"prices,omitempty"`
	Budget Budget           `json:"budget"`
	// Desktop is read by the desktop app only; the daemon ignores it.
	Desktop Desktop `json:"desktop"`
	// DefaultBackend is where `create` runs a session unless told:
	// "docker" (the default) or "kubernetes".
	DefaultBackend string `json:"default_backend,omitempty"`
	// Kubernetes, when present, turns the Kubernetes backend on.
	Kubernetes *Kubernetes `json:"kubernetes,omitempty"`
}

// Desktop configures the desktop app (clauderon with no arguments in the
// desktop build).
type Desktop struct {
	// Terminal is where the tray's attach opens a session: "external" (the
	// default, the user's terminal emulator) or "window" (the app's own
	// in-window terminal).
	Terminal string `json:"terminal,omitempty"`
	// Notifications turns each kind of desktop notification on or off by
	// its name (waiting_for_input, finished, failed, budget_spent); a kind
	// not listed is on.
	Notifications map[string]bool `json:"notifications,omitempty"`
}

// Desktop terminals.
const (
	TerminalExternal = "external"
	TerminalWindow   = "window"
)

// DesktopNotificationKinds are the names desktop.notifications takes.
var DesktopNotificationKinds = []string{"waiting_for_input", "finished", "failed", "budget_spent"}

func (d Desktop) check() error {
	if d.Terminal != "" && d.Terminal != TerminalExternal && d.Terminal != TerminalWindow {
		return fmt.Errorf("desktop.terminal %q is not %q or %q", d.Terminal, TerminalExternal, TerminalWindow)
	}
	for k := range d.Notifications {
		if !slices.Contains(DesktopNotificationKinds, k) {
			// A typo would otherwise leave a kind on that the user meant off.
			return fmt.Errorf("desktop.notifications has %q, not one of %v", k, DesktopNotificationKinds)
		}
	}
	return nil
}

// DesktopTerminal answers Desktop.Terminal with its default filled in.
func (c Config) DesktopTerminal() string {
	if c.Desktop.Terminal == "" {
		return TerminalExternal
	}
	return c.Desktop.Terminal
}

// Price is a model's price in US dollars per million tokens.
type Price struct {
	Input      float64 `json:"input"`
	Output     float64 `json:"output"`
	CacheWrite float64 `json:"cache_write"`
	CacheRead  float64 `json:"cache_read"`
}

// Budget caps spending across sessions.
type Budget struct {
	// DailyUSD caps a day's (local time) cost of every session's Messages
	// requests together; 0 is no cap.
	DailyUSD float64 `json:"daily_usd,omitempty"`
}

// Spawn bounds nested sessions (create --spawn).
type Spawn struct {
	// MaxDepth is how deep sessions may nest: a top-level session is at
	// depth 0, its children at 1. 0 means 2; -1 turns nesting off.
	MaxDepth int `json:"max_depth,omitempty"`
}

// MCP configures the MCP server's Streamable HTTP endpoint.
type MCP struct {
	// Port on 127.0.0.1 where the daemon serves /mcp; 0 means 18090, and
	// -1 turns the endpoint off.
	Port int `json:"port,omitempty"`
}

// DefaultMCPPort is where the daemon serves /mcp unless config.json says.
const DefaultMCPPort = 18090

// MCPPort is the port config.json gives the MCP endpoint (0: off).
func (c Config) MCPPort() int {
	switch {
	case c.MCP.Port < 0:
		return 0
	case c.MCP.Port == 0:
		return DefaultMCPPort
	}
	return c.MCP.Port
}

// UI configures the web UI (`clauderon ui`).
type UI struct {
	// Port on 127.0.0.1 where the daemon serves the web UI; 0 means
	// 18091, and -1 turns it off.
	Port int `json:"port,omitempty"`
}

// DefaultUIPort is where the daemon serves the web UI unless config.json says.
const DefaultUIPort = 18091

// UIPort is the port config.json gives the web UI (0: off).
func (c Config) UIPort() int {
	switch {
	case c.UI.Port < 0:
		return 0
	case c.UI.Port == 0:
		return DefaultUIPort
	}
	return c.UI.Port
}

// Egress sets which hosts sessions may tunnel to (see `clauderon egress`).
type Egress struct {
	// Default is the mode of a session created without --egress: "open",
	// "balanced" (the default) or "locked".
	Default string `json:"default,omitempty"`
	// BalancedHosts replaces the development hosts that balanced allows
	// besides the proxy's own; "*.example.com" matches names below it.
	BalancedHosts []string `json:"balanced_hosts,omitempty"`
}

// Container sets the default limits of sessions' containers; a zero field
// keeps clauderon's default (every CPU, 4 GiB of memory, 2048 processes).
type Container struct {
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	Pids        int64   `json:"pids,omitempty"`
	// Network is "gateway" (the default on Linux: no network but the
	// gateway to the proxy) or "bridge" (the engine's bridge network with
	// the proxy at host.docker.internal, as on Docker Desktop).
	Network string `json:"network,omitempty"`
}

// Workspace configures the copies sessions work on.
type Workspace struct {
	// MaxCopyBytes refuses to copy a workdir that is not a git repository
	// when it holds more than this; 0 means 1 GiB.
	MaxCopyBytes int64 `json:"max_copy_bytes,omitempty"`
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
	// SessionConns bounds the connections one session holds open to the
	// proxy; 0 means 1024.
	SessionConns int `json:"session_conns,omitempty"`
	// SharedConns bounds the connections to the proxy's TCP listeners,
	// which anyone on the host can reach before authenticating; 0 means 256.
	SharedConns int `json:"shared_conns,omitempty"`
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

// EnsurePrivate checks that home is a directory of this user that nobody
// else can enter, and makes it 0700 if it was not; it then returns the mode
// it had, so the caller can warn. It holds the key of every session's proxy
// credential, the proxy CA's key and the LocalAPI's socket.
func EnsurePrivate(home string) (was os.FileMode, err error) {
	fi, err := os.Stat(home)
	if err != nil {
		return 0, err
	}
	if !fi.IsDir() {
		return 0, fmt.Errorf("CLAUDERON_HOME %s is not a directory", home)
	}
	if st, ok := fi.Sys().(*syscall.Stat_t); ok && int(st.Uid) != os.Geteuid() {
		return 0, fmt.Errorf("CLAUDERON_HOME %s belongs to uid %d, not to you (uid %d); set CLAUDERON_HOME to a directory of your own", home, st.Uid, os.Geteuid())
	}
	if fi.Mode().Perm()&0o077 == 0 {
		return 0, nil
	}
	if err := os.Chmod(home, 0o700); err != nil {
		return 0, fmt.Errorf("CLAUDERON_HOME %s is open to other users (mode %#o) and cannot be made private: %w", home, fi.Mode().Perm(), err)
	}
	return fi.Mode().Perm(), nil
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
	if c.Container.CPUs < 0 || c.Container.MemoryBytes < 0 || c.Container.Pids < 0 {
		return c, fmt.Errorf("%s: container limits cannot be negative", path)
	}
	if c.Workspace.MaxCopyBytes < 0 {
		return c, fmt.Errorf("%s: workspace.max_copy_bytes %d is negative", path, c.Workspace.MaxCopyBytes)
	}
	if c.Budget.DailyUSD < 0 {
		return c, fmt.Errorf("%s: budget.daily_usd cannot be negative", path)
	}
	for m, p := range c.Prices {
		if p.Input < 0 || p.Output < 0 || p.CacheWrite < 0 || p.CacheRead < 0 {
			return c, fmt.Errorf("%s: prices[%q] cannot be negative", path, m)
		}
	}
	if c.UI.Port < -1 || c.UI.Port > 65535 {
		return c, fmt.Errorf("%s: ui.port %d is not a port number (-1 turns the web UI off)", path, c.UI.Port)
	}
	if c.Proxy.Port < 0 || c.Proxy.Port > 65535 {
		return c, fmt.Errorf("%s: proxy.port %d is not a port number", path, c.Proxy.Port)
	}
	if err := c.Desktop.check(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	if err := c.checkKubernetes(); err != nil {
		return c, fmt.Errorf("%s: %w", path, err)
	}
	return c, nil
}

// SetDailyUSD writes budget.daily_usd into home/config.json (0 removes
// it), keeping every other setting as it is.
func SetDailyUSD(home string, usd float64) error {
	path := filepath.Join(home, FileName)
	// A config.json the user links to (dotfiles) is written where it
	// points, not replaced by a file of its own.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	doc := map[string]json.RawMessage{}
	b, err := os.ReadFile(path)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return err
	default:
		if err := json.Unmarshal(b, &doc); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if doc == nil { // the file says null
			doc = map[string]json.RawMessage{}
		}
	}
	budget := map[string]json.RawMessage{}
	if raw, ok := doc["budget"]; ok {
		if err := json.Unmarshal(raw, &budget); err != nil {
			return fmt.Errorf("%s: budget: %w", path, err)
		}
		if budget == nil {
			budget = map[string]json.RawMessage{}
		}
	}
	if usd > 0 {
		v, err := json.Marshal(usd)
		if err != nil {
			return err
		}
		budget["daily_usd"] = v
	} else {
		delete(budget, "daily_usd")
	}
	raw, err := json.Marshal(budget)
	if err != nil {
		return err
	}
	doc["budget"] = raw
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	return atomicfile.Write(path, append(out, '\n'), 0o600)
}
