package api

import (
	"strings"
	"time"
)

// ActivityState is what a session's agent is doing: one of Claude Code's
// states, which its hooks report, or the session's lifecycle state.
type ActivityState string

const (
	ActivityStarting     ActivityState = "starting"
	ActivityWorking      ActivityState = "working" // Tool names the tool, if any
	ActivityWaitingInput ActivityState = "waiting_for_input"
	ActivityWaitingPerm  ActivityState = "waiting_for_permission"
	ActivityIdle         ActivityState = "idle"
	// ActivityRunning is a live session whose agent never reported (an old
	// Claude Code, or hooks the image disabled): Known is false.
	ActivityRunning ActivityState = "running"
)

// Activity sources.
const (
	ActivityFromHooks  = "hooks"  // Claude Code's hooks in the container
	ActivityFromEngine = "engine" // the container's lifecycle
)

// Activity is a session's agent's state.
type Activity struct {
	State ActivityState `json:"state"`
	// Tool is the tool the agent runs while working (validated: at most
	// MaxToolName characters of [A-Za-z0-9_.:-]).
	Tool  string    `json:"tool,omitempty"`
	Since time.Time `json:"since,omitzero"`
	// Known is false when the agent's hooks never reported, so State is
	// only what the engine says of the container.
	Known  bool   `json:"known"`
	Source string `json:"source"`
}

// MaxToolName bounds Activity.Tool.
const MaxToolName = 128

// String is the activity for a table: "working: Bash", "waiting for input".
func (a *Activity) String() string {
	if a == nil {
		return ""
	}
	s := strings.ReplaceAll(string(a.State), "_", " ")
	if a.Tool != "" {
		s += ": " + a.Tool
	}
	if !a.Known {
		s += " (activity unknown)"
	}
	return s
}

// Hook events: what the hook command in a container reports.
const (
	HookSessionStart     = "SessionStart"
	HookUserPromptSubmit = "UserPromptSubmit"
	HookPreToolUse       = "PreToolUse"
	HookPostToolUse      = "PostToolUse"
	HookNotification     = "Notification"
	HookStop             = "Stop"
)

// HookReport is what `clauderon hook` POSTs to http://clauderon.internal/hook
// for one of Claude Code's hook events. The container wrote it: the daemon
// validates every field and stores nothing else.
type HookReport struct {
	Event string `json:"event"`
	Tool  string `json:"tool,omitempty"`
	// Notification is a Notification event's notification_type
	// ("permission_prompt", "idle_prompt", ...).
	Notification string `json:"notification,omitempty"`
}

// MaxHookBody bounds a HookReport's encoding.
const MaxHookBody = 1024
