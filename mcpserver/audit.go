package mcpserver

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

// AuditOutput is get_audit's answer.
type AuditOutput struct {
	Name    string       `json:"name"`
	Entries []AuditEntry `json:"entries" jsonschema:"newest first"`
	Partial bool         `json:"partial,omitempty" jsonschema:"older lines may exist beyond what the daemon reads at once"`
}

// AuditEntry is one request the session made through the proxy.
type AuditEntry struct {
	Time         string `json:"time"`
	Host         string `json:"host" jsonschema:"host:port the session addressed"`
	Method       string `json:"method"`
	Path         string `json:"path,omitempty"`
	Status       int    `json:"status"`
	DurationMS   int64  `json:"duration_ms"`
	BytesIn      int64  `json:"bytes_in"`
	BytesOut     int64  `json:"bytes_out"`
	AuthInjected bool   `json:"auth_injected" jsonschema:"the proxy added the real credential to this request"`
	Intercepted  bool   `json:"intercepted" jsonschema:"the proxy read the request (Anthropic's API); otherwise a blind tunnel"`
	Error        string `json:"error,omitempty"`
}

func (t *tools) getAudit() tool {
	return tool{
		def: mcp.NewTool("get_audit",
			mcp.WithDescription("Show what a session did on the network: each request it made through clauderon's proxy (host, method, path, status, whether the credential was injected, refusals by its egress policy), newest first. No header or credential is recorded."),
			nameArg("The session's name (a deleted session's lines stay readable)."),
			mcp.WithInteger("limit", mcp.Min(1), mcp.Max(1000), mcp.DefaultNumber(50), mcp.Description("At most this many lines (default 50, at most 1000).")),
			mcp.WithOutputSchema[AuditOutput](),
			annotations("Show a session's network requests", true, false, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name  string `json:"name"`
				Limit int    `json:"limit"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			if err := session.ValidateName(a.Name); err != nil {
				return nil, inputErr("name: %v", err)
			}
			if a.Limit < 0 || a.Limit > 1000 {
				return nil, inputErr("limit %d is not from 1 to 1000", a.Limit)
			}
			au, err := t.c.Audit(ctx, a.Name, a.Limit)
			if err != nil {
				return nil, err
			}
			out := AuditOutput{Name: a.Name, Entries: []AuditEntry{}, Partial: au.Partial}
			for _, e := range au.Entries {
				out.Entries = append(out.Entries, AuditEntry{Time: e.Time.UTC().Format("2006-01-02T15:04:05.000Z07:00"), Host: e.Host, Method: e.Method, Path: e.Path,
					Status: e.Status, DurationMS: e.DurationMS, BytesIn: e.BytesIn, BytesOut: e.BytesOut,
					AuthInjected: e.AuthInjected, Intercepted: e.Intercepted, Error: e.Error})
			}
			return out, nil
		},
	}
}
