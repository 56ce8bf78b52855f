package proxy

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// A cluster gateway sends the daemon only the head of a session pod's
// blind CONNECT and opens the tunnel itself, so its bytes never cross to
// the user's host. AuthorizeTunnel is everything connect does for such a
// CONNECT before it would dial: the same credential check, loop and rule
// refusals, egress policy and audit line, so a session on Kubernetes is
// refused, allowed and recorded exactly as one on Docker.

// TunnelDecision is AuthorizeTunnel's answer: on !OK, the status and
// message the pod is to be answered with.
type TunnelDecision struct {
	OK      bool
	Status  int
	Message string
	// Revoked, when OK, is closed once the session's credential is
	// revoked, when the gateway must cut the tunnel; nil if it never is.
	Revoked <-chan struct{}
}

// gatewayPeer names a refused request's client: the pod is behind the
// cluster gateway, whose addresses say nothing about who sent it.
const gatewayPeer = "cluster gateway"

// AuthorizeTunnel decides a CONNECT that a cluster gateway will carry
// itself, from its head r, and writes its audit line. class is the class
// of the gateway's tunnel, as ServeClass's. An allowed tunnel's
// line is written now, with no byte counts: the proxy never sees them.
func (p *Proxy) AuthorizeTunnel(r *http.Request, class string) TunnelDecision {
	e := &AuditEntry{Time: time.Now(), Method: r.Method, Host: r.Host}
	name, sec, ok := parseProxyAuthorization(r.Header.Get("Proxy-Authorization"))
	switch {
	case !ok:
	case class != "" || (p.class != nil && p.class(name) != ""):
		// As on a class listener (ServeClass): the gateway serves only
		// its class's sessions, and they are served nowhere else.
		ok = p.class != nil && class != "" && p.class(name) == class
	case p.ownOnly != nil && p.ownOnly(name):
		// That session's container reaches the proxy only through its
		// own socket: whoever sends its credential from a cluster stole it.
		ok = false
	}
	var revoked context.Context
	if ok {
		revoked, ok = p.authorize(name, sec)
	}
	if !ok {
		e.Session = claimedSession(name)
		e.Refused, e.Addr = true, gatewayPeer
		return p.decideTunnel(e, ErrProxyAuth)
	}
	e.Session = name
	if r.Method != http.MethodConnect {
		return p.decideTunnel(e, fmt.Errorf("%w: a gateway asked to authorize %s, not CONNECT", ErrBadRequest, r.Method))
	}
	host, port, err := splitAuthority(r.Host)
	if err != nil {
		return p.decideTunnel(e, err)
	}
	e.Host = net.JoinHostPort(host, port)
	switch {
	case isInternal(host):
		return p.decideTunnel(e, fmt.Errorf("%w: %s is not served over TLS; use http://%s/", ErrBadRequest, InternalHost, InternalHost))
	case p.isSelfTarget(host, port):
		return p.decideTunnel(e, fmt.Errorf("%w: CONNECT %s is this proxy", ErrLoop, e.Host))
	}
	if _, intercepted := p.rules.Match(host); intercepted {
		// Its credential is injected here, so it must come whole, not as
		// a blind tunnel the gateway opens: a gateway that asks is not
		// clauderon's or does not know the rules.
		return p.decideTunnel(e, fmt.Errorf("%w: %s is intercepted by the proxy; the gateway must carry it to the proxy, not open a blind tunnel", ErrBadRequest, e.Host))
	}
	if err := p.checkEgress(e, host); err != nil {
		return p.decideTunnel(e, err)
	}
	e.Status = http.StatusOK
	p.record(e)
	d := TunnelDecision{OK: true, Status: http.StatusOK}
	if revoked != nil {
		d.Revoked = revoked.Done()
	}
	return d
}

// decideTunnel records e as refused with err and says so.
func (p *Proxy) decideTunnel(e *AuditEntry, err error) TunnelDecision {
	code, _ := status(err)
	e.Status, e.Error = code, err.Error()
	p.record(e)
	return TunnelDecision{Status: code, Message: err.Error()}
}

// InterceptedHosts are the hosts the proxy intercepts, for a cluster
// gateway's hello: CONNECTs to them must reach the proxy whole.
func (p *Proxy) InterceptedHosts() []string {
	hosts := make([]string, len(p.rules))
	for i, r := range p.rules {
		hosts[i] = r.Host
	}
	return hosts
}
