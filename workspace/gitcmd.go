package workspace

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
)

// The host's git runs only against the user's own repository or directory
// (trusted), or at Create before any container exists; never on a workspace
// the agent has touched. Even so, every run goes through gitCmd so that no
// inherited GIT_* variable can point it somewhere else and no fsmonitor,
// hook or pager the user's config names starts as a side effect of our
// plumbing.

// gitSafetyConfig is passed to every git we run.
var gitSafetyConfig = []string{
	"-c", "core.fsmonitor=false",
	"-c", "core.hooksPath=/dev/null",
	"-c", "core.pager=cat",
	// Our index files are private copies; these would write extra files
	// (shared indexes, caches) next to the user's repository.
	"-c", "core.splitIndex=false",
	"-c", "core.untrackedCache=false",
	"-c", "gc.auto=0",
	"-c", "maintenance.auto=false",
}

// gitCmd is one invocation of the host's git.
type gitCmd struct {
	dir   string    // working directory; "" for the caller's
	env   []string  // extra KEY=VALUE entries, on top of the cleaned environment
	stdin io.Reader // nil for none
}

// lookGit finds the git binary, or says how to get one.
func lookGit() (string, error) {
	p, err := exec.LookPath("git")
	if err != nil {
		return "", errorf(ErrNoGit, "git is not installed on this host: install git (for example `apt-get install git` or `brew install git`) and try again")
	}
	return p, nil
}

// gitEnv is the daemon's environment without anything that steers git
// (GIT_DIR, GIT_INDEX_FILE, GIT_CONFIG_PARAMETERS, ...), plus extra.
func gitEnv(extra []string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "GIT_") || strings.HasPrefix(kv, "LC_ALL=") || strings.HasPrefix(kv, "LANGUAGE=") {
			continue
		}
		env = append(env, kv)
	}
	// LC_ALL=C keeps git's messages in English: a few are matched below.
	env = append(env, "GIT_TERMINAL_PROMPT=0", "LC_ALL=C")
	return append(env, extra...)
}

// gitError is a failed git run; its message carries git's own (trimmed).
type gitError struct {
	args   []string
	code   int
	stderr string
}

func (e *gitError) Error() string {
	msg := strings.TrimSpace(e.stderr)
	if msg == "" {
		msg = fmt.Sprintf("exit status %d", e.code)
	}
	return fmt.Sprintf("git %s: %s", strings.Join(e.args, " "), truncate(msg, 2000))
}

// run runs git with args and returns its standard output.
func (g gitCmd) run(ctx context.Context, args ...string) ([]byte, error) {
	var out bytes.Buffer
	err := g.runTo(ctx, &out, args...)
	return out.Bytes(), err
}

// runTo runs git with args, its standard output going to w.
func (g gitCmd) runTo(ctx context.Context, w io.Writer, args ...string) error {
	bin, err := lookGit()
	if err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, bin, append(append([]string{}, gitSafetyConfig...), args...)...)
	cmd.Dir = g.dir
	cmd.Env = gitEnv(g.env)
	cmd.Stdin = g.stdin
	cmd.Stdout = w
	var stderr limitedBuffer
	stderr.max = 64 << 10
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return fmt.Errorf("git %s: %w", firstArg(args), ctxErr)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return &gitError{args: shortArgs(args), code: ee.ExitCode(), stderr: stderr.String()}
		}
		return fmt.Errorf("git %s: %w", firstArg(args), err)
	}
	return nil
}

// exitCode is the exit status of a failed git run, or -1 when it did not
// get to exit.
func exitCode(err error) int {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.code
	}
	return -1
}

// gitStderr is what a failed git run printed.
func gitStderr(err error) string {
	var ge *gitError
	if errors.As(err, &ge) {
		return ge.stderr
	}
	return ""
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return ""
	}
	return args[0]
}

// shortArgs keeps error messages readable when a command names many paths.
func shortArgs(args []string) []string {
	if len(args) > 8 {
		return append(append([]string{}, args[:8]...), "...")
	}
	return args
}

// limitedBuffer keeps the first max bytes written to it and drops the rest,
// so a chatty git cannot fill memory.
type limitedBuffer struct {
	bytes.Buffer
	max int
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.Len(); room > 0 {
		if len(p) > room {
			b.Buffer.Write(p[:room])
		} else {
			b.Buffer.Write(p)
		}
	}
	return len(p), nil
}

// splitNUL splits git's -z output.
func splitNUL(out []byte) []string {
	var list []string
	for _, f := range bytes.Split(out, []byte{0}) {
		if len(f) > 0 {
			list = append(list, string(f))
		}
	}
	return list
}
