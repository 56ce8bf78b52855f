package mcpserver

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

// StopOutput is stop_session's answer.
type StopOutput struct {
	Session SessionView `json:"session"`
	Next    string      `json:"next"`
}

func (t *tools) stopSession() tool {
	return tool{
		def: mcp.NewTool("stop_session",
			mcp.WithDescription("Stop a session's container (Claude Code is interrupted; a print session then has no result). Its workspace and output stay: review and land its work, or delete it. Stopping a stopped session does nothing."),
			nameArg("The session's name."),
			mcp.WithOutputSchema[StopOutput](),
			annotations("Stop a session", false, true, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name string `json:"name"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			if err := session.ValidateName(a.Name); err != nil {
				return nil, inputErr("name: %v", err)
			}
			s, err := t.c.Stop(ctx, a.Name)
			if err != nil {
				return nil, err
			}
			return StopOutput{Session: viewOf(s), Next: next(s)}, nil
		},
	}
}

// DeleteOutput is delete_session's answer.
type DeleteOutput struct {
	Name    string `json:"name"`
	Deleted bool   `json:"deleted"`
}

func (t *tools) deleteSession() tool {
	return tool{
		def: mcp.NewTool("delete_session",
			mcp.WithDescription(`Delete a session: its container (stopped first if running), its workspace copy and its state. The proxy refuses its credential from then on; its audit lines stay readable with get_audit.
A workspace holding work that was never landed is refused unless discard is true: land it with land_session first if it should be kept.`),
			nameArg("The session's name."),
			mcp.WithBoolean("discard", mcp.Description("Delete even work that was never landed. That work is lost.")),
			mcp.WithBoolean("recursive", mcp.Description("Delete the session's child sessions (and theirs) too; without it, a session with children is refused.")),
			mcp.WithOutputSchema[DeleteOutput](),
			annotations("Delete a session", false, true, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name      string `json:"name"`
				Discard   bool   `json:"discard"`
				Recursive bool   `json:"recursive"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			if err := session.ValidateName(a.Name); err != nil {
				return nil, inputErr("name: %v", err)
			}
			remove := t.c.Remove
			if a.Recursive {
				remove = t.c.RemoveTree
			}
			if err := remove(ctx, a.Name, true, a.Discard); err != nil {
				return nil, err
			}
			return DeleteOutput{Name: a.Name, Deleted: true}, nil
		},
	}
}
