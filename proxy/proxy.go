// Package proxy is clauderon's credential-injecting HTTPS proxy: it
// authenticates each client session, intercepts TLS to the hosts its rules
// name to swap in the real credential, tunnels every other host untouched,
// and writes an audit line per request.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/clauderon/clauderon/secret"
)

// Config is what New needs. CA, Auth and Credentials are required.
type Config struct {
	CA          *CA           // signs leaf certificates for intercepted hosts
	Rules       Rules         // intercepted hosts; nil means DefaultRules()
	Auth        Authorizer    // checks Proxy-Authorization on every request
	Credentials secret.Source // asked for a rule's credential on every request
	Audit       AuditSink     // nil: no audit log
	Logger      *slog.Logger  // nil: discard
	// DialTimeout bounds connecting to an upstream; 0 means 10 seconds.
	DialTimeout time.Duration
	// AllowDial is asked about every address a blind tunnel or a plain-http
	// request is about to connect to, after DNS resolution; rule upstreams
	// are not asked. nil means DefaultDialPolicy (no loopback, unspecified
	// or link-local addresses).
	AllowDial DialPolicy
	// Egress is asked before a session's blind tunnel or plain-http request
	// goes to a host no rule names; an error refuses it with a 403 whose
	// message is the error's. nil allows every host.
	Egress EgressPolicy
	// OwnListenerOnly reports whether session name may be served only on
	// its own listener (ServeSession), so that its credential is refused
	// anywhere else: on the TCP listeners, which every local user can
	// reach. nil means none is.
	OwnListenerOnly func(name string) bool
	// Class is the class of listener (ServeClass) session name may be
	// served on, or "" for none: a session of a class is served only on
	// that class's listeners, and they serve no other session. nil means
	// no session has one.
	Class func(name string) string
	// SessionDial is asked, after AllowDial, about every address a
	// session's blind tunnel or plain-http request is about to connect to;
	// an error refuses it as AllowDial's does. nil allows what AllowDial
	// does.
	SessionDial func(session, host string, ip netip.Addr) error
	// SessionPool is session name's own connection pool: a connection to a
	// shared listener (see Limit) that authenticates as name moves from the
	// listener's pool into it. nil: connections stay where they are.
	SessionPool func(name string) *ConnPool
	// Internal is the handler that serves session's requests to
	// InternalHost; nil (or a nil handler) refuses them.
	Internal func(session string) http.Handler
	// Usage is told what each complete /v1/messages answer of session
	// said it used (JSON or SSE), read from a copy as it is sent; nil
	// counts nothing.
	Usage func(session string, u Usage)
	// Budget is asked before session's /v1/messages request is sent; an
	// error refuses it with ErrBudget and the error's message. nil
	// refuses none.
	Budget func(session string) error
}

// EgressPolicy decides whether session may reach host (as the client named
// it, without port).
type EgressPolicy func(session, host string) error

// Proxy is an http.Handler for proxy requests (CONNECT and absolute-URI
// requests). Serve and Run put it on listeners and also teach it its own
// addresses, so it can refuse requests that loop back to it.
type Proxy struct {
	ca          *CA
	rules       Rules
	auth        Authorizer
	revocable   RevocableAuthorizer // auth, when it can say so; else nil
	creds       secret.Source
	audit       AuditSink
	log         *slog.Logger
	errLog      *log.Logger
	dialTimeout time.Duration
	allowDial   DialPolicy
	egress      EgressPolicy
	ownOnly     func(name string) bool
	class       func(name string) string
	sessionDial func(session, host string, ip netip.Addr) error
	sessionPool func(name string) *ConnPool
	internal    func(session string) http.Handler
	usage       func(session string, u Usage)
	budget      func(session string) error

	transports map[string]*http.Transport // per rule host
	plain      *http.Transport            // plain-HTTP requests to other hosts
	buffers    *bufferPool                // body copy buffers

	sessionRefusals refusalBudget

	selfMu sync.RWMutex
	self   map[net.Listener]*net.TCPAddr
}

