package session

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

// DefaultPrices are Anthropic's list prices (USD per million tokens) for
// current Claude models, as Claude Code's own cost table has them (5-minute
// cache writes); config.json's prices add to and override them. A
// model is priced by the longest key it starts with, so a dated model name
// (claude-sonnet-4-5-20250929) takes its family's price.
var DefaultPrices = map[string]api.Price{
	"claude-fable-5":    {Input: 10, Output: 50, CacheWrite: 12.5, CacheRead: 1},
	"claude-mythos-5":   {Input: 10, Output: 50, CacheWrite: 12.5, CacheRead: 1},
	"claude-opus-4-8":   {Input: 5, Output: 25, CacheWrite: 6.25, CacheRead: 0.50},
	"claude-opus-4-7":   {Input: 5, Output: 25, CacheWrite: 6.25, CacheRead: 0.50},
	"claude-opus-4-6":   {Input: 5, Output: 25, CacheWrite: 6.25, CacheRead: 0.50},
	"claude-opus-4-0":   {Input: 15, Output: 75, CacheWrite: 18.75, CacheRead: 1.50},
	"claude-sonnet-5":   {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-sonnet-4-6": {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-sonnet-4-0": {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-opus-4-5":   {Input: 5, Output: 25, CacheWrite: 6.25, CacheRead: 0.50},
	"claude-opus-4-1":   {Input: 15, Output: 75, CacheWrite: 18.75, CacheRead: 1.50},
	"claude-opus-4":     {Input: 15, Output: 75, CacheWrite: 18.75, CacheRead: 1.50},
	"claude-sonnet-4-5": {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-sonnet-4":   {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-3-7-sonnet": {Input: 3, Output: 15, CacheWrite: 3.75, CacheRead: 0.30},
	"claude-haiku-4-5":  {Input: 1, Output: 5, CacheWrite: 1.25, CacheRead: 0.10},
	"claude-3-5-haiku":  {Input: 0.80, Output: 4, CacheWrite: 1, CacheRead: 0.08},
	"claude-3-haiku":    {Input: 0.25, Output: 1.25, CacheWrite: 0.30, CacheRead: 0.03},
}

// Prices is a price table by model name (or name prefix).
type Prices map[string]api.Price

// Lookup is model's price: the entry named exactly, or the longest one
// model starts with followed by "-".
func (p Prices) Lookup(model string) (api.Price, bool) {
	if pr, ok := p[model]; ok {
		return pr, true
	}
	best, found := "", false
	for k := range p {
		if strings.HasPrefix(model, k+"-") && len(k) > len(best) {
			best, found = k, true
		}
	}
	return p[best], found
}

// usageFile is the state file holding a session's usage and budget.
const usageFile = "usage.json"

// ledgerEntry is what usageFile holds: a session's own tokens per model,
// the same counting its children's too (what its budget is compared
// with), and its budget.
type ledgerEntry struct {
	Models map[string]api.Tokens `json:"models"`
	Tree   map[string]api.Tokens `json:"tree"`
	Budget api.Budget            `json:"budget,omitzero"`
}

// ledger keeps every session's usage, persisted in the session's directory
// (rm removes it with the session), and the day's total across sessions
// in <home>/usage/<date>.json, which outlives them. An answer's usage is
// counted in memory at once, where budgets are checked, and its files are
// rewritten atomically straight after by a writer of its own: the proxy's
// handler, and the next request on its connection, never wait for a
// synced write, and a daemon killed loses at most the answers whose write
// was under way. Writes that pile up meanwhile are made once.
type ledger struct {
	dir     func(name string) string // a session's directory
	dayDir  string
	prices  Prices
	daily   float64 // USD a day across sessions; 0 for no cap
	now     func() time.Time
	onErr   func(error) // a write that failed
	mu      sync.Mutex
	entries map[string]*ledgerEntry
	day     string
	today   map[string]api.Tokens
	// dirty are the entries, and dayDirty the day, not written since they
	// changed; writing says the writer runs, and idle is signalled when
	// it stops.
	dirty    map[string]bool
	dayDirty bool
	// endedDay is a day that ended before its last figures were written,
	// and those figures (the writer writes them first).
	endedDay     string
	endedDayJSON []byte
	writing      bool
	idle         *sync.Cond
}

func newLedger(dir func(string) string, home string, prices Prices, daily float64, now func() time.Time, onErr func(error)) *ledger {
	l := &ledger{dir: dir, dayDir: filepath.Join(home, "usage"), prices: prices, daily: daily, now: now, onErr: onErr,
		entries: map[string]*ledgerEntry{}, dirty: map[string]bool{}}
	l.idle = sync.NewCond(&l.mu)
	return l
}

// entryLocked is name's entry, read from its file the first time.
func (l *ledger) entryLocked(name string) *ledgerEntry {
	if e, ok := l.entries[name]; ok {
		return e
	}
	e := &ledgerEntry{}
	if b, err := os.ReadFile(filepath.Join(l.dir(name), usageFile)); err == nil {
		_ = json.Unmarshal(b, e)
	}
	if e.Models == nil {
		e.Models = map[string]api.Tokens{}
	}
	if e.Tree == nil {
		e.Tree = map[string]api.Tokens{}
	}
	l.entries[name] = e
	return e
}

// saveLocked writes name's entry into its session's directory, if that
// still exists (a session removed meanwhile is not made again).
// It waits for the writer first, which would otherwise save an older
// copy after this one. Call with mu held.
func (l *ledger) saveLocked(name string, e *ledgerEntry) error {
	for l.writing {
		l.idle.Wait()
	}
	delete(l.dirty, name)
	d := l.dir(name)
	if _, err := os.Stat(d); err != nil {
		return nil
	}
	b, err := json.Marshal(e)
	if err != nil {
		return err
	}
	return atomicfile.Write(filepath.Join(d, usageFile), b, 0o600)
}

// todayLocked is the day's total per model, read from its file the first
// time of each day.
func (l *ledger) todayLocked() (string, map[string]api.Tokens) {
	day := l.now().Format("2006-01-02")
	if day != l.day {
		if l.dayDirty && l.day != "" {
			// The day ended with its last figures unwritten: they go to
			// their own day's file, not the new one.
			if b, err := json.Marshal(l.today); err == nil {
				l.endedDay, l.endedDayJSON = l.day, b
			}
		}
		l.day, l.today = day, map[string]api.Tokens{}
		if b, err := os.ReadFile(filepath.Join(l.dayDir, day+".json")); err == nil {
			_ = json.Unmarshal(b, &l.today)
		}
	}
	return l.day, l.today
}

// start gives a new session an empty ledger with budget b.
func (l *ledger) start(name string, b api.Budget) error {
	if b.USD < 0 || b.Tokens < 0 {
		return Errorf(ErrInvalid, "a budget cannot be negative")
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	e := &ledgerEntry{Models: map[string]api.Tokens{}, Tree: map[string]api.Tokens{}, Budget: b}
	l.entries[name] = e
	return l.saveLocked(name, e)
}

// add counts t of model for chain[0], and in the tree totals of it and
// every ancestor after it, at once; the writer saves them.
func (l *ledger) add(chain []string, model string, t api.Tokens) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for i, name := range chain {
		e := l.entryLocked(name)
		if i == 0 {
			e.Models[model] = e.Models[model].Add(t)
		}
		e.Tree[model] = e.Tree[model].Add(t)
		l.dirty[name] = true
	}
	_, today := l.todayLocked()
	today[model] = today[model].Add(t)
	l.dayDirty = true
	if !l.writing {
		l.writing = true
		go l.write()
	}
}

// write saves what changed until nothing has: each round takes what is
// dirty under the lock and writes it without.
func (l *ledger) write() {
	type file struct {
		dir, name string
		b         []byte
	}
	l.mu.Lock()
	for len(l.dirty) > 0 || l.dayDirty || l.endedDay != "" {
		var files []file
		for name := range l.dirty {
			if b, err := json.Marshal(l.entries[name]); err == nil {
				files = append(files, file{dir: l.dir(name), name: usageFile, b: b})
			}
		}
		clear(l.dirty)
		if l.endedDay != "" {
			files = append(files, file{dir: l.dayDir, name: l.endedDay + ".json", b: l.endedDayJSON})
			l.endedDay, l.endedDayJSON = "", nil
		}
		if l.dayDirty {
			day, _ := json.Marshal(l.today)
			files = append(files, file{dir: l.dayDir, name: l.day + ".json", b: day})
			l.dayDirty = false
		}
		l.mu.Unlock()
		var errs []error
		for _, f := range files {
			if f.dir == l.dayDir {
				if err := os.MkdirAll(l.dayDir, 0o700); err != nil {
					errs = append(errs, err)
					continue
				}
			} else if _, err := os.Stat(f.dir); err != nil {
				continue // removed meanwhile: not made again
			}
			errs = append(errs, atomicfile.Write(filepath.Join(f.dir, f.name), f.b, 0o600))
		}
		if err := errors.Join(errs...); err != nil && l.onErr != nil {
			l.onErr(err)
		}
		l.mu.Lock()
	}
	l.writing = false
	l.idle.Broadcast()
	l.mu.Unlock()
}

// flush waits until every change so far is written.
func (l *ledger) flush() {
	l.mu.Lock()
	for l.writing {
		l.idle.Wait()
	}
	l.mu.Unlock()
}

// forget stops writing name's entry and waits for a write of it under
// way, so that its directory can be removed.
func (l *ledger) forget(name string) {
	l.mu.Lock()
	delete(l.dirty, name)
	delete(l.entries, name)
	l.mu.Unlock()
	l.flush()
}

// cost is what per-model tokens cost, and whether every model is priced.
func (l *ledger) cost(models map[string]api.Tokens) (usd float64, known bool) {
	known = true
	for m, t := range models {
		if p, ok := l.prices.Lookup(m); ok {
			usd += p.Cost(t)
		} else {
			known = false
		}
	}
	return usd, known
}

// spendCost is what per-model tokens count against a budget in US
// dollars: a model without a price at the table's highest price for each
// kind of token, so that no model the agent names spends for free.
func (l *ledger) spendCost(models map[string]api.Tokens) float64 {
	var top api.Price
	for _, p := range l.prices {
		top = api.Price{Input: max(top.Input, p.Input), Output: max(top.Output, p.Output),
			CacheWrite: max(top.CacheWrite, p.CacheWrite), CacheRead: max(top.CacheRead, p.CacheRead)}
	}
	var usd float64
	for m, t := range models {
		p, ok := l.prices.Lookup(m)
		if !ok {
			p = top
		}
		usd += p.Cost(t)
	}
	return usd
}

// usage is name's usage for the API, nil when it has none and no budget.
func (l *ledger) usage(name string) *api.Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	e := l.entryLocked(name)
	if len(e.Tree) == 0 && e.Budget == (api.Budget{}) {
		return nil
	}
	u := &api.Usage{Budget: e.Budget}
	u.CostUSD, u.CostKnown = l.cost(e.Models)
	u.TreeCostUSD = l.spendCost(e.Tree)
	for m, t := range e.Models {
		u.Tokens = u.Tokens.Add(t)
		mu := api.ModelUsage{Model: m, Tokens: t}
		if p, ok := l.prices.Lookup(m); ok {
			mu.CostUSD, mu.Priced = p.Cost(t), true
		}
		u.Models = append(u.Models, mu)
	}
	for _, t := range e.Tree {
		u.TreeTokens += t.Total()
	}
	sort.Slice(u.Models, func(i, j int) bool { return u.Models[i].Model < u.Models[j].Model })
	return u
}
