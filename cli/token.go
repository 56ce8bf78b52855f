package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/secret"
)

// keyringServiceEnv overrides the keychain service clauderon's entries live
// under (tests use their own so they never touch a user's entries).
const keyringServiceEnv = "CLAUDERON_KEYRING_SERVICE"

// keyringService is the one place the service is read: the daemon, exec and
// the token commands all use it. "" means secret.DefaultService.
func keyringService() string { return os.Getenv(keyringServiceEnv) }

func serviceName() string {
	if s := keyringService(); s != "" {
		return s
	}
	return secret.DefaultService
}

// maxTokenInput bounds what `token set` reads from stdin.
const maxTokenInput = 64 << 10

var errTokenArgv = errors.New("`clauderon token set` does not take the token as an argument: " +
	"a command line is visible to every user of this machine (ps, /proc) and is kept in your shell history. " +
	"Pipe it in instead (e.g. `pbpaste | clauderon token set`, or `clauderon token set < file`), " +
	"or run `clauderon token set` alone and paste it at the prompt, which does not echo. " +
	"If that was a real token, it is now in your shell history: revoke it and create another with `claude setup-token`")

const tokenHelp = `Manages the credentials the proxy injects, stored in the OS keychain (the
Secret Service on Linux, Keychain on macOS, Credential Manager on Windows)
under the service "clauderon" ($CLAUDERON_KEYRING_SERVICE overrides it).

CLAUDE_CODE_OAUTH_TOKEN, then ANTHROPIC_API_KEY, in the daemon's environment
override the keychain. When a daemon runs, these commands go through it (and
show what the daemon sees); otherwise they use the keychain directly (and
show what this shell's environment would give ` + "`clauderon exec`" + ` or a daemon
started from it).

A token is never accepted on the command line, never printed, and never
written to a file: only a fingerprint (its last 4 characters) is shown.`

// noArgs refuses positional arguments without repeating them: one may be a
// token typed in the wrong place.
func noArgs(cmd *cobra.Command, args []string) error {
	if len(args) > 0 {
		return fmt.Errorf("`%s` takes no arguments (see --help)", cmd.CommandPath())
	}
	return nil
}

func newTokenCmd() *cobra.Command {
	var name string
	cmd := &cobra.Command{
		Use:   "token set|status|rm",
		Short: "Store, inspect or remove the Anthropic credential in the OS keychain",
		Long:  tokenHelp,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return errors.New("`clauderon token` needs a subcommand: set, status or rm (a token is never taken as an argument; pipe it to `clauderon token set`)")
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.PersistentFlags().StringVar(&name, "name", secret.Anthropic, "credential name (known: "+strings.Join(secret.Names(), ", ")+")")

	set := &cobra.Command{
		Use:   "set",
		Short: "Store a token (from `claude setup-token`) read from stdin or a hidden prompt",
		Long: `Reads a token from stdin when stdin is not a terminal, otherwise from a
prompt that does not echo, checks it and stores it in the OS keychain.
Accepted: sk-ant-oat01-… (an OAuth token from ` + "`claude setup-token`" + `) or
sk-ant-api… (an API key). Surrounding whitespace and newlines are removed.

The token is never taken from the command line, where ps and your shell
history would keep it.

Examples:
  clauderon token set                  # paste at the hidden prompt
  pbpaste | clauderon token set
  clauderon token set < token.txt`,
		Args: func(_ *cobra.Command, args []string) error {
			if len(args) > 0 {
				return errTokenArgv
			}
			return nil
		},
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenSet(cmd.Context(), cmd.InOrStdin(), cmd.OutOrStdout(), cmd.ErrOrStderr(), name)
		},
	}
	var asJSON bool
	status := &cobra.Command{
		Use:   "status",
		Short: "Show the credential's kind, origin and fingerprint, never the credential",
		Long: `Shows whether a credential is configured, its kind (oauth or api-key), where
it comes from (keychain or environment), its fingerprint (last 4 characters)
and whether the environment shadows the keychain. Exits 1 when no usable
credential is configured.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenStatus(cmd.Context(), cmd.OutOrStdout(), name, asJSON)
		},
	}
	status.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	rm := &cobra.Command{
		Use:     "rm",
		Aliases: []string{"delete"},
		Short:   "Remove the credential from the OS keychain",
		Long: `Removes the credential from the OS keychain. A variable in the environment
is not affected; status shows whether one still provides a credential.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runTokenRm(cmd.Context(), cmd.OutOrStdout(), cmd.ErrOrStderr(), name)
		},
	}
	cmd.AddCommand(set, status, rm)
	return cmd
}

func checkName(name string) error {
	if err := secret.CheckName(name); err != nil {
		return fmt.Errorf("--name: %w", err)
	}
	return nil
}

// tokens reaches the credential store: the running daemon's, or, when no
// daemon answers, the keychain directly from this process.
type tokens struct {
	c     *client.Client
	pid   int           // the daemon's; 0 when local
	store *secret.Store // when local
}

