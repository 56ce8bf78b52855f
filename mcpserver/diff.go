package mcpserver

import (
	"context"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

// maxDiffScan bounds the patch text the daemon builds for one page: the
// cursor's offset plus the page.
const maxDiffScan = 64 << 20

// FileChange is one changed file of a diff.
type FileChange struct {
	Path      string `json:"path"`
	OldPath   string `json:"old_path,omitempty"`
	Status    string `json:"status" jsonschema:"added, modified, deleted or renamed"`
	Binary    bool   `json:"binary,omitempty"`
	Additions int    `json:"additions"`
	Deletions int    `json:"deletions"`
}

// DiffOutput is get_session_diff's answer.
type DiffOutput struct {
	Name        string       `json:"name"`
	Tree        string       `json:"tree" jsonschema:"the work's tree: pass it to land_session as tree, so that only what you reviewed is landed"`
	Commits     int          `json:"commits" jsonschema:"commits the agent made on top of the starting point"`
	Uncommitted bool         `json:"uncommitted" jsonschema:"the agent left changes it did not commit (land_session commits them)"`
	Files       []FileChange `json:"files"`
	Additions   int          `json:"additions"`
	Deletions   int          `json:"deletions"`
	Patch       string       `json:"patch,omitempty" jsonschema:"with format full: this page of the unified diff, control characters escaped"`
	Offset      int64        `json:"offset,omitempty"`
	NextCursor  string       `json:"next_cursor,omitempty" jsonschema:"pass it as cursor for the rest of the patch"`
}

func (t *tools) getSessionDiff() tool {
	return tool{
		def: mcp.NewTool("get_session_diff",
			mcp.WithDescription(`Show the work in a session's workspace since it started: its commits and uncommitted changes as one set of file changes.
format stat (default) lists the files and line counts; full adds the unified diff, a page at a time (follow next_cursor).
Nothing in the workspace is executed to compute it. Its tree is what land_session needs to land a running session.`),
			nameArg("The session's name."),
			mcp.WithString("format", mcp.Enum("stat", "full"), mcp.DefaultString("stat"),
				mcp.Description("stat: files and counts only; full: with the patch text.")),
			cursorArg(),
			maxBytesArg(defaultPageBytes, maxPageBytes),
			mcp.WithOutputSchema[DiffOutput](),
			annotations("Review a session's work", true, false, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name     string `json:"name"`
				Format   string `json:"format"`
				Cursor   string `json:"cursor"`
				MaxBytes int    `json:"max_bytes"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			if err := session.ValidateName(a.Name); err != nil {
				return nil, inputErr("name: %v", err)
			}
			full := false
			switch a.Format {
			case "", "stat":
			case "full":
				full = true
			default:
				return nil, inputErr("format %q is not valid: use stat or full", a.Format)
			}
			max, err := pageSize(a.MaxBytes)
			if err != nil {
				return nil, err
			}
			off, err := decodeCursor(a.Cursor, a.Name)
			if err != nil {
				return nil, err
			}
			if off > maxDiffScan-int64(max) {
				return nil, inputErr("the diff is too large to page past %d MiB here: review it with `clauderon diff %s` on the host", maxDiffScan>>20, a.Name)
			}
			d, err := t.c.Diff(ctx, a.Name, full, int(off)+max+1)
			if err != nil {
				return nil, err
			}
			out := DiffOutput{Name: a.Name, Tree: d.Tree, Commits: d.Commits, Uncommitted: d.Uncommitted,
				Files: []FileChange{}, Additions: d.Additions, Deletions: d.Deletions}
			var patch strings.Builder
			for _, f := range d.Files {
				out.Files = append(out.Files, FileChange{Path: f.Path, OldPath: f.OldPath, Status: f.Status, Binary: f.Binary,
					Additions: f.Additions, Deletions: f.Deletions})
				patch.WriteString(f.Patch)
			}
			if !full {
				return out, nil
			}
			text, more, err := readPage(strings.NewReader(patch.String()), off, max)
			if err != nil {
				return nil, err
			}
			out.Patch, out.Offset = text, off
			if more || d.Truncated && off+int64(len(text)) < int64(patch.Len()) {
				out.NextCursor = encodeCursor(a.Name, off+int64(len(text)))
			}
			return out, nil
		},
	}
}
