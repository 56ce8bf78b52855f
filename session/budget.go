package session

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"

	"github.com/clauderon/clauderon/api"
)

// ErrBudgetSpent: a session's budget, or the day's across sessions, is
// spent. The proxy refuses the session's next Messages request with it.
var ErrBudgetSpent = errors.New("budget spent")

// spentError is ErrBudgetSpent with a message of its own: the proxy sends
// it to Claude Code as it is, so it starts with "clauderon:".
type spentError struct{ msg string }

func (e spentError) Error() string        { return e.msg }
func (e spentError) Is(target error) bool { return target == ErrBudgetSpent }

func spent(format string, args ...any) error { return spentError{fmt.Sprintf(format, args...)} }

// chainLocked is name and its ancestors, nearest first, as far as they
// are still known. Call with mu held.
func (m *Manager) chainLocked(name string) []string {
	chain := []string{name}
	seen := map[string]bool{name: true}
	for r, ok := m.sessions[name]; ok && r.Parent != "" && !seen[r.Parent]; r, ok = m.sessions[r.Parent] {
		seen[r.Parent] = true
		chain = append(chain, r.Parent)
	}
	return chain
}

// RecordUsage counts one Messages answer of session name: in its own
// usage, in its ancestors' (whose budgets it counts against) and in the
// day's. A name no session has is ignored.
func (m *Manager) RecordUsage(name, model string, t Tokens) {
	m.mu.Lock()
	if _, ok := m.sessions[name]; !ok {
		m.mu.Unlock()
		return
	}
	chain := m.chainLocked(name)
	m.mu.Unlock()
	t.Requests = 1
	m.usage.add(chain, model, t)
	m.usageChanged(chain...)
}

// FlushUsage waits until every usage counted so far, and every activity
// reported, is in its files: the daemon calls it as it stops.
func (m *Manager) FlushUsage() {
	m.usage.flush()
	m.acts.flush()
}

// usageChanged wakes every Wait and tells the event stream the new usage
// of each of names.
func (m *Manager) usageChanged(names ...string) {
	m.mu.Lock()
	m.notify()
	m.mu.Unlock()
	// Read and published in turn: of two answers counted at once, the
	// later event always carries the later figures.
	m.usagePub.Lock()
	defer m.usagePub.Unlock()
	for _, n := range names {
		if b, err := json.Marshal(m.usage.usage(n)); err == nil {
			m.Publish(Event{Kind: EventUsage, Name: n, Usage: b})
		}
	}
}

// Tokens is a count of Messages API tokens.
type Tokens = api.Tokens

// Budget caps a session's spending.
type Budget = api.Budget

// CheckBudget says why session name may send no more Messages requests:
// its budget, an ancestor's (which its usage counts against), or the day's
// across sessions is spent. nil when none is.
func (m *Manager) CheckBudget(name string) error {
	m.mu.Lock()
	chain := m.chainLocked(name)
	m.mu.Unlock()
	for i, who := range chain {
		u := m.usage.usage(who)
		if u == nil {
			continue
		}
		of := ""
		switch {
		case i == 1:
			of = fmt.Sprintf(" (which its child %s counts against)", name)
		case i > 1:
			of = fmt.Sprintf(" (which its descendant %s counts against)", name)
		}
		if b := u.Budget.USD; b > 0 && u.TreeCostUSD >= b {
			return spent("clauderon: session %s's budget of %s%s is spent (%s used); raise it with `clauderon budget %s %s`",
				who, usd(b), of, usd(u.TreeCostUSD), who, strconv.FormatFloat(math.Ceil((u.TreeCostUSD+b)*100)/100, 'f', 2, 64))
		}
		if b := u.Budget.Tokens; b > 0 && u.TreeTokens >= b {
			return spent("clauderon: session %s's budget of %d tokens%s is spent (%d used); raise it with `clauderon budget %s --tokens %d`",
				who, b, of, u.TreeTokens, who, max(2*b, u.TreeTokens+b))
		}
	}
	if used, cap := m.SpentToday(); cap > 0 && used >= cap {
		return spent("clauderon: today's budget of %s across all sessions is spent (%s used); raise it with `clauderon budget --daily USD`",
			usd(cap), usd(used))
	}
	return nil
}

// SpentToday is the cost of today's Messages answers across sessions
// (removed ones too), and the daily cap (0 for none).
func (m *Manager) SpentToday() (usd, cap float64) {
	l := m.usage
	l.mu.Lock()
	defer l.mu.Unlock()
	_, today := l.todayLocked()
	usd = l.spendCost(today)
	return usd, l.daily
}

// DailyBudget is the day's cap across sessions and what it spent.
func (m *Manager) DailyBudget() api.DailyBudget {
	l := m.usage
	l.mu.Lock()
	defer l.mu.Unlock()
	day, today := l.todayLocked()
	usd := l.spendCost(today)
	return api.DailyBudget{Day: day, USD: l.daily, SpentUSD: usd}
}

// SetDailyBudget changes the day's cap across sessions at once; 0
// removes it. The proxy's next check sees it.
func (m *Manager) SetDailyBudget(usd float64) (api.DailyBudget, error) {
	if usd < 0 || math.IsNaN(usd) || math.IsInf(usd, 0) {
		return api.DailyBudget{}, Errorf(ErrInvalid, "a daily budget is a number of US dollars, 0 or more")
	}
	m.usage.mu.Lock()
	m.usage.daily = usd
	m.usage.mu.Unlock()
	m.mu.Lock()
	m.notify()
	m.mu.Unlock()
	return m.DailyBudget(), nil
}

// SetBudget changes session name's budget at once: the caps b sets, the
// others kept; a cap of 0 removes it.
func (m *Manager) SetBudget(name string, b api.SetBudget) (Session, error) {
	if (b.USD != nil && *b.USD < 0) || (b.Tokens != nil && *b.Tokens < 0) {
		return Session{}, Errorf(ErrInvalid, "a budget cannot be negative")
	}
	if b.USD == nil && b.Tokens == nil {
		return Session{}, Errorf(ErrInvalid, "give a budget in US dollars, tokens, or both")
	}
	m.mu.Lock()
	if _, ok := m.sessions[name]; !ok {
		m.mu.Unlock()
		return Session{}, notFound(name)
	}
	l := m.usage
	l.mu.Lock()
	e := l.entryLocked(name)
	if b.USD != nil {
		e.Budget.USD = *b.USD
	}
	if b.Tokens != nil {
		e.Budget.Tokens = *b.Tokens
	}
	err := l.saveLocked(name, e)
	l.mu.Unlock()
	m.mu.Unlock()
	if err != nil {
		return Session{}, fmt.Errorf("cannot save the budget: %w", err)
	}
	m.usageChanged(name)
	return m.Get(name)
}

// usd formats dollars for messages: $0.0123, $1.50.
func usd(v float64) string {
	if v < 1 {
		return "$" + strconv.FormatFloat(v, 'f', 4, 64)
	}
	return "$" + strconv.FormatFloat(v, 'f', 2, 64)
}
