package mcpserver

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/clauderon/clauderon/api"
	"path/filepath"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

// Bounds of create_session's wait.
const (
	defaultWaitSeconds = 600
	maxWaitSeconds     = 3600
	// heartbeat is how often a waiting create says it is still waiting.
	heartbeat = 10 * time.Second
)

type createArgs struct {
	Prompt         string   `json:"prompt"`
	Name           string   `json:"name"`
	Mode           string   `json:"mode"`
	Image          string   `json:"image"`
	Workdir        string   `json:"workdir"`
	From           string   `json:"from"`
	Egress         string   `json:"egress"`
	Allow          []string `json:"allow"`
	Wait           *bool    `json:"wait"`
	TimeoutSeconds int      `json:"timeout_seconds"`
	Spawn          int      `json:"spawn"`
	SpawnImages    []string `json:"spawn_images"`
	BudgetUSD      float64  `json:"budget_usd"`
	BudgetTokens   int64    `json:"budget_tokens"`
	Backend        string   `json:"backend"`
}

// CreateOutput is create_session's answer.
type CreateOutput struct {
	Session  SessionView `json:"session"`
	Finished bool        `json:"finished" jsonschema:"the session ran to its end and session.result holds its answer"`
	TimedOut bool        `json:"timed_out,omitempty" jsonschema:"the wait ended before the session did; it keeps running"`
	Next     string      `json:"next" jsonschema:"what to do next"`
}

func (t *tools) createSession() tool {
	return tool{
		def: mcp.NewTool("create_session",
			mcp.WithDescription(`Start a Claude Code session in a sandboxed container that holds no real credential, and (in print mode, by default) wait for its answer.
The session gets a copy of workdir at /workspace (your files are never mounted); its changes come back only through get_session_diff and land_session.
Returns the session; with wait, its result (text, cost, turns, duration) and exit code. If timeout_seconds passes first, it returns the still-running session with timed_out: true (not an error): poll it with get_session.`),
			mcp.WithString("prompt", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(session.MaxPromptBytes),
				mcp.Description("The task for Claude Code, as you would type it. At most 100 KiB: put long material in a file in workdir and ask Claude to read it.")),
			mcp.WithString("name", mcp.Pattern(`^[a-z0-9][a-z0-9-]{0,39}$`), mcp.MaxLength(40),
				mcp.Description("Session name: 1 to 40 lowercase letters, digits and '-'. Made from the prompt when left out.")),
			mcp.WithString("mode", mcp.Enum(string(session.ModePrint), string(session.ModeInteractive)), mcp.DefaultString(string(session.ModePrint)),
				mcp.Description("print (default) runs the prompt once, non-interactively, and keeps the answer; interactive starts Claude Code's TUI for a human to attach to with `clauderon attach NAME`.")),
			mcp.WithString("image", mcp.MaxLength(255),
				mcp.Description("Agent image (default clauderon-agent:latest, made by `clauderon image build`).")),
			mcp.WithString("workdir", mcp.MaxLength(4096),
				mcp.Description("Absolute host path of a project directory to copy into the session's workspace. In a git repository the copy starts at HEAD plus your uncommitted changes. Left out: an empty /workspace.")),
			mcp.WithString("from", mcp.MaxLength(256),
				mcp.Description("Git branch, tag or commit the workspace starts at instead of HEAD (needs workdir in a git repository).")),
			mcp.WithString("egress", mcp.Enum(string(session.EgressOpen), string(session.EgressBalanced), string(session.EgressLocked)),
				mcp.Description("Hosts the session may reach besides Anthropic's API: balanced (default: common development hosts such as GitHub and package registries), locked (only allow), or open (any).")),
			mcp.WithArray("allow", mcp.WithStringItems(mcp.MaxLength(253)), mcp.MaxItems(100),
				mcp.Description("More hosts the session may reach, e.g. example.com or *.example.com.")),
			mcp.WithInteger("spawn", mcp.Min(0), mcp.Max(session.MaxSpawn),
				mcp.Description("Let the session's own Claude Code start at most this many child sessions with these same tools (default 0: none). Its children are capped by it: depth, count, egress, images and limits.")),
			mcp.WithArray("spawn_images", mcp.WithStringItems(mcp.MaxLength(255)), mcp.MaxItems(16),
				mcp.Description("Images the session's children may run besides its own (needs spawn).")),
			mcp.WithNumber("budget_usd", mcp.Min(0),
				mcp.Description("Stop the session's requests to Anthropic once it, with its children, has spent this many US dollars (default: no cap). Only the user can raise it.")),
			mcp.WithNumber("budget_tokens", mcp.Min(0),
				mcp.Description("Stop the session's requests once it, with its children, has used this many tokens: input, output and cache together (default: no cap).")),
			mcp.WithString("backend", mcp.Enum(api.BackendDocker, api.BackendKubernetes),
				mcp.Description("Where the session runs: docker (this machine's engine) or kubernetes (the cluster of config.json's kubernetes section); default: config.json's default_backend, else docker. A child session runs where its parent does.")),
			mcp.WithBoolean("wait",
				mcp.Description("Wait for a print session to finish and return its result (default true for print; interactive sessions cannot be waited for).")),
			mcp.WithInteger("timeout_seconds", mcp.Min(1), mcp.Max(maxWaitSeconds), mcp.DefaultNumber(defaultWaitSeconds),
				mcp.Description(fmt.Sprintf("How long to wait, in seconds (default %d, at most %d). The session keeps running past it.", defaultWaitSeconds, maxWaitSeconds))),
			mcp.WithOutputSchema[CreateOutput](),
			annotations("Create a sandboxed Claude Code session", false, false, false, true),
		),
		handle: t.handleCreate,
	}
}

