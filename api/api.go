// Package api holds the LocalAPI's wire types: what the daemon and its
// clients (the CLI, the MCP server, an app) send each other. It imports only
// the standard library, so a client needs nothing of the daemon's.
package api

// APIPrefix is the versioned root of every LocalAPI route.
const APIPrefix = "/api/v0"

// UpgradeProto is the Upgrade token of the attach route.
const UpgradeProto = "clauderon-attach"

// DefaultImage is the agent image sessions run when none is named.
const DefaultImage = "clauderon-agent:latest"

// DaemonStatus describes the running daemon: the answer of GET /status.
type DaemonStatus struct {
	Version    string   `json:"version"`
	PID        int      `json:"pid"`
	Home       string   `json:"home"`
	ProxyPort  int      `json:"proxy_port"`
	ProxyAddrs []string `json:"proxy_addrs"`
	// MCPURL is the MCP endpoint (Streamable HTTP), when it is on;
	// MCPError says why it is off when it should be on.
	MCPURL   string `json:"mcp_url,omitempty"`
	MCPError string `json:"mcp_error,omitempty"`
	// UIURL is where the web UI listens (log in with `clauderon ui`);
	// UIError says why it does not when it should.
	UIURL   string `json:"ui_url,omitempty"`
	UIError string `json:"ui_error,omitempty"`
}

// Continue is the body of POST /sessions/{name}/continue: the prompt of a
// finished print session's further turn. The answer is the running Session.
type Continue struct {
	Prompt string `json:"prompt"`
}

// Resize is the body of POST /sessions/{name}/resize.
type Resize struct {
	Rows uint `json:"rows"`
	Cols uint `json:"cols"`
}

// Check is one line of the doctor's report.
type Check struct {
	Name   string `json:"name"`
	OK     bool   `json:"ok"`
	Detail string `json:"detail,omitempty"`
	Fix    string `json:"fix,omitempty"`
}

// Doctor is the answer of GET /doctor.
type Doctor struct {
	OK     bool    `json:"ok"`
	Checks []Check `json:"checks"`
}

// BuildImage is the body of POST /images/build.
type BuildImage struct {
	Tag           string `json:"tag,omitempty"`            // DefaultImage when empty
	BaseImage     string `json:"base_image,omitempty"`     // replaces debian:bookworm-slim
	ClaudeVersion string `json:"claude_version,omitempty"` // npm version; latest when empty
	ClaudeBinary  string `json:"claude_binary,omitempty"`  // host path of a prebuilt claude binary
}

// PullImage is the body of POST /images/pull.
type PullImage struct {
	Ref string `json:"ref"`
}

// Progress is one NDJSON line of a streamed operation (an image build or
// pull, a create with ?progress=1). The last line has Done or Error set.
type Progress struct {
	Line  string `json:"line,omitempty"`
	Done  bool   `json:"done,omitempty"`
	Error string `json:"error,omitempty"`
	// Status is the HTTP status the error would have had, had it come before
	// the stream began.
	Status int `json:"status,omitempty"`
	// Session is the created session, on a create's last line.
	Session *Session `json:"session,omitempty"`
}

// The codes of the LocalAPI's error answers ({"error": …, "code": …}).
const (
	CodeInvalid      = "invalid"
	CodeNotFound     = "not_found"
	CodeNoCredential = "no_credential"
	CodeExists       = "exists"
	CodeState        = "state"
	CodeConflict     = "conflict" // with the user's repository
	CodeUnlanded     = "unlanded"
	CodeImage        = "image"
	CodeEngine       = "engine"
	CodeCap          = "cap" // a nested session's cap
	CodeUnavailable  = "unavailable"
	CodeKeychain     = "keychain"
	CodeBrowser      = "browser"
	CodeMethod       = "method"
	CodeNoRoute      = "no_route"
	CodeInternal     = "internal"
)
