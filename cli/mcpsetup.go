package cli

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

// addMCPSubcommands adds `mcp token`, `mcp url` and `mcp setup` to cmd.
func addMCPSubcommands(cmd *cobra.Command) {
	cmd.AddCommand(newMCPTokenCmd(), newMCPURLCmd(), newMCPSetupCmd())
}

func newMCPTokenCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "token",
		Short: "Print the bearer token of the MCP endpoint (made at first use)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			home, err := config.Home()
			if err != nil {
				return err
			}
			tok, err := config.MCPToken(home)
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), tok)
			return nil
		},
	}
}

func newMCPURLCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "url",
		Short: "Print the MCP endpoint's URL (Streamable HTTP, served by the daemon)",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			u, err := mcpURL()
			if err != nil {
				return err
			}
			fmt.Fprintln(cmd.OutOrStdout(), u)
			return nil
		},
	}
}

// mcpURL is the daemon's MCP endpoint for this home's config.json.
func mcpURL() (string, error) {
	home, err := config.Home()
	if err != nil {
		return "", err
	}
	c, err := config.Load(home)
	if err != nil {
		return "", err
	}
	port := c.MCPPort()
	if port == 0 {
		return "", fmt.Errorf("the MCP endpoint is off (mcp.port is -1 in %s); use stdio (`clauderon mcp`) or set a port", filepath.Join(home, config.FileName))
	}
	return "http://127.0.0.1:" + strconv.Itoa(port) + "/mcp", nil
}

type mcpSetupFlags struct {
	http, write bool
}

func newMCPSetupCmd() *cobra.Command {
	var f mcpSetupFlags
	cmd := &cobra.Command{
		Use:   "setup claude-code|claude-desktop [--http] [--write]",
		Short: "Print (or, with --write, add) the configuration that gives an MCP host clauderon's tools",
		Long: `Prints the exact configuration an MCP host needs to use clauderon's tools:
for Claude Code the ` + "`claude mcp add`" + ` command, for Claude Desktop the
claude_desktop_config.json entry and that file's path on this OS. By default
the host starts ` + "`clauderon mcp`" + ` itself (stdio), which starts the daemon
when none runs; --http points it at the daemon's endpoint instead, with the
bearer token. --write merges the entry into the host's configuration file,
keeping everything else in it.`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: []string{"claude-code", "claude-desktop"},
		RunE: func(cmd *cobra.Command, args []string) error {
			return runMCPSetup(cmd.OutOrStdout(), args[0], f)
		},
	}
	cmd.Flags().BoolVar(&f.http, "http", false, "use the daemon's Streamable HTTP endpoint instead of stdio")
	cmd.Flags().BoolVar(&f.write, "write", false, "merge the entry into the client's configuration file")
	return cmd
}

// mcpEntry is one mcpServers entry, as Claude Code and Claude Desktop read it.
type mcpEntry struct {
	Type    string            `json:"type,omitempty"`
	Command string            `json:"command,omitempty"`
	Args    []string          `json:"args,omitempty"`
	Env     map[string]string `json:"env,omitempty"`
	URL     string            `json:"url,omitempty"`
	Headers map[string]string `json:"headers,omitempty"`
}

func runMCPSetup(w io.Writer, client string, f mcpSetupFlags) error {
	if client != "claude-code" && client != "claude-desktop" {
		return fmt.Errorf("unknown MCP host %q: use claude-code or claude-desktop", visible(client))
	}
	entry, err := mcpEntryFor(f.http, client == "claude-code")
	if err != nil {
		return err
	}
	userHome, err := os.UserHomeDir()
	if err != nil {
		return fmt.Errorf("cannot find your home directory: %w", err)
	}
	var file string
	if client == "claude-code" {
		file = filepath.Join(userHome, ".claude.json")
	} else {
		file = claudeDesktopConfig(userHome)
	}
	if !f.write {
		printMCPSetup(w, client, entry, file)
		return nil
	}
	if client == "claude-desktop" && f.http {
		return errors.New("Claude Desktop's configuration file takes local (stdio) servers; run `clauderon mcp setup claude-desktop --write` without --http, or add the URL as a custom connector in Claude Desktop's settings")
	}
	if err := mergeMCPEntry(file, entry); err != nil {
		return err
	}
	fmt.Fprintf(w, "added the clauderon MCP server to %s\n", visiblePath(file))
	if client == "claude-desktop" {
		fmt.Fprintln(w, "restart Claude Desktop to load it")
	} else {
		fmt.Fprintln(w, "check it with: claude mcp list")
	}
	return nil
}

// mcpEntryFor is the entry for this binary: stdio, or the HTTP endpoint
// with its token (typed for Claude Code, which wants "type").
func mcpEntryFor(http, typed bool) (mcpEntry, error) {
	if http {
		u, err := mcpURL()
		if err != nil {
			return mcpEntry{}, err
		}
		home, err := config.Home()
		if err != nil {
			return mcpEntry{}, err
		}
		tok, err := config.MCPToken(home)
		if err != nil {
			return mcpEntry{}, err
		}
		return mcpEntry{Type: "http", URL: u, Headers: map[string]string{"Authorization": "Bearer " + tok}}, nil
	}
	self, err := os.Executable()
	if err != nil {
		return mcpEntry{}, err
	}
	if resolved, err := filepath.EvalSymlinks(self); err == nil {
		self = resolved
	}
	e := mcpEntry{Command: self, Args: []string{"mcp"}}
	if typed {
		e.Type = "stdio"
	}
	if h := os.Getenv("CLAUDERON_HOME"); h != "" {
		if abs, err := filepath.Abs(h); err == nil {
			e.Env = map[string]string{"CLAUDERON_HOME": abs}
		}
	}
	return e, nil
}