// New checks cfg and builds a Proxy. It starts nothing and is cheap.
func New(cfg Config) (*Proxy, error) {
	switch {
	case cfg.CA == nil:
		return nil, errors.New("proxy: Config.CA is required")
	case cfg.Auth == nil:
		return nil, errors.New("proxy: Config.Auth is required")
	case cfg.Credentials == nil:
		return nil, errors.New("proxy: Config.Credentials is required")
	}
	rules := cfg.Rules
	if rules == nil {
		rules = DefaultRules()
	}
	if err := rules.validate(); err != nil {
		return nil, fmt.Errorf("proxy: %w", err)
	}
	logger := cfg.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Proxy{
		ca:          cfg.CA,
		rules:       rules,
		auth:        cfg.Auth,
		creds:       cfg.Credentials,
		audit:       cfg.Audit,
		log:         logger,
		errLog:      slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		dialTimeout: cfg.DialTimeout,
		allowDial:   cfg.AllowDial,
		egress:      cfg.Egress,
		ownOnly:     cfg.OwnListenerOnly,
		class:       cfg.Class,
		sessionDial: cfg.SessionDial,
		sessionPool: cfg.SessionPool,
		internal:    cfg.Internal,
		usage:       cfg.Usage,
		budget:      cfg.Budget,
		transports:  make(map[string]*http.Transport, len(rules)),
		self:        make(map[net.Listener]*net.TCPAddr),
		buffers:     newBufferPool(copyBufferSize),
	}
	if p.dialTimeout <= 0 {
		p.dialTimeout = 10 * time.Second
	}
	if p.allowDial == nil {
		p.allowDial = DefaultDialPolicy
	}
	p.revocable, _ = cfg.Auth.(RevocableAuthorizer)
	for _, r := range rules {
		p.transports[r.Host] = p.ruleTransport(r)
	}
	p.plain = &http.Transport{
		Proxy:              nil, // never chain to the environment's proxy
		DialContext:        p.dialChecked,
		DisableCompression: true, // relay bodies as sent
		// Idle upstream connections count against no pool: bound them in
		// all, or a session asking many hosts (or one host by many
		// spellings) would keep the daemon's descriptors for itself.
		MaxIdleConns:        maxPlainIdle,
		MaxIdleConnsPerHost: 4,
		// Each request dials anew: an idle connection made for one
		// session would skip the next session's dial checks.
		DisableKeepAlives:     true,
		IdleConnTimeout:       90 * time.Second,
		ResponseHeaderTimeout: 0, // long polls and streams are normal
	}
	return p, nil
}

// maxPlainIdle bounds the idle connections kept for plain-http requests,
// across every host.
const maxPlainIdle = 32

// client is the proxy user a request authenticated as. revoked, when not
// nil, is cancelled once its credential stops being valid.
type client struct {
	name, secret string
	revoked      context.Context
}

// authorize checks a Proxy-Authorization name and secret.
func (p *Proxy) authorize(name, secret string) (revoked context.Context, ok bool) {
	if p.revocable != nil {
		return p.revocable.AuthorizeRevocable(name, secret)
	}
	return nil, p.auth.Authorize(name, secret)
}

// bind returns a context that ends with parent or when the client's
// credential is revoked (its cause then wraps ErrProxyAuth), and a function
// that releases it.
func (c client) bind(parent context.Context) (context.Context, context.CancelFunc) {
	if c.revoked == nil {
		return parent, func() {}
	}
	ctx, cancel := context.WithCancelCause(parent)
	stop := context.AfterFunc(c.revoked, func() { cancel(context.Cause(c.revoked)) })
	return ctx, func() { stop(); cancel(nil) }
}

// endReason says why ctx, a bound request context, ended early, or "" if
// it has not.
func endReason(ctx context.Context) string {
	if ctx.Err() == nil {
		return ""
	}
	if cause := context.Cause(ctx); errors.Is(cause, ErrProxyAuth) {
		return "closed by the proxy: " + cause.Error()
	}
	return "closed by proxy shutdown"
}

