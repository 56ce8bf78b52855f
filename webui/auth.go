package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"sync"
	"time"
)

// A browser logs in with a one-time token the user minted through the
// LocalAPI socket (`clauderon ui`), which only the user can reach; it gets a
// cookie naming a session held in memory, and a CSRF token bound to that
// session for every state-changing request. Nothing is written to disk: a
// daemon restart logs every browser out.
const (
	cookieName = "clauderon_ui"
	csrfHeader = "X-Clauderon-CSRF"
	// loginTTL is how long a login URL works: long enough to open a
	// browser, short enough that one left in a terminal's scrollback is dead.
	loginTTL = 2 * time.Minute
	// sessionIdle ends a cookie session nobody used for this long.
	sessionIdle = 12 * time.Hour
	// Bounds of what is held, so that nothing grows without end.
	maxLogins   = 32
	maxSessions = 64
)

type auth struct {
	now func() time.Time

	mu sync.Mutex
	// logins are the unspent tokens and their expiry.
	logins map[string]time.Time
	// sessions are keyed by the SHA-256 of the cookie's value, so that a
	// map lookup reveals nothing of a value by its timing.
	sessions map[[32]byte]*cookieSession
}

type cookieSession struct {
	csrf     string
	lastSeen time.Time
}

func newAuth(now func() time.Time) *auth {
	return &auth{now: now, logins: map[string]time.Time{}, sessions: map[[32]byte]*cookieSession{}}
}

// randomToken is 32 random bytes, base64url.
func randomToken() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// mintLogin makes a one-time login token.
func (a *auth) mintLogin() (string, time.Time, error) {
	tok, err := randomToken()
	if err != nil {
		return "", time.Time{}, err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for t, exp := range a.logins {
		if !now.Before(exp) {
			delete(a.logins, t)
		}
	}
	for len(a.logins) >= maxLogins {
		a.dropOldestLoginLocked()
	}
	exp := now.Add(loginTTL)
	a.logins[tok] = exp
	return tok, exp, nil
}

func (a *auth) dropOldestLoginLocked() {
	var oldest string
	var at time.Time
	for t, exp := range a.logins {
		if oldest == "" || exp.Before(at) {
			oldest, at = t, exp
		}
	}
	delete(a.logins, oldest)
}

// spendLogin reports whether tok is an unspent, unexpired login token, and
// spends it either way. Every pending token is compared, in constant time,
// so the answer's timing says nothing of how close a guess came.
func (a *auth) spendLogin(tok string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	var found string
	for t := range a.logins {
		if subtle.ConstantTimeCompare([]byte(t), []byte(tok)) == 1 {
			found = t
		}
	}
	if found == "" {
		return false
	}
	exp := a.logins[found]
	delete(a.logins, found)
	return a.now().Before(exp)
}

// newSession starts a cookie session and returns the cookie's value.
func (a *auth) newSession() (string, error) {
	id, err := randomToken()
	if err != nil {
		return "", err
	}
	csrf, err := randomToken()
	if err != nil {
		return "", err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for k, s := range a.sessions {
		if now.Sub(s.lastSeen) >= sessionIdle {
			delete(a.sessions, k)
		}
	}
	for len(a.sessions) >= maxSessions {
		var oldest [32]byte
		var at time.Time
		first := true
		for k, s := range a.sessions {
			if first || s.lastSeen.Before(at) {
				oldest, at, first = k, s.lastSeen, false
			}
		}
		delete(a.sessions, oldest)
	}
	a.sessions[sha256.Sum256([]byte(id))] = &cookieSession{csrf: csrf, lastSeen: now}
	return id, nil
}

// session finds the cookie session of r, touching it.
func (a *auth) session(r *http.Request) (*cookieSession, bool) {
	c, err := r.Cookie(cookieName)
	if err != nil || c.Value == "" {
		return nil, false
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	k := sha256.Sum256([]byte(c.Value))
	s, ok := a.sessions[k]
	if !ok {
		return nil, false
	}
	now := a.now()
	if now.Sub(s.lastSeen) >= sessionIdle {
		delete(a.sessions, k)
		return nil, false
	}
	s.lastSeen = now
	return s, true
}

// require lets through requests of a logged-in browser only, and
// state-changing ones only with the session's CSRF token.
func (a *auth) require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.session(r)
		if !ok {
			notLoggedIn(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			got := r.Header.Get(csrfHeader)
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// csrfOf returns the CSRF token of r's session (require passed it).
func (a *auth) csrfOf(r *http.Request) string {
	s, ok := a.session(r)
	if !ok {
		return ""
	}
	return s.csrf
}

// login spends the token in the query and, if it was good, sets the
// cookie and sends the browser to / so the token leaves the address bar
// (and the history entry that would hold it is replaced).
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.auth.spendLogin(r.URL.Query().Get("token")) {
		page(w, http.StatusUnauthorized, "This login link does not work",
			"It was used already, it expired (links work once, for 2 minutes), or the daemon restarted since it was made (a restart logs every browser out). Run `clauderon ui` again for a new one.")
		return
	}
	id, err := s.auth.newSession()
	if err != nil {
		page(w, http.StatusInternalServerError, "Cannot log in", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

// uiSession hands the page its CSRF token; the cookie itself stays out of
// the page's reach (HttpOnly).
func (s *Server) uiSession(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, map[string]string{"csrf": s.auth.csrfOf(r)})
}

const loginAdvice = "not logged in to the clauderon web UI (or the daemon restarted, which logs every browser out): run clauderon ui to log in"

func notLoggedIn(w http.ResponseWriter, r *http.Request) {
	if isAPI(r.URL.Path) {
		writeJSON(w, http.StatusUnauthorized, map[string]string{"error": loginAdvice})
		return
	}
	page(w, http.StatusUnauthorized, "Not logged in",
		"Run `clauderon ui` to open the web UI logged in. A daemon restart logs every browser out.")
}

var pageTmpl = template.Must(template.New("page").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><title>clauderon: {{.Title}}</title>
<h1>{{.Title}}</h1>
<p>{{.Text}}</p>
</html>
`))

// page answers a small HTML page (the 401s a browser shows).
func page(w http.ResponseWriter, code int, title, text string) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = pageTmpl.Execute(w, struct{ Title, Text string }{title, text})
}
