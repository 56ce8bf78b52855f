package cli

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
)

func newResultCmd() *cobra.Command {
	var wait, asJSON bool
	cmd := &cobra.Command{
		Use:   "result NAME",
		Short: "Print a print session's result: its answer, cost, turns and duration",
		Long: `result prints the answer of a print session's last turn on stdout, and its
cost, turns and duration on stderr; --json prints them together. A session
still running is refused unless --wait. The exit code is 1 when Claude Code
reported an error, and the container's when it exited non-zero.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runResult(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), args[0], wait, asJSON)
		},
	}
	cmd.Flags().BoolVar(&wait, "wait", false, "wait for a running session to finish")
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the result as JSON")
	return cmd
}

// resultJSON is `result --json`'s answer.
type resultJSON struct {
	Name       string  `json:"name"`
	Status     string  `json:"status"`
	ExitCode   *int    `json:"exit_code,omitempty"`
	Turns      int     `json:"turns,omitempty"`
	Text       string  `json:"text"`
	IsError    bool    `json:"is_error"`
	CostUSD    float64 `json:"cost_usd"`
	NumTurns   int     `json:"num_turns"`
	DurationMS int64   `json:"duration_ms"`
	// Usage is what the proxy counted of its Messages requests.
	Usage *api.Usage `json:"usage,omitempty"`
}

func runResult(ctx context.Context, stdout, stderr io.Writer, name string, wait, asJSON bool) error {
	if err := session.ValidateName(name); err != nil {
		return err
	}
	var c client.Client
	s, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if s.Mode != session.ModePrint {
		return fmt.Errorf("session %s is interactive and has no result: attach to it (clauderon attach %s) or read its output (clauderon logs %s)", name, name, name)
	}
	if !s.Status.Terminal() {
		if !wait {
			return fmt.Errorf("session %s is still %s: wait for it with clauderon result --wait %s, or follow it with clauderon logs -f %s", name, s.Status, name, name)
		}
		if s, err = waitFor(ctx, &c, stderr, name, asJSON); err != nil {
			return err
		}
	}
	if s.Result == nil {
		if s.Status == session.StatusDeleted {
			return fmt.Errorf("session %s was removed before it finished", name)
		}
		return fmt.Errorf("session %s (%s) produced no result; its output may say why: clauderon logs %s", name, printable(statusText(s)), name)
	}
	if asJSON {
		r := s.Result
		if err := printJSON(stdout, resultJSON{Name: s.Name, Status: string(s.Status), ExitCode: s.ExitCode, Turns: s.Turns,
			Text: r.Text, IsError: r.IsError, CostUSD: r.CostUSD, NumTurns: r.NumTurns, DurationMS: r.DurationMS, Usage: s.Usage}); err != nil {
			return err
		}
		return exitFor(s)
	}
	err = reportFinished(stdout, stderr, s, false)
	printUsage(stderr, s.Name, s.Usage)
	return err
}

// exitFor is the exit status a finished session's result gives.
func exitFor(s api.Session) error {
	switch {
	case s.Result != nil && s.Result.IsError:
		return exitError{code: 1}
	case s.ExitCode != nil && *s.ExitCode != 0:
		return exitError{code: *s.ExitCode}
	}
	return nil
}

// waitFor waits for session name to finish. On a terminal (and not under
// --json) it shows what it waits for and the time elapsed, on one line it
// rewrites and clears at the end; piped, it prints nothing extra.
func waitFor(ctx context.Context, c *client.Client, stderr io.Writer, name string, quiet bool) (api.Session, error) {
	if quiet || !isTerminal(stderr) {
		s, err := c.Wait(ctx, name)
		return s, waitErr(ctx, stderr, name, err)
	}
	type answer struct {
		s   api.Session
		err error
	}
	done := make(chan answer, 1)
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		s, err := c.Wait(wctx, name)
		done <- answer{s, err}
	}()
	start := time.Now()
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	status := "running"
	show := func() {
		fmt.Fprintf(stderr, "\r\x1b[Kwaiting for %s: %s, %s", name, status, time.Since(start).Truncate(time.Second))
	}
	show()
	for {
		select {
		case a := <-done:
			fmt.Fprint(stderr, "\r\x1b[K")
			return a.s, waitErr(ctx, stderr, name, a.err)
		case <-tick.C:
			if s, err := c.Get(ctx, name); err == nil {
				status = string(s.Status)
			}
			show()
		}
	}
}

// waitErr says what an interrupted wait leaves behind.
func waitErr(ctx context.Context, stderr io.Writer, name string, err error) error {
	if err != nil && ctx.Err() != nil {
		fmt.Fprintf(stderr, "stopped waiting; session %s keeps running (clauderon logs -f %s, clauderon result --wait %s)\n", name, name, name)
	}
	return err
}