func openTokens(ctx context.Context) (*tokens, error) {
	c := &client.Client{}
	st, err := c.Status(ctx)
	var du *client.DaemonUnreachableError
	switch {
	case err == nil:
		return &tokens{c: c, pid: st.PID}, nil
	case errors.As(err, &du):
		return &tokens{store: secret.NewStoreFor(keyringService(), secret.HolderShell)}, nil
	}
	return nil, err
}

// seenBy says whose environment and keychain the answer reflects.
func (t *tokens) seenBy() string {
	if t.store == nil {
		return fmt.Sprintf("as seen by the daemon, pid %d", t.pid)
	}
	return "no daemon running; as seen by this shell"
}

func (t *tokens) status(ctx context.Context, name string) (secret.Status, error) {
	if t.store == nil {
		return t.c.TokenStatus(ctx, name)
	}
	st, err := t.store.Status(ctx, name)
	if err != nil {
		return st, err
	}
	return t.localWarning(ctx, st), nil
}

func (t *tokens) set(ctx context.Context, name string, tok secret.Token) (secret.Status, error) {
	if t.store == nil {
		// The one place a credential leaves this process in the clear: to
		// the daemon, over its 0600 socket.
		return t.c.SetToken(ctx, name, tok.Reveal())
	}
	if err := t.store.Set(ctx, name, tok); err != nil {
		return secret.Status{}, err
	}
	return t.status(ctx, name)
}

func (t *tokens) remove(ctx context.Context, name string) (secret.Status, error) {
	if t.store == nil {
		return t.c.DeleteToken(ctx, name)
	}
	if err := t.store.Delete(ctx, name); err != nil {
		return secret.Status{}, err
	}
	return t.status(ctx, name)
}

// keychainReachable is an error saying why nothing can be stored when the
// keychain cannot be asked (an entry or none are both fine).
func (t *tokens) keychainReachable(ctx context.Context, name string) error {
	if t.store != nil {
		_, _, err := t.store.Keychain.Get(ctx, name)
		if errors.Is(err, secret.ErrKeychainUnavailable) {
			return fmt.Errorf("nothing can be stored: %w", err)
		}
		return nil
	}
	st, err := t.c.TokenStatus(ctx, name)
	if err != nil || st.Keychain != secret.KeychainUnavailable {
		return err
	}
	msg := st.Error
	if msg == "" {
		// The daemon's environment provides the credential, and its
		// warning is the short form.
		msg = st.Warning + "; start the daemon inside a D-Bus session with an unlocked Secret Service (see \"A keychain without a desktop\" in the README)"
	}
	return fmt.Errorf("nothing can be stored: the daemon (pid %d) cannot use the keychain: %s", t.pid, msg)
}

// localWarning rewords the shadowing warning for this shell: the store's
// speaks of the daemon's environment, and no daemon runs.
func (t *tokens) localWarning(ctx context.Context, st secret.Status) secret.Status {
	if st.Origin != secret.OriginEnv || st.Keychain != secret.KeychainSet {
		return st
	}
	kfp := "…"
	if ktok, _, err := t.store.Keychain.Get(ctx, st.Name); err == nil {
		kfp = ktok.Fingerprint()
	}
	st.Warning = fmt.Sprintf("%s in this shell's environment (%s) overrides the keychain entry (%s) for `clauderon exec` and for a daemon started from this shell; unset it to use the keychain",
		st.EnvVar, st.Fingerprint, kfp)
	return st
}

func notFound(err error) bool {
	return errors.Is(err, secret.ErrNotFound) || errors.Is(err, client.ErrNotFound)
}

// readToken reads the token from a hidden prompt when in is a terminal,
// otherwise all of in.
func readToken(ctx context.Context, in io.Reader, stderr io.Writer) (string, error) {
	if f, ok := in.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		return promptToken(ctx, int(f.Fd()), stderr)
	}
	b, err := io.ReadAll(io.LimitReader(in, maxTokenInput+1))
	if err != nil {
		return "", fmt.Errorf("reading the token from stdin: %w", err)
	}
	if len(b) > maxTokenInput {
		return "", fmt.Errorf("stdin holds more than %d bytes; that is not a token", maxTokenInput)
	}
	return string(b), nil
}

// promptToken asks on stderr and reads a line without echo. Ctrl-C ends it
// with the terminal restored.
func promptToken(ctx context.Context, fd int, stderr io.Writer) (string, error) {
	state, err := term.GetState(fd)
	if err != nil {
		return "", err
	}
	fmt.Fprint(stderr, "Paste the token (from `claude setup-token`; it will not be shown): ")
	type result struct {
		b   []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		b, err := term.ReadPassword(fd)
		done <- result{b, err}
	}()
	select {
	case r := <-done:
		fmt.Fprintln(stderr)
		if r.err != nil {
			return "", fmt.Errorf("reading the token: %w", r.err)
		}
		return string(r.b), nil
	case <-ctx.Done():
		_ = term.Restore(fd, state)
		fmt.Fprintln(stderr)
		return "", errors.New("interrupted; nothing stored")
	}
}

