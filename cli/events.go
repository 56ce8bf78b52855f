package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

func newEventsCmd() *cobra.Command {
	var asJSON, audit bool
	cmd := &cobra.Command{
		Use:   "events",
		Short: "Follow the daemon's events: a snapshot of every session, then each change",
		Long: `Follow the daemon's event stream (GET /api/v0/events): first a snapshot of
every session, then each session created, changed or removed, its activity and
usage, and with --audit every request its proxy carried. --json prints the
events as the daemon sends them, one JSON object a line. When the daemon drops
the stream because it was read too slowly (a resync event), events subscribes
again and starts with a fresh snapshot.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runEvents(cmd.Context(), &client.Client{}, cmd.OutOrStdout(), asJSON, audit)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print each event as a line of JSON")
	cmd.Flags().BoolVar(&audit, "audit", false, "also print the proxy's audit lines")
	return cmd
}

func runEvents(ctx context.Context, c *client.Client, w io.Writer, asJSON, audit bool) error {
	return follow(ctx, c, client.WatchOptions{Audit: audit}, func(e api.Event) error {
		if asJSON {
			b, err := json.Marshal(e)
			if err != nil {
				return err
			}
			_, err = w.Write(append(jsonEscapeInvisible(b), '\n'))
			return err
		}
		_, err := io.WriteString(w, eventLine(e))
		return err
	})
}

// follow calls fn with every event until ctx ends, subscribing again after
// a resync (so fn next sees a fresh snapshot). An interrupt is a clean end.
func follow(ctx context.Context, c *client.Client, o client.WatchOptions, fn func(api.Event) error) error {
	for {
		evs, err := c.Watch(ctx, o)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		err = func() error {
			defer evs.Close()
			for {
				e, err := evs.Next()
				if err != nil {
					return err
				}
				if err := fn(e); err != nil {
					return err
				}
				if e.Kind == api.EventResync {
					return nil
				}
			}
		}()
		switch {
		case ctx.Err() != nil:
			return nil
		case errors.Is(err, io.EOF):
			return errors.New("the clauderon daemon ended the event stream (it is shutting down); run the command again once it is back")
		case err != nil:
			return err
		}
	}
}

// eventLine is an event as one human line (several for a snapshot), every
// text from the daemon made printable.
func eventLine(e api.Event) string {
	head := fmt.Sprintf("%s #%d %-8s", e.Time.Local().Format("15:04:05"), e.Seq, e.Kind)
	switch e.Kind {
	case api.EventSnapshot:
		var b strings.Builder
		fmt.Fprintf(&b, "%s %d sessions\n", head, len(e.Sessions))
		for _, s := range e.Sessions {
			fmt.Fprintf(&b, "  %s %s\n", printable(s.Name), printable(statusText(s)))
		}
		return b.String()
	case api.EventCreated, api.EventChanged, api.EventRemoved:
		status := ""
		if e.Session != nil {
			status = statusText(*e.Session)
		}
		return fmt.Sprintf("%s %s %s\n", head, printable(e.Name), printable(status))
	case api.EventAudit:
		if a := e.Audit; a != nil {
			line := fmt.Sprintf("%s %s %s %s%s %d %dms", head, printable(e.Name), printable(a.Method), printable(a.Host), printable(a.Path), a.Status, a.DurationMS)
			if a.Error != "" {
				line += " " + printable(oneLine(a.Error, 80))
			}
			return line + "\n"
		}
	case api.EventResync:
		return fmt.Sprintf("%s %s; subscribing again\n", head, printable(e.Reason))
	}
	// activity, usage and kinds this CLI does not know: their JSON.
	var b bytes.Buffer
	for _, raw := range []json.RawMessage{e.Activity, e.Usage} {
		if len(raw) > 0 && json.Compact(&b, raw) == nil {
			b.WriteByte(' ')
		}
	}
	return fmt.Sprintf("%s %s %s\n", head, printable(e.Name), printable(strings.TrimSpace(b.String())))
}

// clearScreen moves the cursor home and clears the screen, so a terminal
// shows the latest list only.
const clearScreen = "\x1b[H\x1b[2J"

// runListWatch is list --watch: the list at the start and again at every
// change the event stream reports, read from the daemon (so the table is
// list's own, every column included). On a terminal each list replaces the
// last; piped, each is a new table after a line with its time, so a log of
// changes reads top to bottom.
func runListWatch(ctx context.Context, c *client.Client, w io.Writer, asJSON bool) error {
	if asJSON {
		return errors.New("list --watch prints tables; for a stream of JSON use: clauderon events --json")
	}
	tty := isTerminal(w)
	first := true
	return follow(ctx, c, client.WatchOptions{}, func(e api.Event) error {
		if e.Kind == api.EventResync {
			return nil // the snapshot that follows redraws
		}
		l, err := c.List(ctx)
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if tty {
			b.WriteString(clearScreen)
		} else if !first {
			fmt.Fprintf(&b, "\n-- %s (#%d %s %s)\n", time.Now().Format("15:04:05"), e.Seq, e.Kind, printable(e.Name))
		}
		if err := renderList(&b, l, time.Now(), colorOn(w)); err != nil {
			return err
		}
		first = false
		_, err = w.Write(b.Bytes())
		return err
	})
}
