package daemon

import (
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// ErrAlreadyRunning means another daemon serves this CLAUDERON_HOME.
var ErrAlreadyRunning = errors.New("another clauderon daemon is already running")

// Files of the daemon inside CLAUDERON_HOME.
const (
	lockFile = "daemon.lock"
	pidFile  = "daemon.pid"
)

// lock holds an exclusive flock on home/daemon.lock for the daemon's
// lifetime. The kernel drops it when the process dies, even by SIGKILL, so a
// crash never leaves a stale lock.
type lock struct{ f *os.File }

func acquire(home string) (*lock, error) {
	p := filepath.Join(home, lockFile)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, err
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, fmt.Errorf("%w for %s (pid %s); stop it first, or use it: the CLI talks to it", ErrAlreadyRunning, home, readPID(home))
		}
		return nil, fmt.Errorf("cannot lock %s: %w", p, err)
	}
	if err := os.WriteFile(filepath.Join(home, pidFile), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o600); err != nil {
		f.Close()
		return nil, err
	}
	return &lock{f: f}, nil
}

func (l *lock) release(home string) {
	os.Remove(filepath.Join(home, pidFile))
	l.f.Close()
}

func readPID(home string) string {
	b, err := os.ReadFile(filepath.Join(home, pidFile))
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(b))
}

// listenSocket listens on the LocalAPI socket, removing a stale one left by
// a crashed daemon (we hold the lock, so no live daemon owns it).
func listenSocket(path string) (net.Listener, error) {
	if _, err := os.Lstat(path); err == nil {
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("%w: something answers on %s", ErrAlreadyRunning, path)
		}
		if err := os.Remove(path); err != nil {
			return nil, fmt.Errorf("cannot remove the stale socket %s: %w", path, err)
		}
	}
	l, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("cannot listen on %s: %w", path, err)
	}
	// New made CLAUDERON_HOME 0700 and ours (config.EnsurePrivate), so the
	// socket is private from the moment it exists; the chmod is for show.
	if err := os.Chmod(path, 0o600); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}
