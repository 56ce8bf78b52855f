// Package webui serves clauderon's web UI on 127.0.0.1: the embedded
// frontend, the daemon's LocalAPI under /api/v0 (for a logged-in browser
// only) and a WebSocket bridge to interactive sessions' terminals.
package webui

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Config wires a UI server. API, Attach, Resize and Files are required.
type Config struct {
	// Port on 127.0.0.1; 0 lets the kernel pick one (tests). The server
	// never listens on any other address: the only thing between this
	// listener and every session is the cookie.
	Port int
	// API is the LocalAPI handler, already limited to the routes the UI
	// may reach; it is served at its own paths (/api/v0/...).
	API http.Handler
	// Attach joins a session's TTY (as `clauderon attach`); Resize sets
	// its size.
	Attach func(ctx context.Context, name string) (io.ReadWriteCloser, error)
	Resize func(ctx context.Context, name string, rows, cols uint) error
	// WriteError answers err as the LocalAPI would (its status and JSON
	// body), for the attach errors met before the upgrade; a plain 500
	// when nil.
	WriteError func(w http.ResponseWriter, err error)
	// Files is the frontend, rooted at the directory holding index.html.
	Files fs.FS
	// Limit, when set, wraps the listener (the daemon bounds connections).
	Limit  func(net.Listener) net.Listener
	Logger *slog.Logger
	// Now is the clock of login tokens and cookie sessions; time.Now when nil.
	Now func() time.Time
}

// Server is the UI's listener with its logins.
type Server struct {
	cfg  Config
	ln   net.Listener
	port int
	auth *auth
	h    http.Handler
}

// New checks cfg and listens on 127.0.0.1:cfg.Port. A port another program
// holds is an error saying so; nothing is served until Run.
func New(cfg Config) (*Server, error) {
	if cfg.API == nil || cfg.Attach == nil || cfg.Resize == nil || cfg.Files == nil {
		return nil, errors.New("webui: Config.API, Attach, Resize and Files are required")
	}
	if cfg.Port < 0 || cfg.Port > 65535 {
		return nil, fmt.Errorf("webui: port %d is not a port number", cfg.Port)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.WriteError == nil {
		cfg.WriteError = func(w http.ResponseWriter, err error) {
			writeJSON(w, http.StatusInternalServerError, map[string]string{"error": err.Error()})
		}
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(cfg.Port)))
	if err != nil {
		return nil, fmt.Errorf("the web UI cannot listen on 127.0.0.1:%d: %w; set ui.port in config.json to a free port, or -1 to turn the UI off", cfg.Port, err)
	}
	s := &Server{cfg: cfg, port: l.Addr().(*net.TCPAddr).Port, auth: newAuth(cfg.Now)}
	s.ln = l
	if cfg.Limit != nil {
		s.ln = cfg.Limit(l)
	}
	s.h = s.routes()
	return s, nil
}

// Port is the port the UI listens on.
func (s *Server) Port() int { return s.port }

// Origin is the UI's own origin, as login URLs name it.
func (s *Server) Origin() string { return "http://127.0.0.1:" + strconv.Itoa(s.port) }

// Login mints a one-time login token and returns the URL that spends it
// and when it expires.
func (s *Server) Login() (url string, expires time.Time, err error) {
	tok, exp, err := s.auth.mintLogin()
	if err != nil {
		return "", time.Time{}, err
	}
	return s.Origin() + "/login?token=" + tok, exp, nil
}

// Handler is everything the listener serves (tests drive it directly).
func (s *Server) Handler() http.Handler { return s.h }

// Close stops listening (for a server that will never Run).
func (s *Server) Close() error { return s.ln.Close() }

// Run serves until ctx ends; then open requests get 2 seconds and
// attached terminals are cut. It returns nil on a clean stop.
func (s *Server) Run(ctx context.Context) error {
	hs := &http.Server{
		Handler:           s.h,
		ReadHeaderTimeout: 10 * time.Second,
		// No write timeout: the events stream and terminals are long-lived.
		IdleTimeout:    60 * time.Second,
		MaxHeaderBytes: 16 << 10,
		BaseContext:    func(net.Listener) context.Context { return ctx },
		ErrorLog:       slog.NewLogLogger(s.cfg.Logger.Handler(), slog.LevelDebug),
	}
	stop := context.AfterFunc(ctx, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		if hs.Shutdown(sctx) != nil {
			hs.Close()
		}
	})
	defer stop()
	err := hs.Serve(s.ln)
	if errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) {
		return nil
	}
	return err
}

// routes puts the guard in front of everything, then the login, then the
// cookie in front of the rest.
func (s *Server) routes() http.Handler {
	authed := http.NewServeMux()
	authed.HandleFunc("GET /ui/attach/{name}", s.attach)
	authed.HandleFunc("/ui/", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such UI route " + r.URL.Path})
	})
	authed.HandleFunc("/api/", s.api)
	authed.Handle("/", s.static())

	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", s.login)
	mux.Handle("/", s.auth.require(authed))
	return securityHeaders(s.guard(mux))
}

// api hands a request to the LocalAPI once the guard and the cookie have
// passed it. The LocalAPI refuses browser headers (it is a unix socket's
// API, and a browser there means CSRF or DNS rebinding), so they are
// removed here, after this server checked them; the cookie and the CSRF
// token are the UI's own and go no further.
func (s *Server) api(w http.ResponseWriter, r *http.Request) {
	r2 := r.Clone(r.Context())
	for k := range r2.Header {
		if strings.HasPrefix(strings.ToLower(k), "sec-fetch-") {
			r2.Header.Del(k)
		}
	}
	for _, k := range []string{"Origin", "Referer", "Cookie", csrfHeader} {
		r2.Header.Del(k)
	}
	w.Header().Set("Cache-Control", "no-store")
	s.cfg.API.ServeHTTP(w, r2)
}

// isAPI reports whether a path is answered in JSON rather than HTML.
func isAPI(p string) bool { return strings.HasPrefix(p, "/api/") || strings.HasPrefix(p, "/ui/") }

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
