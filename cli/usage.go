package cli

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
)

// usageError is a command line that does not fit the command: a missing or
// extra argument, an unknown flag or command. It is printed with the
// command's usage line and exits 2.
type usageError struct {
	cmd *cobra.Command
	err error
}

func (e *usageError) Error() string { return e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

// usage is the command's usage lines: how to call it, and how to call its
// subcommands when it has any.
func (e *usageError) usage() []string {
	var lines []string
	if e.cmd.Runnable() {
		lines = append(lines, e.cmd.UseLine())
	}
	if e.cmd.HasAvailableSubCommands() {
		lines = append(lines, e.cmd.CommandPath()+" COMMAND")
	}
	return lines
}

// hint names the help that says more.
func (e *usageError) hint() string {
	return fmt.Sprintf("run '%s --help' for more", e.cmd.CommandPath())
}

func (e *usageError) print(w io.Writer) {
	fmt.Fprintf(w, "usage: %s\n%s\n", strings.Join(e.usage(), "\n       "), e.hint())
}

// markUsageErrors makes every argument and flag error of the tree below c
// a usageError, so Main prints the usage line with it.
func markUsageErrors(c *cobra.Command) {
	c.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return &usageError{cmd: cmd, err: err}
	})
	var walk func(*cobra.Command)
	walk = func(c *cobra.Command) {
		if check := c.Args; check != nil {
			c.Args = func(cmd *cobra.Command, args []string) error {
				if err := check(cmd, args); err != nil {
					return &usageError{cmd: cmd, err: err}
				}
				return nil
			}
		}
		for _, k := range c.Commands() {
			walk(k)
		}
	}
	walk(c)
}
