package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"sync"
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
// lines and several processes can share the file. Safe for concurrent use.
type Audit struct {
	path     string
	maxBytes int64

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
	a := &Audit{path: path, maxBytes: maxBytes}
	if err := a.reopen(); err != nil {
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
	// Another process (or a human) may have rotated the file away; follow
	// the path, not the old descriptor. One stat of the path per line: the
	// identity of the open file was taken when it was opened.
	fi, err := os.Stat(a.path)
	if err != nil || !os.SameFile(fi, a.cur) {
		if err := a.reopen(); err != nil {
			return err
		}
		fi = a.cur
	}
	if fi.Size() > 0 && fi.Size()+int64(len(line)) > a.maxBytes {
		if err := a.rotate(); err != nil {
			return err
		}
	}
	_, err = a.f.Write(line)
	return err
}

// rotate shifts audit.jsonl.N-1 → .N … audit.jsonl → .1 and starts afresh.
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
	return err
}
