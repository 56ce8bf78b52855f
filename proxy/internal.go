package proxy

import (
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
)

// InternalHost is the name the proxy serves itself, never dialing out: a
// session's client reaches the daemon there (its MCP endpoint) over plain
// http through the proxy, and the proxy knows which session asks by the
// credential it authenticated (on a gateway session's own socket, only
// that session's passes). It is refused for CONNECT: nothing is served to
// it over TLS, and no tunnel to it may leave.
const InternalHost = "clauderon.internal"

// isInternal reports whether host (as the client spelled it, without port)
// is InternalHost, in any case and with or without a trailing dot.
func isInternal(host string) bool {
	return strings.TrimSuffix(strings.ToLower(host), ".") == InternalHost
}

// serveInternal hands an absolute-URI request for InternalHost to the
// handler Config.Internal gives the request's session. The egress policy
// and the dial checks are not asked: the request never leaves the daemon.
func (p *Proxy) serveInternal(w http.ResponseWriter, r *http.Request, e *AuditEntry) {
	port := r.URL.Port()
	if port == "" {
		port = "80"
	}
	e.Host = net.JoinHostPort(InternalHost, port)
	if r.URL.Scheme != "http" || port != "80" {
		p.fail(w, e, fmt.Errorf("%w: %s is served over plain http on port 80 only: http://%s/", ErrBadRequest, InternalHost, InternalHost))
		return
	}
	var h http.Handler
	if p.internal != nil {
		h = p.internal(e.Session)
	}
	if h == nil {
		p.fail(w, e, fmt.Errorf("%w: session %s may not use %s (only a session created with --spawn may)", ErrEgressDenied, e.Session, InternalHost))
		return
	}
	in := r.Clone(r.Context())
	in.Header.Del("Proxy-Authorization")
	in.Header.Del("Proxy-Connection")
	in.URL = &url.URL{Path: r.URL.Path, RawPath: r.URL.RawPath, RawQuery: r.URL.RawQuery}
	in.RequestURI = in.URL.RequestURI()
	in.Host = InternalHost
	cw := &countingWriter{ResponseWriter: w}
	body := &countingReader{ReadCloser: in.Body}
	if in.Body != nil && in.Body != http.NoBody {
		in.Body = body
	}
	defer func() {
		e.Status, e.BytesOut, e.BytesIn = cw.status, cw.n, body.n
		p.record(e)
	}()
	h.ServeHTTP(cw, in)
}