func (t *tools) handleCreate(ctx context.Context, req mcp.CallToolRequest) (any, error) {
	var a createArgs
	if err := bind(req, &a); err != nil {
		return nil, err
	}
	if strings.TrimSpace(a.Prompt) == "" {
		return nil, inputErr("prompt is required: the task for Claude Code")
	}
	mode := session.Mode(a.Mode)
	if mode == "" {
		mode = session.ModePrint
	}
	if mode != session.ModePrint && mode != session.ModeInteractive {
		return nil, inputErr("mode %q is not valid: use print or interactive", a.Mode)
	}
	wait := mode == session.ModePrint
	if a.Wait != nil {
		wait = *a.Wait
	}
	if wait && mode == session.ModeInteractive {
		return nil, inputErr("an interactive session runs until someone attaches and quits, so it cannot be waited for: pass wait: false, or mode: print")
	}
	timeout := a.TimeoutSeconds
	if timeout == 0 {
		timeout = defaultWaitSeconds
	}
	if timeout < 1 || timeout > maxWaitSeconds {
		return nil, inputErr("timeout_seconds %d is not from 1 to %d", a.TimeoutSeconds, maxWaitSeconds)
	}
	if a.Workdir != "" && !filepath.IsAbs(a.Workdir) {
		return nil, inputErr("workdir %q is not an absolute path: pass the project's full host path, such as /home/me/project", a.Workdir)
	}
	if a.From != "" && a.Workdir == "" {
		return nil, inputErr("from needs workdir: the git repository whose ref the workspace starts at")
	}
	name := a.Name
	if name == "" {
		name = nameFor(a.Prompt)
	}
	if err := session.ValidateName(name); err != nil {
		return nil, inputErr("name: %v", err)
	}
	o := session.Options{Name: name, Prompt: a.Prompt, Mode: mode, Image: a.Image, Workdir: a.Workdir, From: a.From,
		Egress: session.Egress{Mode: session.EgressMode(a.Egress), Allow: a.Allow}, Spawn: a.Spawn, SpawnImages: a.SpawnImages,
		Budget: session.Budget{USD: a.BudgetUSD, Tokens: a.BudgetTokens}, Backend: a.Backend}
	switch a.Backend {
	case "", api.BackendDocker, api.BackendKubernetes:
	default:
		return nil, inputErr("backend %q is not valid: use docker or kubernetes", a.Backend)
	}

	progress := newProgress(ctx, req)
	s, err := t.c.CreateWithProgress(ctx, o, progress.send)
	if err != nil {
		return nil, err
	}
	out := CreateOutput{Session: viewOf(s)}
	if !wait {
		out.Next = next(s)
		return out, nil
	}
	return t.wait(ctx, name, timeout, progress)
}

