package mcpserver

import (
	"context"
	"errors"
	"fmt"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// errInput is a bad argument; its message says which and what to send.
var errInput = errors.New("invalid argument")

func inputErr(format string, args ...any) error {
	return fmt.Errorf("%w: %s", errInput, fmt.Sprintf(format, args...))
}

// explain is the one place an error becomes the text of a tool error: what
// went wrong and what the caller should change. Its text is escaped, since
// a daemon's message can quote what a container wrote.
func explain(ctx context.Context, err error) string {
	var du *client.DaemonUnreachableError
	var ae *client.APIError
	msg := err.Error()
	switch {
	case errors.Is(err, errInput):
		msg = err.Error() + " (see the tool's input schema)"
	case errors.As(err, &du):
		msg = fmt.Sprintf("the clauderon daemon is not running (nothing answers at %s): start it with `clauderon daemon`, or restart this MCP server, which starts one; sessions survive a daemon restart", du.Socket)
	case errors.Is(err, context.DeadlineExceeded):
		msg = "the daemon did not answer in time: " + msg + "; try again, or check it with `clauderon doctor`"
	case ctx.Err() != nil || errors.Is(err, context.Canceled):
		msg = "the request was cancelled: " + msg
	case errors.As(err, &ae):
		msg = ae.Message + hint(ae)
	}
	return visible(msg)
}

// hint adds what to do to a daemon's error answer, by its code.
func hint(ae *client.APIError) string {
	switch ae.Code {
	case api.CodeNotFound:
		return " (list_sessions shows the sessions there are)"
	case api.CodeNoCredential:
		return " (the user must store a token on the host first: `clauderon token set`; no session can reach Anthropic's API until then)"
	case api.CodeExists:
		return " (pick another name, or leave name out to have one made)"
	case api.CodeUnlanded:
		return " (land it with land_session first, or pass discard: true to delete the work)"
	case api.CodeEngine:
		return " (the container engine is down: the user must start Docker; `clauderon doctor` says more)"
	case api.CodeUnavailable:
		return " (try again in a moment)"
	}
	return ""
}