// sessionShape is what session names (and exec's run names) look like.
var sessionShape = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{0,39}$`)

// claimedSession is the name a refused request claimed, for the audit log,
// when it has the shape of a session name (a removed session still
// retrying); "" otherwise, since it may be a secret pasted in its place.
func claimedSession(name string) string {
	if sessionShape.MatchString(name) {
		return name
	}
	return ""
}

// ServeHTTP implements http.Handler.
func (p *Proxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e := &AuditEntry{Time: time.Now(), Method: r.Method}
	name, sec, ok := parseProxyAuthorization(r.Header.Get("Proxy-Authorization"))
	if r.Method == http.MethodConnect {
		e.Host = r.Host
	} else {
		e.Host = r.URL.Host
		e.Path = r.URL.Path
	}
	var revoked context.Context
	switch only, class := onlySession(r), listenerClassOf(r); {
	case !ok:
	case class != "" || (p.class != nil && p.class(name) != ""):
		// A class listener (the cluster's tunnel) serves its own class of
		// sessions only, and they are served nowhere else: a credential
		// of theirs sent to the host's listeners was stolen, and one of a
		// Docker session's sent from the cluster too.
		ok = only == "" && p.class != nil && class != "" && p.class(name) == class
	case only != "" && name != only:
		// A credential from another session, through this session's own
		// socket: refused like a wrong one, before it is even checked.
		ok = false
	case only == "" && p.ownOnly != nil && p.ownOnly(name):
		// A session whose container reaches the proxy only through its
		// socket never sends its credential anywhere else: whoever does
		// has stolen it.
		ok = false
	}
	if ok {
		revoked, ok = p.authorize(name, sec)
	}
	if !ok {
		e.Session = claimedSession(name)
		p.refuse(w, r, e, ErrProxyAuth)
		return
	}
	e.Session = name
	if onlySession(r) == "" && !p.adopt(r, name) {
		w.Header().Set("Connection", "close")
		p.fail(w, e, fmt.Errorf("%w: session %s has as many connections open as it may; close some", ErrTooMany, name))
		return
	}
	c := client{name: name, secret: sec, revoked: revoked}
	if err := clusterOnly(r, p.rules); err != nil {
		p.fail(w, e, err)
		return
	}
	switch {
	case r.Method == http.MethodConnect && isInternal(hostOnly(r.Host)):
		p.fail(w, e, fmt.Errorf("%w: %s is not served over TLS; use http://%s/", ErrBadRequest, InternalHost, InternalHost))
	case r.Method == http.MethodConnect:
		p.connect(w, r, e, c)
	case r.URL.IsAbs() && isInternal(r.URL.Hostname()):
		// A revoked session's request ends at once, its streams too.
		ctx, release := c.bind(r.Context())
		defer release()
		p.serveInternal(w, r.WithContext(ctx), e)
	case r.URL.IsAbs() && (r.URL.Scheme == "http" || r.URL.Scheme == "https") && r.URL.Host != "":
		// A revoked session's request ends at once, even mid-stream.
		ctx, release := c.bind(r.Context())
		defer release()
		p.forward(w, r.WithContext(withDialSession(ctx, name)), e)
	default:
		p.fail(w, e, fmt.Errorf("%w: %s %s is not a proxy request; point HTTPS_PROXY at this address instead", ErrBadRequest, r.Method, r.URL.Path))
	}
}

// fail answers err, and audits and logs the request.
func (p *Proxy) fail(w http.ResponseWriter, e *AuditEntry, err error) {
	e.Status = writeError(w, err)
	e.Error = err.Error()
	p.record(e)
}

// budgeted reports whether e is a line a session can make as often as it
// likes at no cost: anything but a request the credential was injected
// into and the upstream answered (which Anthropic's own limits bound).
// Tunnels, failed handshakes, refusals: a session can open and drop them
// by the thousand.
func budgeted(e *AuditEntry) bool {
	return e.Session != "" && !e.Refused && !(e.AuthInjected && e.Status > 0 && e.Status < 500)
}

// sessionRefusalBudget is how many budgeted lines a session gets in full in
// audit.jsonl in each sessionRefusalWindow; past it they are folded into
// refused.jsonl, so no session can rotate another's history away.
const (
	sessionRefusalBudget = 100
	sessionRefusalWindow = 10 * time.Second
)

// refusalBudget counts each session's refused requests per window.
type refusalBudget struct {
	mu sync.Mutex
	m  map[string]*budgetWindow
}

type budgetWindow struct {
	start time.Time
	n     int
}

// allow reports whether session's refusal at t is within its budget.
func (b *refusalBudget) allow(session string, t time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.m == nil || len(b.m) > 4096 {
		b.m = map[string]*budgetWindow{}
	}
	w := b.m[session]
	if w == nil || t.Sub(w.start) >= sessionRefusalWindow || t.Before(w.start) {
		w = &budgetWindow{start: t}
		b.m[session] = w
	}
	w.n++
	return w.n <= sessionRefusalBudget
}

// record completes e and hands it to the audit log and the logger.
func (p *Proxy) record(e *AuditEntry) {
	if budgeted(e) && !p.sessionRefusals.allow(e.Session, e.Time) {
		e.Refused, e.Addr = true, "session "+e.Session
	}
	e.DurationMS = time.Since(e.Time).Milliseconds()
	e.Time = e.Time.UTC()
	level := slog.LevelDebug
	switch {
	case e.Refused:
		// Anyone who can connect can send these by the thousand; the
		// audit log counts them, so the log need not.
	case e.Status >= 500 || (e.Status == 0 && e.Error != ""):
		level = slog.LevelWarn
	case e.Status >= 400:
		level = slog.LevelInfo
	}
	p.log.LogAttrs(context.Background(), level, "proxy request",
		slog.String("session", e.Session), slog.String("host", e.Host),
		slog.String("method", e.Method), slog.String("path", e.Path),
		slog.Int("status", e.Status), slog.Int64("duration_ms", e.DurationMS),
		slog.Bool("intercepted", e.Intercepted), slog.Bool("auth_injected", e.AuthInjected),
		slog.String("error", e.Error))
	if p.audit != nil {
		if err := p.audit.Record(*e); err != nil {
			p.log.Error("cannot write the audit log", slog.String("error", err.Error()))
		}
	}
}

// checkEgress asks the egress policy about host for the request's session.
func (p *Proxy) checkEgress(e *AuditEntry, host string) error {
	if p.egress == nil {
		return nil
	}
	if err := p.egress(e.Session, host); err != nil {
		return fmt.Errorf("%w: %v", ErrEgressDenied, err)
	}
	return nil
}

// splitAuthority parses a CONNECT target, which must be host:port.
func splitAuthority(hostport string) (host, port string, err error) {
	host, port, err = net.SplitHostPort(hostport)
	if err != nil {
		return "", "", fmt.Errorf("%w: CONNECT target %q is not host:port", ErrBadRequest, hostport)
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 1 || n > 65535 {
		return "", "", fmt.Errorf("%w: bad port in %q", ErrBadRequest, hostport)
	}
	if host == "" {
		return "", "", fmt.Errorf("%w: no host in %q", ErrBadRequest, hostport)
	}
	return host, port, nil
}

// countingReader counts what a request body delivers.
type countingReader struct {
	io.ReadCloser
	n int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.ReadCloser.Read(b)
	c.n += int64(n)
	return n, err
}

// countingWriter counts the response body and remembers the status, and
// still lets ReverseProxy flush through to the real writer.
type countingWriter struct {
	http.ResponseWriter
	status int
	n      int64
}

func (c *countingWriter) WriteHeader(code int) {
	if c.status == 0 && code >= 200 {
		c.status = code
	}
	c.ResponseWriter.WriteHeader(code)
}

func (c *countingWriter) Write(b []byte) (int, error) {
	if c.status == 0 {
		c.status = http.StatusOK
	}
	n, err := c.ResponseWriter.Write(b)
	c.n += int64(n)
	return n, err
}

func (c *countingWriter) Flush() { _ = http.NewResponseController(c.ResponseWriter).Flush() }

func (c *countingWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// hostOnly is hostport's host, or hostport itself when it has no port.
func hostOnly(hostport string) string {
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		return h
	}
	return hostport
}

// clusterOnly refuses what a class listener (the cluster's tunnel) must not
// do from the user's host: the gateway dials a cluster session's blind
// tunnels itself, under its own public-only policy, so the tunnel carries
// only intercepted hosts and clauderon.internal, whatever a connection
// kept alive sends after its first request.
func clusterOnly(r *http.Request, rules Rules) error {
	if listenerClassOf(r) == "" {
		return nil
	}
	host := hostOnly(r.Host)
	if r.Method != http.MethodConnect {
		host = r.URL.Hostname()
	}
	if isInternal(host) {
		return nil
	}
	if _, ok := rules.Match(host); ok {
		return nil
	}
	return fmt.Errorf("%w: %s from the cluster goes through the gateway's own tunnel, not the daemon's", ErrBadRequest, host)
}
