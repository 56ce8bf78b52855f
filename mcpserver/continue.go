package mcpserver

import (
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

type continueArgs struct {
	Name           string `json:"name"`
	Prompt         string `json:"prompt"`
	Wait           *bool  `json:"wait"`
	TimeoutSeconds int    `json:"timeout_seconds"`
}

func (t *tools) continueSession() tool {
	return tool{
		def: mcp.NewTool("continue_session",
			mcp.WithDescription(`Give a finished print session a further turn: its Claude Code resumes the same conversation (it remembers what it was told and did) in the same container and workspace, and answers prompt.
Use it to go back and forth with a session: ask a follow-up, ask it to fix what get_session_diff showed, or answer its question. The session must be a print session whose last turn ended (status exited); an interactive one is continued by a human with clauderon attach.
Returns the session and, with wait (default true), the new turn's result; on timeout, the running session with timed_out: true (not an error).`),
			mcp.WithString("name", mcp.Required(), mcp.Pattern(`^[a-z0-9][a-z0-9-]{0,39}$`), mcp.MaxLength(40),
				mcp.Description("The session's name, as create_session or list_sessions returned it.")),
			mcp.WithString("prompt", mcp.Required(), mcp.MinLength(1), mcp.MaxLength(session.MaxPromptBytes),
				mcp.Description("What to tell Claude Code next, as you would type it. At most 100 KiB.")),
			mcp.WithBoolean("wait",
				mcp.Description("Wait for the turn to finish and return its result (default true).")),
			mcp.WithInteger("timeout_seconds", mcp.Min(1), mcp.Max(maxWaitSeconds), mcp.DefaultNumber(defaultWaitSeconds),
				mcp.Description(fmt.Sprintf("How long to wait, in seconds (default %d, at most %d). The turn keeps running past it.", defaultWaitSeconds, maxWaitSeconds))),
			mcp.WithOutputSchema[CreateOutput](),
			annotations("Continue a print session's conversation", false, false, false, true),
		),
		handle: t.handleContinue,
	}
}

func (t *tools) handleContinue(ctx context.Context, req mcp.CallToolRequest) (any, error) {
	var a continueArgs
	if err := bind(req, &a); err != nil {
		return nil, err
	}
	if err := session.ValidateName(a.Name); err != nil {
		return nil, inputErr("name: %v", err)
	}
	if strings.TrimSpace(a.Prompt) == "" {
		return nil, inputErr("prompt is required: what to tell the session's Claude Code next")
	}
	timeout := a.TimeoutSeconds
	if timeout == 0 {
		timeout = defaultWaitSeconds
	}
	if timeout < 1 || timeout > maxWaitSeconds {
		return nil, inputErr("timeout_seconds %d is not from 1 to %d", a.TimeoutSeconds, maxWaitSeconds)
	}
	progress := newProgress(ctx, req)
	progress.send("starting session " + a.Name + " again for a further turn")
	s, err := t.c.Continue(ctx, a.Name, a.Prompt)
	if err != nil {
		return nil, err
	}
	if a.Wait != nil && !*a.Wait {
		return CreateOutput{Session: viewOf(s), Next: next(s)}, nil
	}
	return t.wait(ctx, a.Name, timeout, progress)
}
