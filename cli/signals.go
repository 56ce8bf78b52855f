package cli

import (
	"os"
	"time"
)

// togetherWindow is how close a SIGINT and a SIGTERM must be to count as
// one request to stop. ctrl-c under a script that forwards it (make run's
// scripts/run.sh sends SIGTERM when the terminal's SIGINT reaches it) gives
// the daemon both within microseconds; a person's second ctrl-c is the same
// signal again.
const togetherWindow = time.Second

// drainThenForce reads sigs until it ends: the first signal calls drain, a
// further one calls force and returns. A signal of another kind than the
// first that arrives within togetherWindow of it is the same request (the
// terminal's SIGINT and a wrapper's SIGTERM), so it is not a second one.
// now is the clock, read once per signal.
func drainThenForce(sigs <-chan os.Signal, now func() time.Time, drain, force func()) {
	var first os.Signal
	var at time.Time
	for s := range sigs {
		t := now()
		switch {
		case first == nil:
			first, at = s, t
			drain()
		case s != first && t.Sub(at) < togetherWindow:
			// The same ctrl-c, seen twice.
		default:
			force()
			return
		}
	}
}
