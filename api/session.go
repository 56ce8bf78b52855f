package api

import (
	"fmt"
	"path"
	"time"
)

// SessionStatus is where a session is in its lifecycle:
// creating → running → exited (exit code) / stopped (by the user) / failed
// (reason) → deleted; start, restart and continue take an exited or
// stopped one back to running.
type SessionStatus string

const (
	StatusCreating SessionStatus = "creating"
	StatusRunning  SessionStatus = "running"
	StatusExited   SessionStatus = "exited"
	// StatusStopped: the user stopped it (stop, restart); its exit code is
	// the signal's, which says nothing.
	StatusStopped SessionStatus = "stopped"
	StatusFailed  SessionStatus = "failed"
	StatusDeleted SessionStatus = "deleted"
	// StatusUnknown: its engine (a Kubernetes cluster) cannot be reached,
	// so what its container does is not known. It is computed when read,
	// never stored: the session's own status is kept for when the engine
	// answers again.
	StatusUnknown SessionStatus = "unknown"
)

// Backends a session can run on.
const (
	BackendDocker     = "docker"
	BackendKubernetes = "kubernetes"
)

// Terminal reports whether a session in this status will not change by itself.
func (s SessionStatus) Terminal() bool {
	return s == StatusExited || s == StatusStopped || s == StatusFailed || s == StatusDeleted
}

// Ended reports whether the session's container finished and can start
// again: exited or stopped.
func (s SessionStatus) Ended() bool { return s == StatusExited || s == StatusStopped }

// Mode says how Claude Code runs in the container.
type Mode string

const (
	// ModeInteractive runs Claude Code's TUI with a TTY and open stdin.
	ModeInteractive Mode = "interactive"
	// ModePrint runs `claude --print` once; the container exits with the answer.
	ModePrint Mode = "print"
)

// Session is one Claude Code container and its bookkeeping. It carries no
// secret: the per-session proxy credential is derived on demand.
type Session struct {
	Name         string        `json:"name"`
	Status       SessionStatus `json:"status"`
	Mode         Mode          `json:"mode"`
	Prompt       string        `json:"prompt,omitempty"`
	PromptSHA256 string        `json:"prompt_sha256,omitempty"`
	Image        string        `json:"image"`
	Workdir      string        `json:"workdir,omitempty"`
	CreatedAt    time.Time     `json:"created_at"`
	StartedAt    time.Time     `json:"started_at,omitzero"`
	FinishedAt   time.Time     `json:"finished_at,omitzero"`
	UpdatedAt    time.Time     `json:"updated_at,omitzero"`
	ExitCode     *int          `json:"exit_code,omitempty"`
	Reason       string        `json:"reason,omitempty"` // why it failed
	ContainerID  string        `json:"container_id,omitempty"`
	Container    string        `json:"container"` // container name, clauderon-<name>
	Result       *Result       `json:"result,omitempty"`
	// Usage is what its requests to the Messages API used and cost, and
	// its budget; computed when read.
	Usage *Usage `json:"usage,omitempty"`
	// Turns is how many print turns the session has run: 1 for its first,
	// one more per continue; 0 for an interactive session.
	Turns int `json:"turns,omitempty"`
	// Rebuilt is set when the session was recovered from container labels
	// alone (its state file was missing); the prompt is then unknown.
	Rebuilt bool `json:"rebuilt,omitempty"`
	// ProxyPort is the host port the container's HTTPS_PROXY names; 0 when
	// unknown (a session of an older clauderon).
	ProxyPort int `json:"proxy_port,omitempty"`
	// Gateway says the container has no network, and its only way out is
	// its gateway to its own proxy socket. A session of an older
	// clauderon, or on Docker Desktop, reaches the proxy over the bridge
	// network at ProxyPort instead.
	Gateway bool `json:"gateway,omitempty"`
	// Egress is the policy for the hosts the session may tunnel to.
	Egress Egress `json:"egress,omitzero"`
	// Warning says what is wrong with a live session, such as a proxy port
	// nothing listens on any more. It is computed when read, never stored.
	Warning string `json:"warning,omitempty"`
	// Workspace is the copy of the project the session works on; nil when
	// it has none (--no-workdir, or a direct mount at /workspace).
	Workspace *Workspace `json:"workspace,omitempty"`
	// Mounts are the host paths bind-mounted on the user's explicit request.
	Mounts []Mount `json:"mounts,omitempty"`
	// Limits are the container's; zero for a session of an older clauderon.
	Limits Limits `json:"limits,omitzero"`
	// User is who the container runs as; zero for a session of an older
	// clauderon (which ran as claude, uid 1000).
	User User `json:"user,omitzero"`
	// Changes is what the workspace holds that was never landed or applied;
	// computed when read, never stored.
	Changes *Changes `json:"changes,omitempty"`
	// Parent is the session that started this one through its MCP
	// endpoint; "" for one the user (or a host MCP client) started.
	Parent string `json:"parent,omitempty"`
	// Depth is how many parents it has: 0 for a top-level session.
	Depth int `json:"depth,omitempty"`
	// Spawn is how many children it may start (create --spawn), and
	// Spawned how many it has, removed ones included.
	Spawn   int `json:"spawn,omitempty"`
	Spawned int `json:"spawned,omitempty"`
	// SpawnImages are images its children may run besides its own.
	SpawnImages []string `json:"spawn_images,omitempty"`
	// Activity is what its agent is doing; computed when read, never stored.
	Activity *Activity `json:"activity,omitempty"`
	// Backend is what runs its container: BackendDocker (also when empty,
	// for a session of an older clauderon) or BackendKubernetes.
	Backend string `json:"backend,omitempty"`
}

