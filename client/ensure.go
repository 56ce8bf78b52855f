package client

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
)

// DaemonLogFile is where a daemon that EnsureDaemon started logs, inside
// CLAUDERON_HOME.
const DaemonLogFile = "daemon.log"

// ensureTimeout bounds how long EnsureDaemon waits for a daemon to answer.
const ensureTimeout = 30 * time.Second

// EnsureDaemon returns the status of the daemon of $CLAUDERON_HOME, first
// starting one when none answers: `clauderon daemon` (this executable),
// detached in a session of its own so that the caller's signals and exit
// do not reach it, its output appended to $CLAUDERON_HOME/daemon.log, and
// the caller's environment. Callers racing to start one end up sharing
// it: the daemon's lock refuses every second one, which exits, while
// every caller waits for the socket to answer.
func EnsureDaemon(ctx context.Context) (api.DaemonStatus, error) {
	home, err := config.Home()
	if err != nil {
		return api.DaemonStatus{}, err
	}
	c := &Client{Socket: filepath.Join(home, SocketFile)}
	st, err := c.Status(ctx)
	var du *DaemonUnreachableError
	if err == nil || !errors.As(err, &du) {
		return st, err
	}
	logPath := filepath.Join(home, DaemonLogFile)
	exited, err := startDaemon(home, logPath)
	if err != nil {
		return api.DaemonStatus{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, ensureTimeout)
	defer cancel()
	wait := 20 * time.Millisecond
	for {
		st, err := c.Status(ctx)
		if err == nil {
			return st, nil
		}
		if !errors.As(err, &du) && ctx.Err() == nil {
			return api.DaemonStatus{}, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			if ctx.Err() == context.DeadlineExceeded {
				return api.DaemonStatus{}, fmt.Errorf("started `clauderon daemon`, but it did not answer at %s within %s; its log is %s", c.Socket, ensureTimeout, logPath)
			}
			return api.DaemonStatus{}, ctx.Err()
		case <-exited:
			// It exited: most likely another caller's daemon holds the
			// lock and is still starting, so keep waiting for the socket.
			exited = nil
			t.Stop()
		case <-t.C:
		}
		wait = min(wait*2, 500*time.Millisecond)
	}
}

// startDaemon starts `clauderon daemon` detached; the channel closes when
// it exits.
func startDaemon(home, logPath string) (<-chan struct{}, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("cannot find the clauderon executable to start the daemon: %w", err)
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("cannot open the daemon's log: %w", err)
	}
	defer logf.Close()
	fmt.Fprintf(logf, "--- %s: started by %s (pid %d)\n", time.Now().Format(time.RFC3339), filepath.Base(exe), os.Getpid())
	cmd := exec.Command(exe, "daemon")
	cmd.Stdout, cmd.Stderr = logf, logf // stdin is /dev/null
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("cannot start `clauderon daemon`: %w (its log is %s)", err, logPath)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait() // reaps it when it exits before the caller does
		close(exited)
	}()
	return exited, nil
}
