package daemon

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"slices"
	"strconv"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// Bounds of one audit answer.
const (
	defaultAuditLimit = 50
	maxAuditLimit     = 1000
	// maxAuditScan is how many bytes of the log and its rotations one
	// answer reads at most, from the newest line back.
	maxAuditScan = 32 << 20
	// auditChunk is how much is read at a time, from a file's end back.
	auditChunk = 64 << 10
	// maxAuditLine bounds one line (the proxy bounds its fields well
	// below this); a longer one is skipped unread.
	maxAuditLine = 256 << 10
	// auditRotations is how many rotated files (.1 … .3) the proxy keeps.
	auditRotations = 3
)

// readAudit returns the latest limit lines of session name (of every
// session when name is "") in the audit log at path and its rotations
// (path.1, .2, .3), newest first. It reads each file from its end
// backwards, at most maxAuditScan bytes in all; partial says it stopped
// there with older lines perhaps unread.
func readAudit(path, name string, limit int) (entries []api.AuditEntry, partial bool, err error) {
	budget := int64(maxAuditScan)
	files := []string{path}
	for i := 1; i <= auditRotations; i++ {
		files = append(files, path+"."+strconv.Itoa(i))
	}
	entries = []api.AuditEntry{}
	want := []byte(`"session":` + strconv.Quote(name))
	for _, p := range files {
		if len(entries) >= limit {
			return entries, false, nil
		}
		if budget <= 0 {
			break
		}
		f, err := os.Open(p)
		if errors.Is(err, os.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, false, err
		}
		used, err := scanBackwards(f, budget, func(line []byte) bool {
			// A cheap test first: most lines are other sessions'.
			if name != "" && !bytes.Contains(line, want) {
				return true
			}
			var e api.AuditEntry
			if json.Unmarshal(line, &e) != nil || (name != "" && e.Session != name) {
				return true
			}
			entries = append(entries, e)
			return len(entries) < limit
		})
		f.Close()
		if err != nil {
			return nil, false, err
		}
		budget -= used
	}
	return entries, budget <= 0 && len(entries) < limit, nil
}

// auditLimit reads ?limit=N: defaultAuditLimit when absent.
func auditLimit(r *http.Request) (int, error) {
	v := r.URL.Query().Get("limit")
	if v == "" {
		return defaultAuditLimit, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > maxAuditLimit {
		return 0, session.Errorf(session.ErrInvalid, "limit %q is not a number from 1 to %d", v, maxAuditLimit)
	}
	return n, nil
}

// scanBackwards calls fn with each complete line of f, last line first,
// until fn returns false or budget bytes were read; it returns how many
// bytes it read. Memory stays within a chunk and one line.
func scanBackwards(f *os.File, budget int64, fn func([]byte) bool) (int64, error) {
	fi, err := f.Stat()
	if err != nil {
		return 0, err
	}
	end := fi.Size()
	var read int64
	var tail []byte // the start of a line whose end was read already
	skipping := false
	buf := make([]byte, auditChunk)
	for end > 0 && read < budget {
		n := min(int64(auditChunk), end, budget-read)
		off := end - n
		if _, err := f.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return read, err
		}
		read += n
		end = off
		chunk := append(buf[:n:n], tail...)
		tail = nil
		for {
			i := bytes.LastIndexByte(chunk, '\n')
			if i < 0 {
				break
			}
			line := chunk[i+1:]
			chunk = chunk[:i]
			if skipping || len(line) > maxAuditLine {
				skipping = false
				continue
			}
			if len(bytes.TrimSpace(line)) > 0 && !fn(line) {
				return read, nil
			}
		}
		if len(chunk) > maxAuditLine {
			skipping, chunk = true, nil
		}
		tail = append([]byte(nil), chunk...)
	}
	if end == 0 && !skipping && len(bytes.TrimSpace(tail)) > 0 {
		fn(tail) // the file's first line
	}
	return read, nil
}

// sessionAudit serves GET /sessions/{name}/audit?limit=N.
func (d *Daemon) sessionAudit(w http.ResponseWriter, r *http.Request) error {
	name := r.PathValue("name")
	if err := session.ValidateName(name); err != nil {
		return err
	}
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	entries, partial, err := readAudit(d.audit.Path(), name, limit)
	if err != nil {
		return err
	}
	if callerParent(r) != "" {
		// A parent sees its child's lines only, not those of an earlier
		// session of the same name (which it could create to read them).
		s, err := d.sessions.Get(name)
		if err != nil {
			return err
		}
		entries = slices.DeleteFunc(entries, func(e api.AuditEntry) bool { return e.Time.Before(s.CreatedAt) })
	}
	// A removed session's lines stay readable; a name that never made one
	// and is no session is most likely a typo.
	if len(entries) == 0 {
		if _, err := d.sessions.Get(name); err != nil {
			return err
		}
	}
	writeJSON(w, http.StatusOK, api.Audit{Session: name, Entries: entries, Partial: partial})
	return nil
}
