package proxy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
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

// auditKeep is how many rotated files (audit.jsonl.1 … .N, and as many of
// refused.jsonl) are kept.
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
	Addr         string    `json:"addr,omitempty"` // the client's address; on refused lines only
	// Refused marks a request refused before it authenticated: a 407, or
	// an error net/http answered itself. Audit keeps these apart from the
	// authenticated history, in RefusedFile.
	Refused bool `json:"-"`
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
	e.Addr = cut(e.Addr, maxAuditHost)
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

// AuditSink receives an entry per completed request. Entries marked Refused
// come from clients that never authenticated, so there may be floods of them.
type AuditSink interface {
	Record(AuditEntry) error
}

// Audit is the proxy's audit log. Authenticated requests go to audit.jsonl;
// requests refused before authenticating go to refused.jsonl beside it,
// each client address's first one in a 10 s window in full and the rest of
// that window as one summary line (see refusals). However many refused
// requests arrive, they can then never rotate authenticated history away.
// Safe for concurrent use.
type Audit struct {
	log     *jsonlFile
	refused *refusals
}

// OpenAudit opens (creating, 0600) the audit log at path, and RefusedFile in
// the same directory. maxBytes <= 0 means DefaultAuditMaxBytes; the refused
// file has a budget of its own, refusedMaxBytes.
func OpenAudit(path string, maxBytes int64) (*Audit, error) {
	return openAudit(path, maxBytes, time.Now)
}

// openAudit is OpenAudit with the clock that times refused windows.
func openAudit(path string, maxBytes int64, now func() time.Time) (*Audit, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultAuditMaxBytes
	}
	log, err := openJSONL(path, maxBytes)
	if err != nil {
		return nil, err
	}
	rf, err := openJSONL(filepath.Join(filepath.Dir(path), RefusedFile), refusedMaxBytes)
	if err != nil {
		log.close()
		return nil, err
	}
	return &Audit{log: log, refused: newRefusals(rf, now)}, nil
}

// Path is the file authenticated requests are written to.
func (a *Audit) Path() string { return a.log.path }

// Record implements AuditSink.
func (a *Audit) Record(e AuditEntry) error {
	e.bound()
	if e.Refused {
		return a.refused.record(e)
	}
	return a.log.writeJSON(e)
}

// Close writes the summaries of the refused windows still open, and closes
// both files; later Records fail.
func (a *Audit) Close() error {
	err := a.refused.close()
	if lerr := a.log.close(); err == nil {
		err = lerr
	}
	return err
}

// jsonlFile appends JSON lines to a file and rotates it by size. Each line
// is one write on an O_APPEND file, so a crash cannot damage earlier lines
// and several processes (the daemon, `clauderon exec`) can share the file.
// A line a killed process (or a full disk) left unfinished is closed by the
// next writer before its own line, so it cannot swallow that one. Rotation
// alone is serialized between processes, by flock on a lock file beside the
// log. Safe for concurrent use.
type jsonlFile struct {
	path     string
	maxBytes int64
	lock     *os.File // path + ".lock", flocked while rotating

	mu   sync.Mutex
	f    *os.File
	cur  os.FileInfo // f's identity, to notice the path now names another file
	end  int64       // f's size after this writer's last line; -1 unknown
	torn bool        // f does not end with a newline
}

// openJSONL opens (creating, 0600) the file at path.
func openJSONL(path string, maxBytes int64) (*jsonlFile, error) {
	lock, err := os.OpenFile(path+".lock", os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	l := &jsonlFile{path: path, maxBytes: maxBytes, lock: lock}
	if err := l.reopen(); err != nil {
		lock.Close()
		return nil, err
	}
	return l, nil
}

func (l *jsonlFile) reopen() error {
	// Read too: the last byte tells whether a line was left unfinished.
	f, err := os.OpenFile(l.path, os.O_RDWR|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("audit log: %w", err)
	}
	if l.f != nil {
		l.f.Close()
	}
	l.f, l.cur, l.end = f, fi, -1
	l.checkTail()
	return nil
}

// checkTail looks at the last byte of the file when someone else may have
// written it last: a process killed mid-line leaves no newline.
func (l *jsonlFile) checkTail() {
	if size := l.cur.Size(); size != l.end {
		l.torn = size > 0 && !endsWithNewline(l.f, size)
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

// writeJSON appends v as one line.
func (l *jsonlFile) writeJSON(v any) error {
	line, err := json.Marshal(v)
	if err != nil {
		return err
	}
	line = append(line, '\n')
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return fmt.Errorf("audit log %s is closed", l.path)
	}
	if err := l.follow(); err != nil {
		return err
	}
	if l.full(l.cur, len(line)) {
		if err := l.rotateIfFull(len(line)); err != nil {
			return err
		}
	}
	if l.torn {
		line = append([]byte{'\n'}, line...)
	}
	if _, err = l.f.Write(line); err != nil {
		l.end = -1
		return err
	}
	l.torn, l.end = false, l.cur.Size()+int64(len(line))
	return nil
}

// follow reopens the path if another process (or a human) rotated the
// file away. One stat of the path per line: the identity of the open file
// was taken when it was opened, and the stat also refreshes its size.
func (l *jsonlFile) follow() error {
	fi, err := os.Stat(l.path)
	if err != nil || !os.SameFile(fi, l.cur) {
		return l.reopen()
	}
	l.cur = fi
	l.checkTail()
	return nil
}

// full reports whether n more bytes would take fi past the size limit.
func (l *jsonlFile) full(fi os.FileInfo, n int) bool {
	return fi.Size() > 0 && fi.Size()+int64(n) > l.maxBytes
}

// rotateIfFull rotates the log unless another process did while this one
// waited for the lock. Without the lock, two processes that both saw a
// full file would each shift every generation, and one would be lost.
func (l *jsonlFile) rotateIfFull(n int) error {
	fd := int(l.lock.Fd())
	if err := syscall.Flock(fd, syscall.LOCK_EX); err != nil {
		return fmt.Errorf("audit log: lock for rotation: %w", err)
	}
	defer syscall.Flock(fd, syscall.LOCK_UN)
	if err := l.follow(); err != nil {
		return err
	}
	if !l.full(l.cur, n) {
		return nil
	}
	return l.rotate()
}

// rotate shifts FILE.N-1 → .N … FILE → .1 and starts afresh.
// The caller holds the rotation lock.
func (l *jsonlFile) rotate() error {
	for i := auditKeep - 1; i >= 1; i-- {
		err := os.Rename(l.path+"."+strconv.Itoa(i), l.path+"."+strconv.Itoa(i+1))
		if err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("audit log rotation: %w", err)
		}
	}
	if err := os.Rename(l.path, l.path+".1"); err != nil && !os.IsNotExist(err) {
		return fmt.Errorf("audit log rotation: %w", err)
	}
	return l.reopen()
}

// close closes the file; later writes fail.
func (l *jsonlFile) close() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	if lerr := l.lock.Close(); err == nil {
		err = lerr
	}
	return err
}
