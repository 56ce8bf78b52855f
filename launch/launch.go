// Package launch opens the user's terminal emulator running a clauderon
// command (the tray's attach), never through a shell.
package launch

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
)

// ErrNoTerminal is wrapped by InTerminal's error when no terminal emulator
// could be started; the error's text ends with the command line, so the app
// can show it for the user to copy (CommandLine gives it alone).
var ErrNoTerminal = errors.New("no terminal emulator could be started")

// AttachCommand is the command that attaches to session name: this very
// binary's `attach`, so the terminal runs the same clauderon as the app
// even when another one is first on $PATH.
func AttachCommand(name string) []string {
	exe, err := os.Executable()
	if err != nil {
		exe = "clauderon"
	}
	return []string{exe, "attach", name}
}

// InTerminal opens a terminal emulator running argv and returns once it
// started; it does not wait for it. The emulators tried are, on Linux (and
// the BSDs) $TERMINAL, x-terminal-emulator, gnome-terminal, konsole, then
// xterm; on macOS Terminal; on Windows Windows Terminal, then a console
// window of its own.
func InTerminal(argv []string) error {
	return Launcher{}.InTerminal(argv)
}

// Launcher starts terminals; its zero value is the real system's. Tests set
// its fields.
type Launcher struct {
	GOOS     string                       // runtime.GOOS when empty
	Getenv   func(string) string          // os.Getenv when nil
	LookPath func(string) (string, error) // exec.LookPath when nil
	Start    func(cmd *exec.Cmd) error    // starts cmd and reaps it when nil
	TempDir  func() (string, error)       // os.MkdirTemp's when nil (macOS)
	_        struct{}                     // keep the fields named
}

// InTerminal is the package's InTerminal with l's system.
func (l Launcher) InTerminal(argv []string) error {
	if len(argv) == 0 {
		return errors.New("launch: no command")
	}
	l = l.defaults()
	if l.GOOS == "darwin" {
		return l.macTerminal(argv)
	}
	var tried []string
	for _, c := range l.candidates(argv) {
		path, err := l.LookPath(c.argv[0])
		if err != nil {
			continue
		}
		cmd := exec.Command(path, c.argv[1:]...)
		c.prepare(cmd)
		detach(cmd)
		if err := l.Start(cmd); err != nil {
			tried = append(tried, fmt.Sprintf("%s: %v", c.argv[0], err))
			continue
		}
		return nil
	}
	msg := ""
	if len(tried) > 0 {
		msg = " (" + strings.Join(tried, "; ") + ")"
	}
	return fmt.Errorf("%w%s; run it in a terminal yourself: %s", ErrNoTerminal, msg, CommandLine(argv))
}

func (l Launcher) defaults() Launcher {
	if l.GOOS == "" {
		l.GOOS = runtime.GOOS
	}
	if l.Getenv == nil {
		l.Getenv = os.Getenv
	}
	if l.LookPath == nil {
		l.LookPath = exec.LookPath
	}
	if l.Start == nil {
		l.Start = startAndReap
	}
	if l.TempDir == nil {
		l.TempDir = func() (string, error) { return os.MkdirTemp("", "clauderon-attach-") }
	}
	return l
}

// startAndReap starts cmd and waits for it in the background, so a
// terminal that exits leaves no zombie behind.
func startAndReap(cmd *exec.Cmd) error {
	if err := cmd.Start(); err != nil {
		return err
	}
	go cmd.Wait() //nolint:errcheck // the terminal's exit status says nothing about the attach
	return nil
}

// candidate is one terminal emulator's command line running argv.
type candidate struct {
	argv []string
	// prepare adjusts the command before it starts (Windows' console flag).
	prepare func(*exec.Cmd)
}

func noPrepare(*exec.Cmd) {}

// candidates are the terminals to try, in order, each with argv as its own
// arguments: the emulator runs the program itself, no shell parses them.
func (l Launcher) candidates(argv []string) []candidate {
	with := func(prefix ...string) candidate {
		return candidate{argv: append(append([]string(nil), prefix...), argv...), prepare: noPrepare}
	}
	if l.GOOS == "windows" {
		return []candidate{
			// wt splits its command line at ';' into commands of its own;
			// the session name cannot hold one, the binary's path could
			// (rare; the console window below does not mind).
			with("wt.exe", "new-tab", "--title", "clauderon"),
			// What `cmd /c start` would open, a console window of its own,
			// without cmd parsing the command line.
			{argv: append([]string(nil), argv...), prepare: newConsole},
		}
	}
	var out []candidate
	// $TERMINAL names a program (i3-sensible-terminal's convention), run
	// as `$TERMINAL -e argv...`, the flag xterm's heirs share. Extra words
	// in it are split on spaces, not by a shell.
	if t := strings.Fields(l.Getenv("TERMINAL")); len(t) > 0 {
		out = append(out, with(append(t, "-e")...))
	}
	return append(out,
		with("x-terminal-emulator", "-e"), // Debian's alternative; -e by policy
		with("gnome-terminal", "--"),
		with("konsole", "-e"),
		with("xterm", "-e"),
	)
}

// CommandLine is argv as a POSIX shell would read it back, for the user to
// copy: words with anything but [A-Za-z0-9_./:=@%+,-] are single-quoted.
// It is shown, never run by clauderon.
func CommandLine(argv []string) string {
	q := make([]string, len(argv))
	for i, a := range argv {
		q[i] = shellQuote(a)
	}
	return strings.Join(q, " ")
}

func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_./:=@%+,-") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
