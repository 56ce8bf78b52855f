package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
)

// AuditFile is the audit log's name inside CLAUDERON_HOME.
const AuditFile = "audit.jsonl"

// DefaultAuditMaxBytes is the size past which the audit log rotates.
const DefaultAuditMaxBytes = 10 << 20

// auditKeep is how many rotated files (audit.jsonl.1 … .N) are kept.
const auditKeep = 3

// AuditEntry is one line of the audit log: one completed request, or one
// CONNECT tunnel when it closes. It holds no header value and no credential.
type AuditEntry struct {
	Time         time.Time `json:"time"`    // when the request arrived
	Session      string    `json:"session"` // proxy user name; as claimed when auth failed
	Host         string    `json:"host"`    // host:port the client addressed
	Method       string    `json:"method"`
	Path         string    `json:"path"` // without the query string
	Status       int       `json:"status"`
	DurationMS   int64     `json:"duration_ms"`
	BytesIn      int64     `json:"bytes_in"`  // from the client (request body, or tunnel bytes)
	BytesOut     int64     `json:"bytes_out"` // to the client
	AuthInjected bool      `json:"auth_injected"`
	Intercepted  bool      `json:"intercepted"`
	Error        string    `json:"error,omitempty"`
}

// AuditSink receives an entry per completed request.
type AuditSink interface {
	Record(AuditEntry) error
}

// Audit appends entries as JSON lines to a file and rotates it by size. Each
// line is one write on an O_APPEND file, so a crash cannot damage earlier
// lines and several processes (the daemon, `clauderon exec`) can share the
// file. Rotation alone is serialized between processes, by flock on a lock
// file beside the log. Safe for concurrent use.
type Audit struct {
	path     string
	maxBytes int64
	lock     *os.File // path + ".lock", flocked while rotating

	mu  sync.Mutex
	f   *os.File
	cur os.FileInfo // f's identity, to notice the path now names another file
}

// OpenAudit opens (creating, 0600) the audit log at path. maxBytes <= 0
// means DefaultAuditMaxBytes.
func OpenAudit(path string, maxBytes int64) (*Audit, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultAuditMaxBytes
	}
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	a := &Audit{path: path, maxBytes: maxBytes, lock: lock}
	if err := a.reopen(); err != nil {
		lock.Close()
		return nil, err
	}
	return a, nil
}

// Path is the file the log writes to.
func (a *Audit) Path() string { return a.path }

func (a *Audit) reopen() error {
	f, err := os.OpenFile(a.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	if a.f != nil {
		a.f.Close()
	}
	a.f, a.cur = f, fi
	return nil
}

// Record implements AuditSink.
func (a *Audit) Record(e AuditEntry) error {
	line, err := json.Marshal(e)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return fmt.Errorf("audit log %s is closed", a.path)
	}
	if err := a.follow(); err != nil {
		return err
	}
	if a.full(a.cur, len(line)) {
		if err := a.rotateIfFull(len(line)); err != nil {
			return err
		}
	}
	_, err = a.f.Write(line)
	return err
}

// follow reopens the path if another process (or a human) rotated the
// file away. One stat of the path per line: the identity of the open file
// was taken when it was opened, and the stat also refreshes its size.
func (a *Audit) follow() error {
	fi, err := os.Stat(a.path)
	if err != nil || !os.SameFile(fi, a.cur) {
		return a.reopen()
	}
	a.cur = fi
	return nil
}

// full reports whether n more bytes would take fi past the size limit.
func (a *Audit) full(fi os.FileInfo, n int) bool {
	return fi.Size() > 0 && fi.Size()+int64(n) > a.maxBytes
}

// rotateIfFull rotates the log unless another process did while this one
// waited for the lock. Without the lock, two processes that both saw a
// full file would each shift every generation, and one would be lost.
func (a *Audit) rotateIfFull(n int) error {
	fd := int(a.lock.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("audit log: lock for rotation: %w", err)
	}
	defer syscall.Flock(fd, syscall.LOCK_UN)
	if err := a.follow(); err != nil {
		return err
	}
	if !a.full(a.cur, n) {
		return nil
	}
	return a.rotate()
}

// rotate shifts audit.jsonl.N-1 → .N … audit.jsonl → .1 and starts afresh.
// The caller holds the rotation lock.
func (a *Audit) rotate() error {
	for i := auditKeep - 1; i >= 1; i-- {
		err := os.Rename(a.path+"."+strconv.Itoa(i), a.path+"."+strconv.Itoa(i+1))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("audit log rotation: %w", err)
		}
	}
	if err := os.Rename(a.path, a.path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("audit log rotation: %w", err)
	}
	return a.reopen()
}

// Close closes the file; later Records fail.
func (a *Audit) Close() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.f == nil {
		return nil
	}
	err := a.f.Close()
	a.f = nil
	if lerr := a.lock.Close(); err == nil {
		err = lerr
	}
	return err
}
