package secret

import "syscall"

// HideProcess makes this process's memory and /proc files unreadable to the
// other processes of the same user: no /proc/PID/environ (where a token
// given in the environment stays readable even after os.Unsetenv), no
// /proc/PID/mem, no ptrace, no core dump. A process that holds the real
// credential calls it first thing; the children it starts are not
// affected (execve resets the setting).
func HideProcess() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, syscall.PR_SET_DUMPABLE, 0, 0); errno != 0 {
		return errno
	}
	return nil
}
