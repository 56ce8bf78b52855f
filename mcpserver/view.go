package mcpserver

import (
	"time"

	"github.com/clauderon/clauderon/api"

	"github.com/clauderon/clauderon/session"
)

// SessionView is a session as the tools return it: what a caller needs to
// decide its next step, without the daemon's bookkeeping.
type SessionView struct {
	Name       string        `json:"name" jsonschema:"the session's name, which every other tool takes"`
	Status     string        `json:"status" jsonschema:"creating, running, exited, stopped (by a user or stop_session), failed, deleted, or unknown (its cluster cannot be reached)"`
	Mode       string        `json:"mode" jsonschema:"print (runs the prompt once) or interactive"`
	Image      string        `json:"image"`
	Backend    string        `json:"backend" jsonschema:"where it runs: docker or kubernetes"`
	CreatedAt  time.Time     `json:"created_at"`
	StartedAt  *time.Time    `json:"started_at,omitempty"`
	FinishedAt *time.Time    `json:"finished_at,omitempty"`
	ExitCode   *int          `json:"exit_code,omitempty" jsonschema:"the container's exit code, once it exited"`
	Reason     string        `json:"reason,omitempty" jsonschema:"why the session failed"`
	Warning    string        `json:"warning,omitempty"`
	Result     *Result       `json:"result,omitempty" jsonschema:"a print session's answer, once it finished"`
	Workspace  *Workspace    `json:"workspace,omitempty" jsonschema:"the copy of a host directory the session works on"`
	Changes    *Changes      `json:"changes,omitempty" jsonschema:"what the workspace holds that was never landed"`
	Egress     string        `json:"egress,omitempty" jsonschema:"the egress mode: open, balanced or locked"`
	Allow      []string      `json:"allow,omitempty" jsonschema:"hosts the session may also reach"`
	Parent     string        `json:"parent,omitempty" jsonschema:"the session that started this one"`
	Spawn      int           `json:"spawn,omitempty" jsonschema:"how many children this session may start"`
	Spawned    int           `json:"spawned,omitempty" jsonschema:"how many children it has started, removed ones included"`
	Turns      int           `json:"turns,omitempty" jsonschema:"how many turns a print session has run: 1, and one more per continue_session; result is the last one's"`
	Activity   *api.Activity `json:"activity,omitempty" jsonschema:"what the session's agent is doing: working (with its tool), waiting_for_input, waiting_for_permission, idle; known is false when its hooks never reported"`
	Usage      *api.Usage    `json:"usage,omitempty" jsonschema:"the tokens its Messages requests used, their cost in USD (cost_known false when a model has no price) and its budget"`
}

// Result is a print session's outcome.
type Result struct {
	Text       string  `json:"text" jsonschema:"Claude Code's final answer"`
	IsError    bool    `json:"is_error"`
	CostUSD    float64 `json:"cost_usd"`
	NumTurns   int     `json:"num_turns"`
	DurationMS int64   `json:"duration_ms"`
}

// Workspace says where a session's work comes from and goes back to.
type Workspace struct {
	Source string `json:"source" jsonschema:"the host directory that was copied"`
	Git    bool   `json:"git"`
	Branch string `json:"branch" jsonschema:"the workspace's branch; land_session makes it a branch of the source repository"`
	Landed string `json:"landed,omitempty" jsonschema:"the branch the work was last landed on"`
}

// Changes summarises unlanded work.
type Changes struct {
	Files     int      `json:"files"`
	Unlanded  bool     `json:"unlanded"`
	OtherRefs []string `json:"other_refs,omitempty"`
	Pending   bool     `json:"pending,omitempty" jsonschema:"still being counted; ask again"`
	Error     string   `json:"error,omitempty"`
}

func viewOf(s session.Session) SessionView {
	v := SessionView{
		Name: s.Name, Status: string(s.Status), Mode: string(s.Mode), Image: s.Image, Backend: s.BackendName(), CreatedAt: s.CreatedAt,
		ExitCode: s.ExitCode, Reason: s.Reason, Warning: s.Warning, Egress: string(s.Egress.Mode), Allow: s.Egress.Allow,
		Parent: s.Parent, Spawn: s.Spawn, Spawned: s.Spawned, Turns: s.Turns,
		Activity: s.Activity, Usage: s.Usage,
	}
	if !s.StartedAt.IsZero() {
		t := s.StartedAt
		v.StartedAt = &t
	}
	if !s.FinishedAt.IsZero() {
		t := s.FinishedAt
		v.FinishedAt = &t
	}
	if r := s.Result; r != nil {
		v.Result = &Result{Text: r.Text, IsError: r.IsError, CostUSD: r.CostUSD, NumTurns: r.NumTurns, DurationMS: r.DurationMS}
	}
	if w := s.Workspace; w != nil {
		v.Workspace = &Workspace{Source: w.Source, Git: w.Git, Branch: w.Branch}
		if w.Landed != nil {
			v.Workspace.Landed = w.Landed.Branch
		}
	}
	if c := s.Changes; c != nil {
		v.Changes = &Changes{Files: c.Files, Unlanded: c.Unlanded, OtherRefs: c.OtherRefs, Pending: c.Pending, Error: c.Error}
	}
	return v
}
