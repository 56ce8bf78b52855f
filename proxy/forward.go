package proxy

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"

	"github.com/clauderon/clauderon/secret"
)

// inject sends one request to an intercepted host with the real credential
// in place of the client's, streaming both bodies.
func (p *Proxy) inject(w http.ResponseWriter, r *http.Request, e *AuditEntry, rule Rule) {
	if p.budget != nil && spends(r) {
		if !metered(r) {
			// Only Messages answers are metered: anything else that may
			// spend (batches, completions, a path or method the upstream
			// reads leniently) would spend past every budget.
			p.fail(w, e, fmt.Errorf("%w: clauderon: %s %s may spend, and only POST /v1/messages is metered in a session, so it is refused", ErrBudget, printableMethod(r.Method), apiPath(r)))
			return
		}
		if err := p.budget(e.Session); err != nil {
			p.fail(w, e, fmt.Errorf("%w: %w", ErrBudget, err))
			return
		}
	}
	if metered(r) {
		if p.usage != nil {
			m := &usageMeter{ResponseWriter: w}
			w = m
			defer func() {
				if u, ok := m.result(); ok {
					p.usage(e.Session, u)
				}
			}()
		}
	}
	tok, _, err := p.creds.Get(r.Context(), rule.Credential)
	if err != nil {
		if errors.Is(err, secret.ErrNotFound) {
			err = fmt.Errorf("%w (asked for %q)", ErrNoCredential, rule.Credential)
		} else {
			err = fmt.Errorf("%w: %s credential: %v", ErrCredential, rule.Credential, err)
		}
		p.fail(w, e, err)
		return
	}
	p.roundTrip(w, r, e, rule.Host, rule.upstreamAddr(), p.transports[rule.Host], func(pr *httputil.ProxyRequest) error {
		pr.Out.URL.Scheme = "https"
		pr.Out.URL.Host = rule.Host
		pr.Out.URL.User = nil
		pr.Out.Host = rule.Host
		if err := replaceCredentials(pr.Out.Header, rule, tok); err != nil {
			return err
		}
		if metered(r) {
			// The meter reads the answer as it passes: it must not be
			// compressed, whatever the client asked for.
			pr.Out.Header.Del("Accept-Encoding")
		}
		e.AuthInjected = true
		return nil
	})
}

// forward serves an absolute-URI request. A rule's host is handled as if
// it came through an intercepted tunnel (the upstream is always its TLS
// endpoint); plain http to any other host is passed on as is.
func (p *Proxy) forward(w http.ResponseWriter, r *http.Request, e *AuditEntry) {
	host, port := r.URL.Hostname(), r.URL.Port()
	if port == "" {
		switch r.URL.Scheme {
		case "http":
			port = "80"
		case "https":
			port = "443"
		}
	}
	e.Host = net.JoinHostPort(host, port)
	if p.isSelfTarget(host, port) {
		p.fail(w, e, fmt.Errorf("%w: %s is this proxy", ErrLoop, e.Host))
		return
	}
	if rule, ok := p.rules.Match(host); ok {
		e.Intercepted = true
		p.inject(w, r, e, rule)
		return
	}
	if r.URL.Scheme != "http" {
		p.fail(w, e, fmt.Errorf("%w: send https requests through CONNECT", ErrBadRequest))
		return
	}
	if err := p.checkEgress(e, host); err != nil {
		p.fail(w, e, err)
		return
	}
	// One spelling per host, so that the idle pool is keyed as the policy
	// saw it.
	r.URL.Host = canonicalHost(r.URL.Host)
	// ReverseProxy drops the hop-by-hop headers, Proxy-Authorization too.
	p.roundTrip(w, r, e, host, e.Host, p.plain, func(pr *httputil.ProxyRequest) error {
		pr.Out.URL.User = nil
		return nil
	})
}

// canonicalHost lower-cases a host[:port] and drops a trailing dot.
func canonicalHost(hostport string) string {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return strings.TrimSuffix(strings.ToLower(hostport), ".")
	}
	return net.JoinHostPort(strings.TrimSuffix(strings.ToLower(host), "."), port)
}

// roundTrip streams out (through rewrite, which ReverseProxy calls once it
// has removed the hop-by-hop headers) to its upstream and the answer back to w, flushing
// event streams and unknown-length bodies on every write so server-sent
// events arrive one by one, and audits it.
func (p *Proxy) roundTrip(w http.ResponseWriter, out *http.Request, e *AuditEntry, host, addr string, rt http.RoundTripper, rewrite func(*httputil.ProxyRequest) error) {
	var body *countingReader
	if out.Body != nil && out.Body != http.NoBody {
		body = &countingReader{ReadCloser: out.Body}
		out.Body = body
	}
	cw := &countingWriter{ResponseWriter: w}
	var upErr, rewriteErr error
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) { rewriteErr = rewrite(pr) },
		// A request rewrite refused never leaves.
		Transport: roundTripperFunc(func(r *http.Request) (*http.Response, error) {
			if rewriteErr != nil {
				return nil, rewriteErr
			}
			return rt.RoundTrip(r)
		}),
		// 0, not -1: ReverseProxy still flushes text/event-stream and
		// unknown-length bodies after every write, but a body of known
		// length is written in whole buffers.
		FlushInterval: 0,
		BufferPool:    p.buffers,
		ErrorLog:      p.errLog,
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if rewriteErr != nil {
				upErr = rewriteErr
				writeError(w, upErr)
				return
			}
			upErr = dialError(host, addr, err)
			if cause := context.Cause(r.Context()); errors.Is(cause, ErrProxyAuth) {
				upErr = cause // the session was revoked mid-request
			} else if r.Context().Err() != nil {
				upErr = fmt.Errorf("client went away: %w", r.Context().Err())
			}
			writeError(w, upErr)
		},
	}
	finish := func() {
		e.Status = cw.status
		e.BytesOut = cw.n
		if body != nil {
			e.BytesIn = body.n
		}
		if upErr != nil {
			e.Error = upErr.Error()
		}
		p.record(e)
	}
	defer func() {
		// ReverseProxy aborts with http.ErrAbortHandler when a stream breaks
		// after the headers went out; audit it, then let net/http see it.
		if v := recover(); v != nil {
			if e.Error == "" {
				e.Error = fmt.Sprint("stream aborted: ", v)
			}
			finish()
			panic(v)
		}
	}()
	rp.ServeHTTP(cw, out)
	// The response is complete: send it now, so the client does not wait
	// for the audit line's stat and write (net/http would only flush it
	// once the handler returns). The line is still written before the
	// handler returns, so shutdown, which waits for handlers, loses none.
	if f, ok := w.(http.Flusher); ok {
		f.Flush()
	}
	finish()
}

// roundTripperFunc is a function as an http.RoundTripper.
type roundTripperFunc func(*http.Request) (*http.Response, error)

// RoundTrip implements http.RoundTripper.
func (f roundTripperFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// printableMethod is a method for an error message: a token, or "a method".
func printableMethod(m string) string {
	for _, c := range m {
		if c < '!' || c > '~' {
			return "a method"
		}
	}
	if len(m) > 16 {
		return "a method"
	}
	return m
}
