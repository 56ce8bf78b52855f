package webui

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"html/template"
	"net/http"
	"strings"
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
func (a *auth) newSession() (id, csrf string, err error) {
	id, err = randomToken()
	if err != nil {
		return "", "", err
	}
	csrf, err = randomToken()
	if err != nil {
		return "", "", err
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
	return id, csrf, nil
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

// require lets through requests of a logged-in browser only. A cookie is
// sent to every port of 127.0.0.1 (cookies know no ports, and SameSite
// counts every port as the same site), so it cannot be all: every /api
// and /ui request must also carry the session's token, which the login
// page hands to this origin alone (its localStorage), as a header or, for
// a WebSocket (which cannot set one), as a subprotocol. Pages and the
// frontend's files are public code and need the cookie only.
func (a *auth) require(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s, ok := a.session(r)
		if !ok {
			notLoggedIn(w, r)
			return
		}
		if isAPI(r.URL.Path) || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
			got := r.Header.Get(csrfHeader)
			if got == "" {
				got = tokenProtocol(r)
			}
			if got == "" || subtle.ConstantTimeCompare([]byte(got), []byte(s.csrf)) != 1 {
				w.Header().Set("Connection", "close")
				writeJSON(w, http.StatusForbidden, map[string]string{"error": "missing or wrong CSRF token (log in again with clauderon ui)"})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

// wsProtocol is the terminal WebSocket's subprotocol; the token rides in
// another, tokenPrefix + token, which the server never echoes.
const (
	wsProtocol  = "clauderon"
	tokenPrefix = "clauderon-csrf."
)

// tokenProtocol is the token a WebSocket upgrade offers as a subprotocol.
func tokenProtocol(r *http.Request) string {
	if !strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
		return ""
	}
	for _, h := range r.Header.Values("Sec-WebSocket-Protocol") {
		for _, p := range strings.Split(h, ",") {
			if t, ok := strings.CutPrefix(strings.TrimSpace(p), tokenPrefix); ok {
				return t
			}
		}
	}
	return ""
}

// login spends the token in the query and, if it was good, sets the
// cookie and answers a page that hands the session's token to this origin
// (login.js keeps it in localStorage, which is this port's alone) and goes
// on to /, so the login token leaves the address bar and the history.
// It is reached by a navigation from anywhere (a file clauderon ui wrote,
// another app), so the guard lets it cross sites: the token is its secret.
func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	if !s.auth.spendLogin(r.URL.Query().Get("token")) {
		w.Header().Set("Connection", "close")
		page(w, http.StatusUnauthorized, "This login link does not work",
			"It was used already, it expired (links work once, for 2 minutes), or the daemon restarted since it was made (a restart logs every browser out). Run `clauderon ui` again for a new one.")
		return
	}
	id, csrf, err := s.auth.newSession()
	if err != nil {
		page(w, http.StatusInternalServerError, "Cannot log in", err.Error())
		return
	}
	http.SetCookie(w, &http.Cookie{Name: cookieName, Value: id, Path: "/", HttpOnly: true, SameSite: http.SameSiteStrictMode})
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_ = loginTmpl.Execute(w, csrf)
}

var loginTmpl = template.Must(template.New("login").Parse(`<!doctype html>
<html lang="en"><meta charset="utf-8"><meta name="clauderon-csrf" content="{{.}}"><title>clauderon: logging in</title>
<script type="module" src="/js/login.js"></script>
<p>Logging in to clauderon…</p>
<noscript><p>The clauderon web UI needs JavaScript.</p></noscript>
</html>
`))

const loginAdvice = "not logged in to the clauderon web UI (or the daemon restarted, which logs every browser out): run clauderon ui to log in"

func notLoggedIn(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Connection", "close") // hold no slot of the listener's pool
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