// wait waits at most timeout seconds for session name's turn to end,
// telling progress, and returns the session: finished, or timed out (not
// an error).
func (t *tools) wait(ctx context.Context, name string, timeout int, progress *progress) (CreateOutput, error) {
	progress.send(fmt.Sprintf("session %s is running; waiting for it to finish (at most %d s)", name, timeout))
	wctx, cancel := context.WithTimeout(ctx, time.Duration(timeout)*time.Second)
	defer cancel()
	stop := progress.heartbeat(wctx, heartbeat, func(elapsed time.Duration) string {
		return fmt.Sprintf("session %s still running (%d s)", name, int(elapsed.Seconds()))
	})
	s, err := t.c.Wait(wctx, name)
	stop()
	switch {
	case err == nil:
		out := CreateOutput{Session: viewOf(s), Finished: s.Status.Terminal()}
		out.Next = next(s)
		return out, nil
	case errors.Is(err, context.DeadlineExceeded) && ctx.Err() == nil:
		s, gerr := t.c.Get(ctx, name)
		if gerr != nil {
			return CreateOutput{}, gerr
		}
		return CreateOutput{Session: viewOf(s), TimedOut: true,
			Next: fmt.Sprintf("session %s is still %s after %d s: poll it with get_session, read its output with get_session_output, or stop it with stop_session", name, s.Status, timeout)}, nil
	case ctx.Err() != nil:
		return CreateOutput{}, fmt.Errorf("stopped waiting (%w); session %s keeps running: poll it with get_session", ctx.Err(), name)
	}
	return CreateOutput{}, err
}

// next says what a caller can do with s now.
func next(s session.Session) string {
	switch {
	case s.Status == session.StatusFailed:
		return fmt.Sprintf("session %s failed; get_session_output shows what it printed", s.Name)
	case !s.Status.Terminal() && s.Mode == session.ModeInteractive:
		return fmt.Sprintf("a human can attach with `clauderon attach %s`; poll it with get_session", s.Name)
	case !s.Status.Terminal():
		return fmt.Sprintf("poll it with get_session (name %q)", s.Name)
	}
	more := ""
	if s.Mode == session.ModePrint && s.Status.Ended() && s.Gateway {
		more = "give it a further turn with continue_session, or "
	}
	if s.Workspace != nil {
		return fmt.Sprintf("%sreview its work with get_session_diff, keep it with land_session, then delete_session (name %q)", more, s.Name)
	}
	return fmt.Sprintf("%sdelete it with delete_session when done (name %q)", more, s.Name)
}

// nameFor makes a session name from a prompt's first words and a random
// suffix: "fix-the-flaky-3f9a1c".
func nameFor(prompt string) string {
	var words []string
	for _, f := range strings.FieldsFunc(strings.ToLower(prompt), func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9')
	}) {
		words = append(words, f)
		if len(words) == 3 {
			break
		}
	}
	base := strings.Join(words, "-")
	if len(base) > 30 {
		base = strings.Trim(base[:30], "-")
	}
	b := make([]byte, 3)
	_, _ = rand.Read(b)
	if base == "" {
		return "session-" + hex.EncodeToString(b)
	}
	return base + "-" + hex.EncodeToString(b)
}
