package mcpserver

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
)

// sessionURIPrefix names sessions as resources: clauderon://sessions/NAME.
const sessionURIPrefix = "clauderon://sessions/"

func sessionResource() mcp.ResourceTemplate {
	return mcp.NewResourceTemplate(sessionURIPrefix+"{name}", "session",
		mcp.WithTemplateDescription("A clauderon session as JSON: status, result, exit code and unlanded work (what get_session returns, without output). Subscribe to it to be notified when it is created, changes, reports activity or usage, or is removed."),
		mcp.WithTemplateMIMEType("application/json"),
	)
}

// readSessionResource answers resources/read of a session. A resource has
// no tool error, so a failure is an error answer; its text is explained.
func (t *tools) readSessionResource(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	name := strings.TrimPrefix(req.Params.URI, sessionURIPrefix)
	s, err := t.sessionWithChanges(ctx, name)
	if err != nil {
		return nil, resourceError(explain(ctx, err))
	}
	_, text, err := structure(viewOf(s))
	if err != nil {
		return nil, err
	}
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "application/json", Text: text}}, nil
}

type resourceError string

func (e resourceError) Error() string { return string(e) }
