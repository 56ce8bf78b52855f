package daemon

import (
	"net/http"
	"slices"

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
	}
	entries, partial, err = readAudit(d.audit.Path(), name, limit)
	if err != nil {
		return nil, false, err
	}
	slices.Reverse(entries)
	return entries, partial, nil
}

// recentAudit serves GET /audit?limit=N&session=S.
func (d *Daemon) recentAudit(w http.ResponseWriter, r *http.Request) error {
	limit, err := auditLimit(r)
	if err != nil {
		return err
	}
	entries, partial, err := d.RecentAudit(r.URL.Query().Get("session"), limit)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, api.AuditList{Entries: entries, Partial: partial})
	return nil
}
