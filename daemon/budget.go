package daemon

import (
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
)

// setBudget changes a session's budget at once. A user-only route: no
// session may raise its own or its parent's budget.
func (d *Daemon) setBudget(w http.ResponseWriter, r *http.Request) error {
	var b api.SetBudget
	if err := readJSON(r, &b); err != nil {
		return err
	}
	s, err := d.sessions.SetBudget(r.PathValue("name"), b)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, s)
	return nil
}

// recordUsage is the proxy's Config.Usage: what each Messages answer used
// goes into the session's ledger.
func (d *Daemon) recordUsage(name string, u proxy.Usage) {
	d.sessions.RecordUsage(name, u.Model, session.Tokens{
		Input: u.InputTokens, Output: u.OutputTokens,
		CacheWrite: u.CacheWriteTokens, CacheRead: u.CacheReadTokens,
	})
}

// prices is config.json's price table for the session manager.
func (d *Daemon) prices() session.Prices {
	p := session.Prices{}
	for m, v := range d.conf.Prices {
		p[m] = api.Price{Input: v.Input, Output: v.Output, CacheWrite: v.CacheWrite, CacheRead: v.CacheRead}
	}
	return p
}
