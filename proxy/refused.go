package proxy

import (
	"cmp"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"sync"
	"time"
)

// RefusedFile is where Audit writes the requests refused before they
// authenticated, beside AuditFile.
const RefusedFile = "refused.jsonl"

const (
	// refusedWindow is how long one client's refused requests are counted
	// into one summary line, after the first is written in full.
	refusedWindow = 10 * time.Second
	// maxRefusedAddrs bounds the clients with a window open; refused
	// requests from any further client share one more, otherAddrs.
	maxRefusedAddrs = 1024
	otherAddrs      = "other"
	// maxSummarySessions bounds the claimed session names a summary counts.
	maxSummarySessions = 16
	// refusedMaxBytes is refused.jsonl's size budget, apart from the audit
	// log's: at most about two lines per client every 10 s reach it.
	refusedMaxBytes = 10 << 20
)

// peerAddr is the address of the client that sent r.
func peerAddr(r *http.Request) string {
	if only := onlySession(r); only != "" {
		return socketPeer(only)
	}
	return r.RemoteAddr
}

// socketPeer names the client of a session's own socket: only that
// session's container reaches it (a unix peer has no address).
func socketPeer(session string) string { return "socket of session " + session }

// connPeerAddr is peerAddr for a connection net/http refused before any
// request was made of it; the two must agree.
func connPeerAddr(c net.Conn) string {
	if a := c.RemoteAddr(); a != nil {
		return a.String()
	}
	return ""
}

// refuse answers err to a request that did not authenticate, and audits it
// as refused.
func (p *Proxy) refuse(w http.ResponseWriter, r *http.Request, e *AuditEntry, err error) {
	e.Refused, e.Addr = true, peerAddr(r)
	p.fail(w, e, err)
}

// refusals writes refused requests to their file, folded by client: the
// first request of a client's window is written in full, the rest of the
// window are only counted, and the count is written as one summary line
// when the window ends. However many requests a client sends, that is at
// most two lines from it every refusedWindow.
type refusals struct {
	out *jsonlFile
	now func() time.Time

	mu      sync.Mutex
	windows map[string]*refusedTally // by clientKey
	timer   *time.Timer              // ends windows; nil while none is open
	failed  error                    // a summary the timer could not write, for the next record
	closed  bool
}

// refusedTally counts a client's refused requests after the first of a
// window.
type refusedTally struct {
	start, end time.Time
	count      int
	statuses   map[int]int
	sessions   map[string]int
}

// refusedSummary is the line that ends a window in which a client had more
// refused requests than the one written in full.
type refusedSummary struct {
	Time     time.Time      `json:"time"` // when the window ended
	Summary  string         `json:"summary"`
	Addr     string         `json:"addr"`
	Count    int            `json:"count"`              // the requests not written in full
	Since    time.Time      `json:"since"`              // the window's first request, written in full
	Statuses map[int]int    `json:"statuses"`           // count by status
	Sessions map[string]int `json:"sessions,omitempty"` // count by session name claimed, for a few names
}

func newRefusals(out *jsonlFile, now func() time.Time) *refusals {
	return &refusals{out: out, now: now, windows: make(map[string]*refusedTally)}
}

// clientKey is what refused requests are counted by: the client's host
// without the port, since a client gets a new port with every connection.
func clientKey(addr string) string {
	if host, _, err := net.SplitHostPort(addr); err == nil {
		return host
	}
	return addr
}

// record writes e in full if it opens its client's window, and otherwise
// only counts it. e is already bounded.
func (r *refusals) record(e AuditEntry) error {
	now := r.now()
	key := clientKey(e.Addr)
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return fmt.Errorf("audit log %s is closed", r.out.path)
	}
	err := r.failed
	r.failed = nil
	t := r.windows[key]
	if t == nil && len(r.windows) >= maxRefusedAddrs {
		key, t = otherAddrs, r.windows[otherAddrs]
	}
	if t != nil && !now.Before(t.end) { // over, and the timer has not run yet
		err = errors.Join(err, r.end(key, t, now))
		t = nil
	}
	if t != nil {
		t.add(e)
		return err
	}
	r.windows[key] = &refusedTally{start: now, end: now.Add(refusedWindow)}
	if r.timer == nil {
		// Every other open window ends before this one.
		r.timer = time.AfterFunc(refusedWindow, r.sweep)
	}
	return errors.Join(err, r.out.writeJSON(e))
}

func (t *refusedTally) add(e AuditEntry) {
	t.count++
	if t.statuses == nil {
		t.statuses = make(map[int]int)
	}
	t.statuses[e.Status]++
	if e.Session == "" {
		return
	}
	if _, ok := t.sessions[e.Session]; ok || len(t.sessions) < maxSummarySessions {
		if t.sessions == nil {
			t.sessions = make(map[string]int)
		}
		t.sessions[e.Session]++
	}
}

// sweep ends the windows that are over, and sets the timer for the next.
func (r *refusals) sweep() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.timer = nil
	if r.closed {
		return
	}
	now := r.now()
	next, err := r.endWindows(now, false)
	if r.failed == nil {
		r.failed = err
	}
	if !next.IsZero() {
		r.timer = time.AfterFunc(next.Sub(now), r.sweep)
	}
}

// endWindows ends the windows that are over at now, or all of them, oldest
// first, and returns when the next of the others ends (zero if none is
// left).
func (r *refusals) endWindows(now time.Time, all bool) (next time.Time, err error) {
	var over []string
	for key, t := range r.windows {
		if all || !now.Before(t.end) {
			over = append(over, key)
		} else if next.IsZero() || t.end.Before(next) {
			next = t.end
		}
	}
	slices.SortFunc(over, func(a, b string) int {
		return cmp.Or(r.windows[a].start.Compare(r.windows[b].start), cmp.Compare(a, b))
	})
	for _, key := range over {
		err = errors.Join(err, r.end(key, r.windows[key], now))
	}
	return next, err
}

// end closes key's window and writes its summary, if it counted anything.
func (r *refusals) end(key string, t *refusedTally, now time.Time) error {
	delete(r.windows, key)
	if t.count == 0 {
		return nil
	}
	at := t.end
	if now.Before(at) { // ended early, by close
		at = now
	}
	from, noun := key, "requests"
	if key == otherAddrs {
		from = "other addresses"
	}
	if t.count == 1 {
		noun = "request"
	}
	secs := int(at.Sub(t.start).Round(time.Second) / time.Second)
	return r.out.writeJSON(refusedSummary{
		Time:     at.UTC(),
		Summary:  fmt.Sprintf("%d more refused %s from %s in %d s", t.count, noun, from, secs),
		Addr:     key,
		Count:    t.count,
		Since:    t.start.UTC(),
		Statuses: t.statuses,
		Sessions: t.sessions,
	})
}

// close writes the summaries of the windows still open and closes the file.
func (r *refusals) close() error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if r.timer != nil {
		r.timer.Stop()
		r.timer = nil
	}
	_, err := r.endWindows(r.now(), true)
	return errors.Join(r.failed, err, r.out.close())
}
