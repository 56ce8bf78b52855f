//go:build unix

package launch

import (
	"os/exec"
	"syscall"
)

// detach starts the terminal in a session of its own, so a signal to the
// app's process group (Ctrl-C where it was started) does not close it.
func detach(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
}

func newConsole(*exec.Cmd) {}