// BackendName is s's backend, BackendDocker when it names none.
func (s Session) BackendName() string {
	if s.Backend == "" {
		return BackendDocker
	}
	return s.Backend
}

// Changes summarises a workspace's work for `list`.
type Changes struct {
	Files    int  `json:"files"`    // files changed since the baseline
	Unlanded bool `json:"unlanded"` // some of it was neither landed nor applied
	// OtherRefs are the workspace's other branches (or its stash) with
	// commits that were never landed.
	OtherRefs []string `json:"other_refs,omitempty"`
	Pending   bool     `json:"pending,omitempty"` // still being read; ask again
	Error     string   `json:"error,omitempty"`   // why it could not be read
}

// Mount binds a host path into the container, on the user's explicit request.
type Mount struct {
	Source   string `json:"source"` // absolute host path
	Target   string `json:"target"` // absolute container path; Source when empty
	ReadOnly bool   `json:"read_only,omitempty"`
}

// Result is the outcome of a print session, from the stream's final
// {"type":"result",…} line.
type Result struct {
	Text         string  `json:"text"`
	IsError      bool    `json:"is_error"`
	Subtype      string  `json:"subtype,omitempty"`
	CostUSD      float64 `json:"cost_usd"`
	NumTurns     int     `json:"num_turns"`
	DurationMS   int64   `json:"duration_ms"`
	ClaudeSessID string  `json:"claude_session_id,omitempty"`
}

// CreateSession is the body of POST /sessions: what a client asks for
// when creating a session.
type CreateSession struct {
	Name   string `json:"name"`
	Prompt string `json:"prompt"`
	Mode   Mode   `json:"mode,omitempty"`  // interactive when empty
	Image  string `json:"image,omitempty"` // DefaultImage when empty
	// Workdir is the absolute host directory whose copy (the workspace) the
	// session works on at /workspace; none when empty.
	Workdir  string   `json:"workdir,omitempty"`
	From     string   `json:"from,omitempty"`     // git ref the workspace starts at instead of HEAD
	Includes []string `json:"includes,omitempty"` // globs of ignored files copied into the workspace too
	Mounts   []Mount  `json:"mounts,omitempty"`   // direct bind mounts; one at /workspace replaces the workspace
	// CPUs and MemoryBytes override the default limits (config.json's, or
	// the daemon's defaults) when set.
	CPUs        float64 `json:"cpus,omitempty"`
	MemoryBytes int64   `json:"memory_bytes,omitempty"`
	// Egress is the session's egress policy; its mode is config.json's
	// egress.default (balanced unless set) when empty.
	Egress Egress `json:"egress,omitzero"`
	// Spawn lets the session's own Claude Code start at most this many
	// children through clauderon's MCP tools; SpawnImages are images they
	// may run besides the session's own.
	Spawn       int      `json:"spawn,omitempty"`
	SpawnImages []string `json:"spawn_images,omitempty"`
	// Budget caps what the session, with its children, may spend on the
	// Messages API; the proxy refuses its requests once it is spent.
	Budget Budget `json:"budget,omitzero"`
	// Backend runs the session: BackendDocker or BackendKubernetes;
	// config.json's default_backend (docker unless set) when empty.
	Backend string `json:"backend,omitempty"`
	// Parent is the session asking for a child. It is never read from the
	// wire: the daemon sets it from who called.
	Parent string `json:"-"`
}

// Limits bound what a session's container may use.
type Limits struct {
	CPUs        float64 `json:"cpus"`
	MemoryBytes int64   `json:"memory_bytes"`
	Pids        int64   `json:"pids"`
}

// User is who a session's container runs as: the image's own non-root user,
// or the fallback. It is resolved once, when the session is created.
type User struct {
	Name string `json:"name,omitempty"` // the image's name for it; "" for none
	UID  int    `json:"uid"`
	GID  int    `json:"gid"`
	Home string `json:"home"` // HOME; the session's claude.json is in it
	// MadeHome: the image gives the user no home it can write, so
	// clauderon makes Home (0700, the user's) in the container.
	MadeHome bool `json:"made_home,omitempty"`
	// Fallback: the image's own user is root, so the container runs as
	// the fallback uid and gid instead.
	Fallback bool `json:"fallback,omitempty"`
}

// SpecUser is the engine's user spec, numeric so that it means exactly the
// uid and gid the workspace was given.
func (u User) SpecUser() string { return fmt.Sprintf("%d:%d", u.UID, u.GID) }

// ClaudeCfg is where the session's claude.json is mounted.
func (u User) ClaudeCfg() string { return path.Join(u.Home, ".claude.json") }

// Env is the user's environment: HOME, which the engine sets only from the
// image's passwd.
func (u User) Env() []string { return []string{"HOME=" + u.Home} }

// String describes the user for people: "agent (uid 1001, gid 1001)".
func (u User) String() string {
	ids := fmt.Sprintf("uid %d, gid %d", u.UID, u.GID)
	if u.Name == "" {
		return ids
	}
	return u.Name + " (" + ids + ")"
}

// SessionList is the answer of GET /sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
	Orphans  []Orphan  `json:"orphans,omitempty"`
}

// Orphan is a container that looks like ours but cannot be rebuilt into a
// session. It is listed, never deleted silently.
type Orphan struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	Status string `json:"status"`
	Reason string `json:"reason"`
}
