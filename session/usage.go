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
// (rewritten atomically after each answer, so a daemon killed loses at
// most the answers in flight, and rm removes it with the session), and
// the day's total across sessions in <home>/usage/<date>.json, which
// outlives them.
type ledger struct {
	dir     func(name string) string // a session's directory
	dayDir  string
	prices  Prices
	daily   float64 // USD a day across sessions; 0 for no cap
	now     func() time.Time
	mu      sync.Mutex
	entries map[string]*ledgerEntry
	day     string
	today   map[string]api.Tokens
}

func newLedger(dir func(string) string, home string, prices Prices, daily float64, now func() time.Time) *ledger {
	return &ledger{dir: dir, dayDir: filepath.Join(home, "usage"), prices: prices, daily: daily, now: now, entries: map[string]*ledgerEntry{}}
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
func (l *ledger) saveLocked(name string, e *ledgerEntry) error {
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
// every ancestor after it.
func (l *ledger) add(chain []string, model string, t api.Tokens) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	var errs []error
	for i, name := range chain {
		e := l.entryLocked(name)
		if i == 0 {
			e.Models[model] = e.Models[model].Add(t)
		}
		e.Tree[model] = e.Tree[model].Add(t)
		errs = append(errs, l.saveLocked(name, e))
	}
	day, today := l.todayLocked()
	today[model] = today[model].Add(t)
	if b, err := json.Marshal(today); err == nil {
		if err := os.MkdirAll(l.dayDir, 0o700); err != nil {
			errs = append(errs, err)
		} else {
			errs = append(errs, atomicfile.Write(filepath.Join(l.dayDir, day+".json"), b, 0o600))
		}
	}
	return errors.Join(errs...)
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
	u.TreeCostUSD, _ = l.cost(e.Tree)
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
