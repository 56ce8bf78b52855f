package daemon

import (
	"fmt"
	"math"
	"net/http"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/config"
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

func (d *Daemon) getDailyBudget(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, d.sessions.DailyBudget())
	return nil
}

// putDailyBudget changes the day's budget across sessions. User-only, as
// setBudget.
func (d *Daemon) putDailyBudget(w http.ResponseWriter, r *http.Request) error {
	var b api.SetDailyBudget
	if err := readJSON(r, &b); err != nil {
		return err
	}
	if b.USD == nil {
		return session.Errorf(session.ErrInvalid, "give the daily budget in US dollars: {\"usd\": 20}")
	}
	out, err := d.SetDailyBudget(*b.USD)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

// SetDailyBudget changes the day's budget across sessions at once and
// saves it in config.json, so a restarted daemon keeps it. The file is
// written first: a budget that could not be saved is not applied.
func (d *Daemon) SetDailyBudget(usd float64) (api.DailyBudget, error) {
	if usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return api.DailyBudget{}, session.Errorf(session.ErrInvalid, "a daily budget is a number of US dollars, 0 or more")
	}
	d.dailyMu.Lock()
	defer d.dailyMu.Unlock()
	if err := config.SetDailyUSD(d.cfg.Home, usd); err != nil {
		return api.DailyBudget{}, fmt.Errorf("cannot save the daily budget in config.json: %w", err)
	}
	return d.sessions.SetDailyBudget(usd)
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
