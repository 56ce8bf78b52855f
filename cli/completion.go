package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
)

func newCompletionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "completion bash|zsh|fish",
		Short: "Print the shell completion script for bash, zsh or fish",
		Long: `Prints a script that completes clauderon's commands, flags and, from the
running daemon, session names. Load it in your shell:

  bash:  source <(clauderon completion bash)            # in ~/.bashrc; needs bash-completion
  zsh:   clauderon completion zsh > "${fpath[1]}/_clauderon"   # then restart zsh (compinit)
  fish:  clauderon completion fish > ~/.config/fish/completions/clauderon.fish

With no daemon running, session names are simply not offered.`,
		Args:      cobra.MatchAll(cobra.ExactArgs(1), cobra.OnlyValidArgs),
		ValidArgs: []string{"bash", "zsh", "fish"},
		RunE: func(cmd *cobra.Command, args []string) error {
			root, w := cmd.Root(), cmd.OutOrStdout()
			switch args[0] {
			case "bash":
				return root.GenBashCompletionV2(w, true)
			case "zsh":
				return root.GenZshCompletion(w)
			case "fish":
				return root.GenFishCompletion(w, true)
			}
			return fmt.Errorf("no completion for shell %q", args[0]) // OnlyValidArgs refused it already
		},
	}
}

// completeArgs gives every command below root that takes arguments a
// completion of them, read from its Use line, so a command added later is
// covered without a word of its own: NAME completes the daemon's session
// names, a list like open|balanced|locked its words, and any other
// argument (a PROMPT, a HOST) nothing, not even file names. A command
// with a completion of its own keeps it.
func completeArgs(root *cobra.Command) {
	for _, c := range root.Commands() {
		completeArgs(c)
		words := positionals(c.Use)
		if len(words) == 0 || c.ValidArgsFunction != nil || len(c.ValidArgs) > 0 {
			continue
		}
		c.ValidArgsFunction = func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			w, ok := argWord(words, len(args))
			switch {
			case !ok:
			case w == "NAME":
				return sessionNames(cmd.Context(), args, toComplete), cobra.ShellCompDirectiveNoFileComp
			case strings.Contains(w, "|") && !cmd.HasSubCommands(): // a parent's list names its subcommands
				var out []cobra.Completion
				for _, choice := range strings.Split(w, "|") {
					if strings.HasPrefix(choice, toComplete) {
						out = append(out, choice)
					}
				}
				return out, cobra.ShellCompDirectiveNoFileComp
			}
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
	}
}

// positionals are the arguments a Use line names before its first flag or
// option: "land NAME [--branch B]" gives [NAME], "rm NAME..." [NAME...].
func positionals(use string) []string {
	f := strings.Fields(use)
	if len(f) < 2 {
		return nil
	}
	var out []string
	for _, w := range f[1:] {
		if strings.HasPrefix(w, "-") || strings.HasPrefix(w, "[") {
			break
		}
		out = append(out, w)
	}
	return out
}

// argWord is the Use line's word for argument i (from 0); a last word
// ending in "..." (or "…") stands for every argument from there on.
func argWord(words []string, i int) (string, bool) {
	if i < len(words) {
		return trimEllipsis(words[i]), true
	}
	if last := words[len(words)-1]; last != trimEllipsis(last) {
		return trimEllipsis(last), true
	}
	return "", false
}

func trimEllipsis(w string) string {
	return strings.TrimSuffix(strings.TrimSuffix(w, "..."), "…")
}

// sessionNames are the daemon's sessions whose name starts with prefix,
// less those already on the command line, each with its status. No daemon,
// or a slow one, gives none: a completion must not print errors into the
// user's command line or hang the shell.
func sessionNames(ctx context.Context, given []string, prefix string) []cobra.Completion {
	if ctx == nil {
		ctx = context.Background()
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	var c client.Client
	l, err := c.List(ctx)
	if err != nil {
		return nil
	}
	var out []cobra.Completion
	for _, s := range l.Sessions {
		if strings.HasPrefix(s.Name, prefix) && !slices.Contains(given, s.Name) {
			out = append(out, cobra.CompletionWithDesc(printable(s.Name), oneLine(statusText(s), 40)))
		}
	}
	return out
}
