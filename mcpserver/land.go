package mcpserver

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/workspace"
)

// confirmID keys land's confirmation in a multi round-trip request.
const confirmID = "confirm_land"

// LandOutput is land_session's answer.
type LandOutput struct {
	Name       string `json:"name"`
	Repository string `json:"repository" jsonschema:"the user's repository the branch was made in"`
	Branch     string `json:"branch"`
	Commit     string `json:"commit"`
	Tree       string `json:"tree"`
	Next       string `json:"next"`
}

type landArgs struct {
	Name    string `json:"name"`
	Branch  string `json:"branch"`
	Force   bool   `json:"force"`
	Tree    string `json:"tree"`
	Confirm bool   `json:"confirm"`
}

func (t *tools) landSession() tool {
	return tool{
		def: mcp.NewTool("land_session",
			mcp.WithDescription(`Bring a session's work back into the user's repository as a new branch (clauderon/NAME unless branch is given): the agent's commits, plus what it left uncommitted as one more commit.
The user's checkout, index and working tree are not touched, and nothing the agent wrote is executed. An existing branch is only replaced with force.
This changes the user's repository, so the user confirms it: the server asks them when your client supports elicitation; otherwise ask them yourself and pass confirm: true.
A running session can still change its work: pass the tree from get_session_diff, and the land is refused if the work changed since.`),
			nameArg("The session's name."),
			mcp.WithString("branch", mcp.MaxLength(200), mcp.Description("Branch to create (default clauderon/NAME).")),
			mcp.WithBoolean("force", mcp.Description("Replace the branch if it exists.")),
			mcp.WithString("tree", mcp.Pattern(`^[0-9a-f]{7,64}$`),
				mcp.Description("The tree get_session_diff reported: land only if the work is still that. Required while the session runs.")),
			mcp.WithBoolean("confirm", mcp.Description("The user agreed to land this work. Needed when your client cannot ask the user itself (no elicitation).")),
			mcp.WithOutputSchema[LandOutput](),
			annotations("Land a session's work as a branch", false, true, false, false),
		),
		handle: t.handleLand,
	}
}

func (t *tools) handleLand(ctx context.Context, req mcp.CallToolRequest) (any, error) {
	var a landArgs
	if err := bind(req, &a); err != nil {
		return nil, err
	}
	if err := session.ValidateName(a.Name); err != nil {
		return nil, inputErr("name: %v", err)
	}
	s, err := t.c.Get(ctx, a.Name)
	if err != nil {
		return nil, err
	}
	if s.Workspace == nil {
		return nil, inputErr("session %s has no workspace (it was made without workdir), so there is nothing to land", a.Name)
	}
	if !s.Status.Terminal() && a.Tree == "" {
		return nil, inputErr("session %s is still %s and can change its work at any moment: call get_session_diff, review it, and pass its tree", a.Name, s.Status)
	}
	branch := a.Branch
	if branch == "" {
		branch = s.Workspace.Branch
	}
	// Checked before it is shown to the user in the question.
	if err := workspace.ValidateBranch(branch); err != nil {
		return nil, inputErr("branch: %v", err)
	}
	// A client that can ask the user always does: confirm: true is for
	// those that cannot, and the agent cannot answer for the user.
	if !a.Confirm || clientCanElicit(ctx) {
		question := fmt.Sprintf("Land the work of clauderon session %s as branch %s in %s?", a.Name, branch, s.Workspace.Source)
		if a.Force {
			question = fmt.Sprintf("Land the work of clauderon session %s as branch %s in %s, REPLACING that branch if it exists?", a.Name, branch, s.Workspace.Source)
		}
		ok, pending, err := t.confirm(ctx, req, visible(question))
		if err != nil {
			return nil, err
		}
		if pending != nil {
			return pending, nil
		}
		if !ok {
			return nil, fmt.Errorf("the user did not confirm landing session %s; nothing was changed", a.Name)
		}
	}
	b, err := t.c.Land(ctx, a.Name, api.Land{Branch: a.Branch, Force: a.Force, Tree: a.Tree})
	if err != nil {
		return nil, err
	}
	return LandOutput{Name: a.Name, Repository: b.Repository, Branch: b.Mark.Branch, Commit: b.Mark.Commit, Tree: b.Mark.Tree,
		Next: fmt.Sprintf("the user can look at it with `git -C %s log -p %s`; delete_session removes the session now that its work is landed", b.Repository, b.Mark.Branch)}, nil
}

// confirm asks the user to confirm message through elicitation. A client
// of protocol 2026-07-28 gets an input-required result (pending) and calls
// again with the answer; an older one is asked with a server-initiated
// request here. A client without elicitation gets an error asking for
// confirm: true.
func (t *tools) confirm(ctx context.Context, req mcp.CallToolRequest, message string) (ok bool, pending *mcp.CallToolResult, err error) {
	params := mcp.ElicitationParams{
		Message: message,
		RequestedSchema: map[string]any{
			"type": "object",
			"properties": map[string]any{
				"confirm": map[string]any{"type": "boolean", "title": "Land it", "description": "Create the branch in your repository."},
			},
			"required": []string{"confirm"},
		},
	}
	var res *mcp.ElicitationResult
	switch {
	case !clientCanElicit(ctx):
		return false, nil, inputErr("landing writes a branch into the user's repository and your client cannot ask them (no elicitation): ask the user, then call again with confirm: true")
	case server.IsModernRequest(ctx):
		res = server.ElicitationResponse(req.Params.InputResponses, confirmID)
		if res == nil {
			return false, server.NewInputRequestBuilder("").Elicit(confirmID, params).ToolResult(), nil
		}
	default:
		srv := server.ServerFromContext(ctx)
		if srv == nil {
			return false, nil, inputErr("cannot ask the user here: call again with confirm: true once they agreed")
		}
		res, err = srv.RequestElicitation(ctx, mcp.ElicitationRequest{Params: params})
		if err != nil {
			return false, nil, fmt.Errorf("could not ask the user to confirm (%v): ask them yourself, then call again with confirm: true", err)
		}
	}
	if res.Action != mcp.ElicitationResponseActionAccept {
		return false, nil, nil
	}
	content, _ := res.Content.(map[string]any)
	yes, _ := content["confirm"].(bool)
	return yes, nil, nil
}

// clientCanElicit reports whether the caller declared elicitation: per
// request from protocol 2026-07-28 on, at initialize before.
func clientCanElicit(ctx context.Context) bool {
	if info := server.RequestProtocolInfoFromContext(ctx); info != nil && info.Modern {
		return info.ClientCapabilities != nil && info.ClientCapabilities.Elicitation != nil
	}
	if s, ok := server.ClientSessionFromContext(ctx).(server.SessionWithClientInfo); ok {
		return s.GetClientCapabilities().Elicitation != nil
	}
	return false
}
