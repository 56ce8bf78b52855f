package daemon

import (
	"encoding/json"
	"errors"
	"net/http"
	"os"
	"slices"
	"strconv"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// RecentAudit returns the proxy's latest limit requests, of session name
// only when name is not empty, newest last; partial says older lines may
// exist past the read bound (maxAuditScan).
func (d *Daemon) RecentAudit(name string, limit int) (entries []api.AuditEntry, partial bool, err error) {
	if name != "" {
		if err := session.ValidateName(name); err != nil {
			return nil, false, err
		}
		entries, partial, err = readAudit(d.audit.Path(), name, limit)
	} else {
		entries, partial, err = readAllAudit(d.audit.Path(), limit)
	}
	if err != nil {
		return nil, false, err
	}
	slices.Reverse(entries)
	return entries, partial, nil
}

// readAllAudit is readAudit for every session: the latest limit lines,
// newest first.
func readAllAudit(path string, limit int) (entries []api.AuditEntry, partial bool, err error) {
	budget := int64(maxAuditScan)
	files := []string{path}
	for i := 1; i <= auditRotations; i++ {
		files = append(files, path+"."+strconv.Itoa(i))
	}
	entries = []api.AuditEntry{}
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
			var e api.AuditEntry
			if json.Unmarshal(line, &e) != nil {
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

// recentAudit serves GET /audit?limit=N&session=S.
func (d *Daemon) recentAudit(w http.ResponseWriter, r *http.Request) error {
	limit := defaultAuditLimit
	if v := r.URL.Query().Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > maxAuditLimit {
			return session.Errorf(session.ErrInvalid, "limit %q is not a number from 1 to %d", v, maxAuditLimit)
		}
		limit = n
	}
	entries, partial, err := d.RecentAudit(r.URL.Query().Get("session"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AuditList{Entries: entries, Partial: partial})
	return nil
}
