package launch

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// macTerminal opens Terminal.app on a .command file. Terminal runs such a
// file with the user's shell, so here alone a shell reads the command: the
// file holds argv single-quoted word by word (CommandLine), and the words
// are this binary's path and a validated session name. The file deletes
// itself first, so nothing lingers in $TMPDIR. Untested on a Mac.
func (l Launcher) macTerminal(argv []string) error {
	dir, err := l.TempDir()
	if err != nil {
		return fmt.Errorf("%w: %v; run it in a terminal yourself: %s", ErrNoTerminal, err, CommandLine(argv))
	}
	file := filepath.Join(dir, "clauderon-attach.command")
	script := "#!/bin/sh\nrm -rf -- " + shellQuote(dir) + "\nexec " + CommandLine(argv) + "\n"
	if err := os.WriteFile(file, []byte(script), 0o700); err != nil {
		return fmt.Errorf("%w: %v; run it in a terminal yourself: %s", ErrNoTerminal, err, CommandLine(argv))
	}
	path, err := l.LookPath("open")
	if err == nil {
		cmd := exec.Command(path, "-a", "Terminal", file)
		if err = l.Start(cmd); err == nil {
			return nil
		}
	}
	os.RemoveAll(dir)
	return fmt.Errorf("%w: open -a Terminal: %v; run it in a terminal yourself: %s", ErrNoTerminal, err, CommandLine(argv))
}