// parseToken trims raw and checks it is a credential of that name.
func parseToken(name, raw string) (secret.Token, error) {
	norm := strings.Join(strings.Fields(raw), "")
	if norm == "" {
		return secret.Token{}, errors.New("no token given: pipe one in (`pbpaste | clauderon token set`) " +
			"or run `clauderon token set` in a terminal and paste it at the prompt; get one with `claude setup-token`")
	}
	tok, err := secret.Parse(name, norm)
	if err != nil {
		return secret.Token{}, fmt.Errorf("refused: %w", err)
	}
	return tok, nil
}

func runTokenSet(ctx context.Context, stdin io.Reader, stdout, stderr io.Writer, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	// Where the token would go is checked before the user pastes it.
	t, err := openTokens(ctx)
	if err != nil {
		return err
	}
	if err := t.keychainReachable(ctx, name); err != nil {
		return err
	}
	raw, err := readToken(ctx, stdin, stderr)
	if err != nil {
		return err
	}
	tok, err := parseToken(name, raw)
	if err != nil {
		return err
	}
	st, err := t.set(ctx, name, tok)
	if err != nil {
		return err
	}
	where := "through the daemon, pid " + fmt.Sprint(t.pid)
	if t.store != nil {
		where = fmt.Sprintf("service %q; no daemon running", serviceName())
	}
	fmt.Fprintf(stdout, "stored the %s credential in the keychain: %s %s (%s)\n", name, tok.Kind(), tok.Fingerprint(), where)
	if st.Origin == secret.OriginEnv {
		fmt.Fprintf(stderr, "warning: %s\n", shadowWarning(st))
	} else if st.Warning != "" {
		fmt.Fprintf(stderr, "warning: %s\n", st.Warning)
	}
	return nil
}

// shadowWarning says the stored token is not the one in use.
func shadowWarning(st secret.Status) string {
	if st.Warning != "" {
		return st.Warning
	}
	return fmt.Sprintf("%s in the environment (%s) overrides the keychain", st.EnvVar, st.Fingerprint)
}

// tokenStatusJSON is `token status --json`.
type tokenStatusJSON struct {
	secret.Status
	SeenBy    string `json:"seen_by"` // "daemon" or "local"
	DaemonPID int    `json:"daemon_pid,omitempty"`
}

func runTokenStatus(ctx context.Context, w io.Writer, name string, asJSON bool) error {
	if err := checkName(name); err != nil {
		return err
	}
	t, err := openTokens(ctx)
	if err != nil {
		return err
	}
	st, err := t.status(ctx, name)
	if err != nil {
		return err
	}
	if asJSON {
		j := tokenStatusJSON{Status: st, SeenBy: "daemon", DaemonPID: t.pid}
		if t.store != nil {
			j.SeenBy = "local"
		}
		if err := printJSON(w, j); err != nil {
			return err
		}
	} else {
		printTokenStatus(w, st, t)
	}
	if !st.Configured {
		return exitError{code: 1}
	}
	return nil
}

func printTokenStatus(w io.Writer, st secret.Status, t *tokens) {
	fmt.Fprintf(w, "%s credential (%s)\n", st.Name, t.seenBy())
	if st.Configured {
		origin := string(st.Origin)
		if st.Origin == secret.OriginEnv {
			origin += " (" + st.EnvVar + ")"
		}
		fmt.Fprintf(w, "  configured:  yes\n  kind:        %s\n  origin:      %s\n  fingerprint: %s\n", st.Kind, origin, st.Fingerprint)
	} else {
		fmt.Fprintf(w, "  configured:  no\n  problem:     %s\n", st.Error)
	}
	kc := string(st.Keychain)
	if t.store != nil {
		kc += fmt.Sprintf(" (service %q)", serviceName())
	}
	fmt.Fprintf(w, "  keychain:    %s\n", kc)
	if st.Warning != "" {
		fmt.Fprintf(w, "warning: %s\n", st.Warning)
	}
}

func runTokenRm(ctx context.Context, stdout, stderr io.Writer, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	t, err := openTokens(ctx)
	if err != nil {
		return err
	}
	st, err := t.remove(ctx, name)
	switch {
	case notFound(err):
		fmt.Fprintf(stdout, "no %s credential in the keychain; nothing removed (%s)\n", name, t.seenBy())
		return nil
	case err != nil:
		return err
	}
	fmt.Fprintf(stdout, "removed the %s credential from the keychain (%s)\n", name, t.seenBy())
	if st.Configured && st.Origin == secret.OriginEnv {
		fmt.Fprintf(stderr, "note: %s in the environment still provides a credential (%s)\n", st.EnvVar, st.Fingerprint)
	}
	return nil
}
