package client

import (
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/workspace"
)

// APIPrefix is the versioned root of every LocalAPI route.
const APIPrefix = "/api/v0"

// Status describes the running daemon.
type Status struct {
	Version    string   `json:"version"`
	PID        int      `json:"pid"`
	Home       string   `json:"home"`
	ProxyPort  int      `json:"proxy_port"`
	ProxyAddrs []string `json:"proxy_addrs"`
	// MCPURL is the MCP endpoint (Streamable HTTP), when it is on;
	// MCPError says why it is off when it should be on.
	MCPURL   string `json:"mcp_url,omitempty"`
	MCPError string `json:"mcp_error,omitempty"`
}

// SessionList is the answer of GET /sessions.
type SessionList struct {
	Sessions []session.Session `json:"sessions"`
	Orphans  []session.Orphan  `json:"orphans,omitempty"`
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
	Tag           string `json:"tag,omitempty"`            // session.DefaultImage when empty
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
	Session *session.Session `json:"session,omitempty"`
}

// EgressChange is the body of POST /sessions/{name}/egress: hosts to add
// to the session's allow list, and a mode to switch to (when not empty).
// The answer is a session.EgressReport.
type EgressChange struct {
	Mode  string   `json:"mode,omitempty"`
	Allow []string `json:"allow,omitempty"`
}

// Land is the body of POST /sessions/{name}/land.
type Land struct {
	Branch string `json:"branch,omitempty"` // clauderon/<name> when empty
	Force  bool   `json:"force,omitempty"`  // overwrite an existing branch
	// Tree is the work's tree the caller reviewed (Diff.Tree, or a prefix of
	// at least 7 hex digits): the land is refused if the work changed since.
	// Required while the session runs.
	Tree string `json:"tree,omitempty"`
}

// Apply is the body of POST /sessions/{name}/apply (optional).
type Apply struct {
	Tree string `json:"tree,omitempty"` // as Land.Tree
}

// BroughtBack is the answer of land and apply: what was brought back, where.
type BroughtBack struct {
	Session    string         `json:"session"`
	Repository string         `json:"repository"` // the user's repository or directory
	Mark       workspace.Mark `json:"mark"`
}

// UpgradeProto is the Upgrade token of the attach route.
const UpgradeProto = "clauderon-attach"
