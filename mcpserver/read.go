package mcpserver

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/clauderon/clauderon/session"
)

// ListOutput is list_sessions' answer.
type ListOutput struct {
	Sessions []SessionView `json:"sessions"`
}

func (t *tools) listSessions() tool {
	return tool{
		def: mcp.NewTool("list_sessions",
			mcp.WithDescription("List clauderon's sessions, newest first, with their status, result and unlanded work. Filter by status to find the ones still running or those with work to review."),
			mcp.WithString("status", mcp.Enum("creating", "running", "exited", "stopped", "failed"),
				mcp.Description("Only sessions in this status.")),
			mcp.WithOutputSchema[ListOutput](),
			annotations("List sessions", true, false, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Status string `json:"status"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			l, err := t.c.List(ctx)
			if err != nil {
				return nil, err
			}
			out := ListOutput{Sessions: []SessionView{}}
			for i := len(l.Sessions) - 1; i >= 0; i-- {
				s := l.Sessions[i]
				if a.Status == "" || string(s.Status) == a.Status {
					out.Sessions = append(out.Sessions, viewOf(s))
				}
			}
			return out, nil
		},
	}
}

// Bounds of get_session's output tail.
const (
	defaultTailLines = 20
	maxTailLines     = 200
	// maxTailLine cuts a line of the tail; get_session_output has it whole.
	maxTailLine = 2000
)

// GetOutput is get_session's answer.
type GetOutput struct {
	Session    SessionView `json:"session"`
	OutputTail []string    `json:"output_tail" jsonschema:"the last lines of the session's output (stream-json in print mode)"`
	Next       string      `json:"next"`
}

func (t *tools) getSession() tool {
	return tool{
		def: mcp.NewTool("get_session",
			mcp.WithDescription("Get one session: its status, exit code, result (a print session's answer), how much of its work is not landed yet, and the last lines of its output. Poll this after create_session timed out."),
			nameArg("The session's name (from create_session or list_sessions)."),
			mcp.WithInteger("output_lines", mcp.Min(0), mcp.Max(maxTailLines), mcp.DefaultNumber(defaultTailLines),
				mcp.Description(fmt.Sprintf("How many of the last output lines to include (default %d, at most %d; 0 for none).", defaultTailLines, maxTailLines))),
			mcp.WithOutputSchema[GetOutput](),
			annotations("Get a session", true, false, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name        string `json:"name"`
				OutputLines *int   `json:"output_lines"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			n := defaultTailLines
			if a.OutputLines != nil {
				n = *a.OutputLines
			}
			if n < 0 || n > maxTailLines {
				return nil, inputErr("output_lines %d is not from 0 to %d", n, maxTailLines)
			}
			s, err := t.sessionWithChanges(ctx, a.Name)
			if err != nil {
				return nil, err
			}
			out := GetOutput{Session: viewOf(s), OutputTail: []string{}, Next: next(s)}
			if n > 0 && s.ContainerID != "" {
				if out.OutputTail, err = t.tail(ctx, a.Name, n); err != nil {
					return nil, err
				}
			}
			return out, nil
		},
	}
}

// sessionWithChanges is one session with its unlanded-work summary, which
// the daemon computes for listings.
func (t *tools) sessionWithChanges(ctx context.Context, name string) (session.Session, error) {
	if err := session.ValidateName(name); err != nil {
		return session.Session{}, inputErr("name: %v", err)
	}
	l, err := t.c.List(ctx)
	if err != nil {
		return session.Session{}, err
	}
	for _, s := range l.Sessions {
		if s.Name == name {
			return s, nil
		}
	}
	return t.c.Get(ctx, name) // the daemon's own not-found answer
}

// tail returns the last n lines of a session's output, each cut to
// maxTailLine, holding no more than n lines at a time.
func (t *tools) tail(ctx context.Context, name string, n int) ([]string, error) {
	rc, err := t.c.Logs(ctx, name, false)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	ring := make([]string, 0, n)
	br := bufio.NewReaderSize(rc, 64<<10)
	for {
		line, err := readLine(br, maxTailLine)
		if line != "" || err == nil {
			if len(ring) == n {
				ring = append(ring[:0], ring[1:]...)
			}
			ring = append(ring, line)
		}
		if err == io.EOF {
			return ring, nil
		}
		if err != nil {
			return nil, err
		}
	}
}

// readLine reads one line (without its newline), keeping at most max bytes
// of it and marking a cut.
func readLine(br *bufio.Reader, limit int) (string, error) {
	var b strings.Builder
	cut := false
	for {
		frag, err := br.ReadSlice('\n')
		room := limit - b.Len()
		if len(bytes.TrimSuffix(frag, []byte("\n"))) > room {
			cut = true
		}
		b.Write(frag[:min(len(frag), max(room, 0))])
		if err == bufio.ErrBufferFull {
			continue
		}
		s := strings.TrimSuffix(strings.TrimSuffix(b.String(), "\n"), "\r")
		if cut {
			s = strings.ToValidUTF8(s, "") + "…[cut]"
		}
		return s, err
	}
}

// Bounds of get_session_output's pages.
const (
	defaultPageBytes = 64 << 10
	maxPageBytes     = 1 << 20
)

// OutputPage is get_session_output's answer.
type OutputPage struct {
	Name       string `json:"name"`
	Output     string `json:"output" jsonschema:"this page of the output; control characters are shown as escapes such as \\x1b"`
	Offset     int64  `json:"offset" jsonschema:"the byte offset of this page in the whole output"`
	NextCursor string `json:"next_cursor,omitempty" jsonschema:"pass it as cursor for the next page; absent at the end"`
	Running    bool   `json:"running" jsonschema:"the session still runs, so more output may come"`
}

func (t *tools) getSessionOutput() tool {
	return tool{
		def: mcp.NewTool("get_session_output",
			mcp.WithDescription("Read a session's output (what Claude Code printed; stream-json lines in print mode), a page at a time. Follow next_cursor until it is absent; a running session's output can grow, so ask again later with the last cursor."),
			nameArg("The session's name."),
			cursorArg(),
			maxBytesArg(defaultPageBytes, maxPageBytes),
			mcp.WithOutputSchema[OutputPage](),
			annotations("Read a session's output", true, false, true, false),
		),
		handle: func(ctx context.Context, req mcp.CallToolRequest) (any, error) {
			var a struct {
				Name     string `json:"name"`
				Cursor   string `json:"cursor"`
				MaxBytes int    `json:"max_bytes"`
			}
			if err := bind(req, &a); err != nil {
				return nil, err
			}
			if err := session.ValidateName(a.Name); err != nil {
				return nil, inputErr("name: %v", err)
			}
			max, err := pageSize(a.MaxBytes)
			if err != nil {
				return nil, err
			}
			off, err := decodeCursor(a.Cursor, a.Name)
			if err != nil {
				return nil, err
			}
			s, err := t.c.Get(ctx, a.Name)
			if err != nil {
				return nil, err
			}
			page := OutputPage{Name: a.Name, Offset: off, Running: !s.Status.Terminal()}
			if s.ContainerID == "" {
				return page, nil
			}
			rc, err := t.c.Logs(ctx, a.Name, false)
			if err != nil {
				return nil, err
			}
			defer rc.Close()
			text, more, err := readPage(rc, off, max)
			if err != nil {
				return nil, err
			}
			page.Output = text
			if more || page.Running {
				page.NextCursor = encodeCursor(a.Name, off+int64(len(text)))
			}
			return page, nil
		},
	}
}

func pageSize(n int) (int, error) {
	switch {
	case n == 0:
		return defaultPageBytes, nil
	case n < 1024 || n > maxPageBytes:
		return 0, inputErr("max_bytes %d is not from 1024 to %d", n, maxPageBytes)
	}
	return n, nil
}

// readPage skips off bytes of r and returns up to max of the rest, ending
// at a line's end when one is in the page (and at a character's boundary),
// and whether more follows.
func readPage(r io.Reader, off int64, max int) (string, bool, error) {
	if _, err := io.CopyN(io.Discard, r, off); err != nil {
		if err == io.EOF {
			return "", false, nil
		}
		return "", false, err
	}
	buf := make([]byte, max+1)
	n, err := io.ReadFull(r, buf)
	if err != nil && err != io.EOF && err != io.ErrUnexpectedEOF {
		return "", false, err
	}
	more := n > max
	b := buf[:min(n, max)]
	if more {
		if i := strings.LastIndexByte(string(b), '\n'); i >= 0 {
			b = b[:i+1]
		} else {
			for len(b) > 0 && b[len(b)-1]&0xC0 == 0x80 {
				b = b[:len(b)-1]
			}
			if len(b) > 0 && b[len(b)-1] >= 0xC0 {
				b = b[:len(b)-1]
			}
		}
	}
	return string(b), more, nil
}
