package cli

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

// Codes of errors the CLI finds itself, beside the LocalAPI's (api.Code*),
// in a --json error.
const (
	codeUsage       = "usage"              // a missing or extra argument, a bad flag
	codeUnreachable = "daemon_unreachable" // no daemon answers on the socket
	codeInterrupted = "interrupted"        // ctrl-c or SIGTERM
	codeError       = "error"              // anything else
)

// jsonError is how a command run with --json reports its failure, on
// stderr (stdout holds only a command's answer, so a script that parses it
// never meets an error there).
type jsonError struct {
	Error string `json:"error"`
	Code  string `json:"code"`
	// Usage holds the command's usage lines, for a usage error.
	Usage []string `json:"usage,omitempty"`
}

// errorCode names err's kind: the daemon's own code when the daemon
// answered with one.
func errorCode(err error) string {
	var ue *usageError
	var du *client.DaemonUnreachableError
	var ae *client.APIError
	switch {
	case errors.As(err, &ue):
		return codeUsage
	case errors.As(err, &du):
		return codeUnreachable
	case errors.As(err, &ae) && ae.Code != "":
		return ae.Code
	case errors.Is(err, context.Canceled):
		return codeInterrupted
	}
	return codeError
}

// printErrorJSON prints err as one line of JSON, escaped like every other
// JSON the CLI prints, so nothing in it can drive a terminal.
func printErrorJSON(w io.Writer, err error) {
	e := jsonError{Error: err.Error(), Code: errorCode(err)}
	var ue *usageError
	if errors.As(err, &ue) {
		e.Usage = ue.usage()
	}
	b, merr := json.Marshal(e)
	if merr != nil { // cannot happen for strings; say something all the same
		b = []byte(`{"error":"cannot encode the error","code":"error"}`)
	}
	w.Write(append(jsonEscapeInvisible(b), '\n'))
}

// wantsJSON reports whether the command line asked cmd for JSON: its
// --json flag was set, or, when its flags did not parse, is among args.
func wantsJSON(cmd *cobra.Command, args []string) bool {
	if cmd == nil {
		return false
	}
	f := cmd.Flags().Lookup("json")
	if f == nil {
		return false
	}
	if f.Changed {
		return f.Value.String() == "true"
	}
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "--json", "--json=true":
			return true
		}
	}
	return false
}
