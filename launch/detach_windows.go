package launch

import (
	"os/exec"
	"syscall"
)

func detach(*exec.Cmd) {}

// createNewConsole is CREATE_NEW_CONSOLE: the process gets a console
// window of its own instead of the app's (which has none).
const createNewConsole = 0x00000010

func newConsole(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{CreationFlags: createNewConsole}
}
