package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newStopCmd() *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "stop NAME...",
		Short: "Stop sessions (their containers stay until rm)",
		Long: `Stops each named session's container and keeps it (and the session) until
rm. Every name is tried even when one fails; the exit code is 1 if any did.`,
		Args: cobra.MinimumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runStop(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the stopped sessions and errors as JSON")
	return cmd
}

// batchResult is the --json answer of commands that act on several
// sessions: stop's {"sessions": […], "errors": …} or, when Removed is set,
// rm's {"removed": […], "errors": …}. The list is there even when empty.
type batchResult struct {
	Sessions []session.Session
	Removed  []string
	Errors   map[string]string
}

func (r batchResult) MarshalJSON() ([]byte, error) {
	if r.Removed != nil {
		return json.Marshal(struct {
			Removed []string          `json:"removed"`
			Errors  map[string]string `json:"errors,omitempty"`
		}{r.Removed, r.Errors})
	}
	if r.Sessions == nil {
		r.Sessions = []session.Session{}
	}
	return json.Marshal(struct {
		Sessions []session.Session `json:"sessions"`
		Errors   map[string]string `json:"errors,omitempty"`
	}{r.Sessions, r.Errors})
}

func runStop(ctx context.Context, w, ew io.Writer, names []string, asJSON bool) error {
	var c client.Client
	res := batchResult{Sessions: []session.Session{}}
	err := forEach(names, &res, ew, asJSON, func(n string) error {
		s, err := c.Stop(ctx, n)
		if err != nil {
			return err
		}
		res.Sessions = append(res.Sessions, s)
		if !asJSON {
			fmt.Fprintf(w, "%s: %s\n", s.Name, printable(statusText(s)))
		}
		return nil
	})
	if asJSON {
		if perr := printJSON(w, res); perr != nil {
			return perr
		}
	}
	return err
}

// forEach runs f for every name, reporting each failure (on ew, or in res
// for --json) and going on; it fails if any did. A daemon that cannot be
// reached stops the loop: every other name would fail the same way.
func forEach(names []string, res *batchResult, ew io.Writer, asJSON bool, f func(string) error) error {
	failed := 0
	for _, n := range names {
		err := f(n)
		if err == nil {
			continue
		}
		var unreachable *client.DaemonUnreachableError
		if errors.As(err, &unreachable) || errors.Is(err, client.ErrUnavailable) {
			return err
		}
		failed++
		if asJSON {
			if res.Errors == nil {
				res.Errors = map[string]string{}
			}
			res.Errors[n] = err.Error()
		} else {
			fmt.Fprintf(ew, "%s: %s\n", visiblePath(n), visible(err.Error()))
		}
	}
	if failed > 0 {
		return exitError{code: 1}
	}
	return nil
}
