//go:build !unix && !windows

package launch

import "os/exec"

func detach(*exec.Cmd)     {}
func newConsole(*exec.Cmd) {}
