package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"
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
	Session      string    `json:"session"` // proxy user name; when refused, only if shaped like one
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

// Bounds of an audit line's fields, so a request with a huge path or host
// cannot make a line huge (and rotate the log away sooner); a cut field
// ends with a marker saying how much was cut.
const (
	maxAuditPath  = 1024
	maxAuditHost  = 300
	maxAuditField = 64 // session, method
	maxAuditError = 16 << 10
)

// bound cuts e's fields to their limits.
func (e *AuditEntry) bound() {
	e.Path = cut(e.Path, maxAuditPath)
	e.Host = cut(e.Host, maxAuditHost)
	e.Session = cut(e.Session, maxAuditField)
	e.Method = cut(e.Method, maxAuditField)
	e.Error = cut(e.Error, maxAuditError)
}

// cut shortens s to at most n bytes (on a character boundary) plus a marker.
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	i := n
	for i > 0 && !utf8.RuneStart(s[i]) {
		i--
	}
	return s[:i] + fmt.Sprintf("…[%d bytes cut]", len(s)-i)
}

// AuditSink receives an entry per completed request.
type AuditSink interface {
	Record(AuditEntry) error
}

// Audit appends entries as JSON lines to a file and rotates it by size. Each
// line is one write on an O_APPEND file, so a crash cannot damage earlier
// lines and several processes (the daemon, `clauderon exec`) can share the
// file. A line a killed process (or a full disk) left unfinished is closed
// by the next writer before its own line, so it cannot swallow that one.
// Rotation alone is serialized between processes, by flock on a lock file
// beside the log. Safe for concurrent use.
type Audit struct {
	path     string
	maxBytes int64
	lock     *os.File // path + ".lock", flocked while rotating

	mu   sync.Mutex
	f    *os.File
	cur  os.FileInfo // f's identity, to notice the path now names another file
	end  int64       // f's size after this Audit's last line; -1 unknown
	torn bool        // f does not end with a newline
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
	// Read too: the last byte tells whether a line was left unfinished.
	f, err := os.OpenFile(a.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
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
	a.f, a.cur, a.end = f, fi, -1
	a.checkTail()
	return nil
}

// checkTail looks at the last byte of the file when someone else may have
// written it last: a process killed mid-line leaves no newline.
func (a *Audit) checkTail() {
	if size := a.cur.Size(); size != a.end {
		a.torn = size > 0 && !endsWithNewline(a.f, size)
	}
}

// endsWithNewline reports whether f, size bytes long, ends with a newline
// (true when it cannot tell, so no line break is added on a guess).
func endsWithNewline(f *os.File, size int64) bool {
	var b [1]byte
	if _, err := f.ReadAt(b[:], size-1); err != nil {
		return true
	}
	return b[0] == '\n'
}

// Record implements AuditSink.
func (a *Audit) Record(e AuditEntry) error {
	e.bound()
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
	if a.torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err = a.f.Write(line); err != nil {
		a.end = -1
		return err
	}
	a.torn, a.end = false, a.cur.Size()+int64(len(line))
	return nil
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
	a.checkTail()
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