func printMCPSetup(w io.Writer, client string, e mcpEntry, file string) {
	if client == "claude-code" {
		fmt.Fprintln(w, "Run this once (or `clauderon mcp setup claude-code --write`):")
		fmt.Fprintln(w)
		if e.URL != "" {
			fmt.Fprintf(w, "  claude mcp add --scope user --transport http clauderon %s --header %s\n", shellQuote(e.URL), shellQuote("Authorization: "+e.Headers["Authorization"]))
		} else {
			line := "  claude mcp add --scope user"
			for k, v := range e.Env {
				line += " --env " + shellQuote(k+"="+v)
			}
			line += " clauderon -- " + shellQuote(e.Command)
			for _, a := range e.Args {
				line += " " + shellQuote(a)
			}
			fmt.Fprintln(w, line)
		}
		fmt.Fprintln(w)
		fmt.Fprintf(w, "It adds this entry under \"mcpServers\" in %s:\n", visiblePath(file))
	} else {
		fmt.Fprintf(w, "Add this under \"mcpServers\" in %s, then restart Claude Desktop\n(or run `clauderon mcp setup claude-desktop --write`):\n", visiblePath(file))
		if e.URL != "" {
			fmt.Fprintln(w, "(Claude Desktop's file takes local servers; for the HTTP endpoint, add it as a custom connector in its settings instead.)")
		}
	}
	b, _ := json.MarshalIndent(map[string]mcpEntry{"clauderon": e}, "", "  ")
	fmt.Fprintf(w, "%s\n", b)
}

// claudeDesktopConfig is claude_desktop_config.json's path on this OS.
func claudeDesktopConfig(userHome string) string {
	switch runtime.GOOS {
	case "darwin":
		return filepath.Join(userHome, "Library", "Application Support", "Claude", "claude_desktop_config.json")
	case "windows":
		if appData := os.Getenv("APPDATA"); appData != "" {
			return filepath.Join(appData, "Claude", "claude_desktop_config.json")
		}
		return filepath.Join(userHome, "AppData", "Roaming", "Claude", "claude_desktop_config.json")
	}
	if xdg := os.Getenv("XDG_CONFIG_HOME"); xdg != "" {
		return filepath.Join(xdg, "Claude", "claude_desktop_config.json")
	}
	return filepath.Join(userHome, ".config", "Claude", "claude_desktop_config.json")
}

// maxClientConfig bounds the client configuration read for a merge.
const maxClientConfig = 64 << 20

// mergeMCPEntry sets mcpServers.clauderon in the JSON file at path, keeping
// every other key as it was (it is written back whole, atomically, with its
// mode). A missing file is made (0600); a file that is not a JSON object is
// left alone with an error.
func mergeMCPEntry(path string, e mcpEntry) error {
	// A link (a dotfiles checkout) is written through, not replaced.
	if real, err := filepath.EvalSymlinks(path); err == nil {
		path = real
	}
	doc := map[string]json.RawMessage{}
	mode := os.FileMode(0o600)
	fi, err := os.Stat(path)
	switch {
	case err == nil:
		if !fi.Mode().IsRegular() {
			return fmt.Errorf("%s is not a regular file", visiblePath(path))
		}
		if fi.Size() > maxClientConfig {
			return fmt.Errorf("%s is larger than %d MiB; add the entry by hand", visiblePath(path), maxClientConfig>>20)
		}
		mode = fi.Mode().Perm()
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		if len(bytes.TrimSpace(b)) > 0 {
			if err := json.Unmarshal(b, &doc); err != nil || doc == nil {
				return fmt.Errorf("%s is not a JSON object (%v); fix it or add the entry by hand", visiblePath(path), err)
			}
		}
	case errors.Is(err, os.ErrNotExist):
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			return err
		}
	default:
		return err
	}
	servers := map[string]json.RawMessage{}
	if raw, ok := doc["mcpServers"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &servers); err != nil {
			return fmt.Errorf("%s: mcpServers is not an object (%v); fix it or add the entry by hand", visiblePath(path), err)
		}
	}
	entry, err := json.Marshal(e)
	if err != nil {
		return err
	}
	servers["clauderon"] = entry
	if doc["mcpServers"], err = json.Marshal(servers); err != nil {
		return err
	}
	out, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		return err
	}
	if len(e.Headers) > 0 {
		mode &^= 0o077 // the file now holds the bearer token
	}
	// Claude Code rewrites this file while it runs: if it changed since it
	// was read, do not overwrite that.
	if fi != nil {
		if now, err := os.Stat(path); err == nil && (!now.ModTime().Equal(fi.ModTime()) || now.Size() != fi.Size()) {
			return fmt.Errorf("%s changed while it was being merged (is the client running?); run this again", visiblePath(path))
		}
	}
	return atomicfile.Write(path, append(out, '\n'), mode)
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	safe := s != ""
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '/' || r == '.' || r == '-' || r == '_' || r == ':' || r == '=' || r == '@' || r == ',') {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	out := "'"
	for _, r := range s {
		if r == '\'' {
			out += `'\''`
		} else {
			out += string(r)
		}
	}
	return out + "'"
}
