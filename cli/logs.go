package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/termsafe"
)

type logsFlags struct {
	follow, raw, json bool
}

func newLogsCmd() *cobra.Command {
	var f logsFlags
	cmd := &cobra.Command{
		Use:   "logs NAME [-f] [--raw | --json]",
		Short: "Print a session's output, safe to read on a terminal",
		Long: `Prints what a session's Claude Code wrote.

A print session's output is its conversation (Claude Code's stream-json),
shown as text: what the assistant said, each tool call with its input
summarised and the start of its result, and each turn's outcome with its
cost. --json prints the stream-json lines themselves, one JSON value a
line: a line that is not JSON (stderr) is given as
{"type":"clauderon_output","text":...}, and characters that could drive
a terminal are \u escapes. --raw prints the bytes as they were written.

An interactive session's output is what its TUI drew on a terminal. It is
shown as plain text: the terminal's escape sequences are taken out, so
nothing in it can query your terminal (and have the answer typed into your
shell), set its title or clipboard, or clear it. --raw prints the bytes as
they were written, to pipe or save them.

-f keeps printing as the session writes, until it ends.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), cmd.OutOrStdout(), args[0], f)
		},
	}
	cmd.Flags().BoolVarP(&f.follow, "follow", "f", false, "keep printing until the session exits")
	cmd.Flags().BoolVar(&f.raw, "raw", false, "print the output as it was written, escape sequences included (to pipe or save it)")
	cmd.Flags().BoolVar(&f.json, "json", false, "print a print session's stream-json lines, each line JSON (other output wrapped as clauderon_output)")
	return cmd
}

func runLogs(ctx context.Context, w io.Writer, name string, f logsFlags) error {
	var c client.Client
	s, err := c.Get(ctx, name)
	if err != nil {
		return err
	}
	if f.json && s.Mode != session.ModePrint {
		return fmt.Errorf("session %s is interactive: its output is a terminal's, not JSON; --raw prints its bytes", name)
	}
	rc, err := c.Logs(ctx, name, f.follow)
	if err != nil {
		return err
	}
	defer rc.Close()
	switch {
	case f.raw:
		_, err = io.Copy(w, rc)
	case f.json:
		err = copyJSONLines(w, rc)
	case s.Mode == session.ModePrint:
		err = renderConversation(w, rc, colorOn(w))
	default:
		tw := termsafe.NewTextWriter(w)
		_, err = io.Copy(tw, rc)
		if cerr := tw.Close(); err == nil {
			err = cerr
		}
	}
	if ctx.Err() != nil {
		return nil // interrupted -f
	}
	return err
}

// copyJSONLines copies a print session's output from r to w for --json:
// a line that is JSON as it is, with the characters that could drive a
// terminal (C1 controls, bidirectional overrides; a JSON string cannot
// hold C0 ones raw) as \u escapes, and any other line (Claude Code's or
// the gateway's stderr, which may hold anything) as a JSON object of type
// clauderon_output, so that every line is JSON and none can drive a
// terminal. Each is written as soon as it is whole.
func copyJSONLines(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	for {
		line, tooLong, err := readLine(br, maxRenderLine)
		var out []byte
		switch {
		case tooLong:
			out, _ = jsonLine(outputLine{Type: "clauderon_output", Text: fmt.Sprintf("(a line of more than %d MiB, not shown: clauderon logs --raw prints it)", maxRenderLine>>20)})
		case len(bytes.TrimSpace(line)) == 0:
		case json.Valid(line):
			out = append(jsonEscapeInvisible(bytes.ToValidUTF8(line, []byte("\uFFFD"))), '\n')
		default:
			out, _ = jsonLine(outputLine{Type: "clauderon_output", Text: string(line)})
		}
		if len(out) > 0 {
			if _, werr := w.Write(out); werr != nil {
				return werr
			}
		}
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
	}
}

// outputLine is a line of a print session's output that is not JSON.
type outputLine struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// jsonLine is v as one line of JSON, escaped as printJSON escapes it.
func jsonLine(v any) ([]byte, error) {
	var b bytes.Buffer
	if err := json.NewEncoder(&b).Encode(v); err != nil {
		return nil, err
	}
	return jsonEscapeInvisible(b.Bytes()), nil
}
