package secret

// Holder says whose environment a Store reads, so that its messages tell
// the user where to set a variable: the daemon's, or that of the `clauderon
// exec` run that asks, or this shell's (the token commands without a daemon).
type Holder int

const (
	HolderDaemon Holder = iota // the zero value: a daemon's store
	HolderExec
	HolderShell
)

// env names the environment, after "in".
func (h Holder) env() string {
	switch h {
	case HolderExec:
		return "the environment of `clauderon exec` (export it in the shell that runs it)"
	case HolderShell:
		return "this shell's environment (for `clauderon exec` and a daemon started from it)"
	}
	return "the daemon's environment"
}
