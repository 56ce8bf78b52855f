package daemon

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"syscall"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
)

// AnyProxyPort as Config.ProxyPort makes the proxy listen on a free port
// the kernel picks (`clauderon daemon --proxy-port 0`); /status reports it.
const AnyProxyPort = -1

// The proxy listens on loopback and, on Linux, on the Docker bridge's
// gateway (containers reach it there as host.docker.internal), at its own
// port and at every port a live session's container was given by an
// earlier daemon: a daemon restarted on another port keeps serving the
// containers that still name the old one. What cannot be bound yet (the
// engine is down, so the gateway is unknown; a port is taken) is retried in
// the background until it can.

// bindPrimary listens on loopback at port (0: a free one), then on the
// gateway, if known, at the same port.
func (d *Daemon) bindPrimary(ctx context.Context, port int) error {
	gw, err := d.cfg.Backend.Gateway(ctx)
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if err != nil {
		d.gwErr = err
		d.log.Warn("cannot learn the Docker bridge gateway yet; the proxy will listen there once the engine answers", "err", err)
	} else {
		d.setGatewayLocked(gw)
	}
	for attempt := 0; ; attempt++ {
		l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("the proxy cannot listen on 127.0.0.1:%d: %w (pick another port with --proxy-port or proxy.port in config.json)", port, err)
		}
		p := l.Addr().(*net.TCPAddr).Port
		if d.gwKnown && d.gw != "" {
			lg, err := net.Listen("tcp", net.JoinHostPort(d.gw, strconv.Itoa(p)))
			if err != nil {
				l.Close()
				if port == 0 && attempt < 10 && errors.Is(err, syscall.EADDRINUSE) {
					continue // the kernel's pick is taken on the gateway: pick again
				}
				return fmt.Errorf("the proxy cannot listen on %s:%d: %w (pick another port with --proxy-port or proxy.port in config.json)", d.gw, p, err)
			}
			d.addLocked(l)
			d.addLocked(lg)
		} else {
			d.addLocked(l)
		}
		d.proxyPort = p
		return nil
	}
}

func (d *Daemon) setGatewayLocked(gw string) {
	if gw == "127.0.0.1" {
		gw = ""
	}
	d.gw, d.gwKnown, d.gwErr = gw, true, nil
}

// addLocked records a bound listener and serves it once Run has begun.
func (d *Daemon) addLocked(l net.Listener) {
	// Anyone on the host can connect here before any credential is checked:
	// these share one small pool, so they cannot starve the sessions'
	// sockets, which have pools of their own.
	l = proxy.Limit(l, d.shared, d.global)
	addr := l.Addr().String()
	if d.lns == nil {
		d.lns = map[string]net.Listener{}
	}
	d.lns[addr] = l
	d.proxyAddrs = append(d.proxyAddrs, addr)
	if d.serve != nil {
		d.serve(l)
	}
}

func (d *Daemon) hostsLocked() []string {
	hosts := []string{"127.0.0.1"}
	if d.gwKnown && d.gw != "" {
		hosts = append(hosts, d.gw)
	}
	return hosts
}

// ensureListeners learns the gateway if it is not known yet and binds
// every address the proxy should listen on. It reports whether all are.
func (d *Daemon) ensureListeners(ctx context.Context) bool {
	ports := []int{d.proxyPort}
	if d.sessions != nil {
		ports = append(ports, d.sessions.ProxyPorts()...)
	}
	d.lmu.Lock()
	known := d.gwKnown
	d.lmu.Unlock()
	var gw string
	var gwErr error
	if !known {
		gw, gwErr = d.cfg.Backend.Gateway(ctx)
	}

	d.lmu.Lock()
	defer d.lmu.Unlock()
	if d.closed {
		return true
	}
	ok := true
	if !d.gwKnown {
		if gwErr != nil {
			d.gwErr = gwErr
			d.logOnceLocked("gateway", gwErr, "still cannot learn the Docker bridge gateway; retrying")
			ok = false
		} else {
			d.setGatewayLocked(gw)
			d.log.Info("learned the Docker bridge gateway", "gateway", gw)
		}
	}
	for _, port := range ports {
		for _, h := range d.hostsLocked() {
			addr := net.JoinHostPort(h, strconv.Itoa(port))
			if _, bound := d.lns[addr]; bound {
				continue
			}
			l, err := net.Listen("tcp", addr)
			if err != nil {
				d.logOnceLocked(addr, err, "the proxy cannot listen on an address containers use; retrying")
				ok = false
				continue
			}
			delete(d.bindErrs, addr)
			d.addLocked(l)
			d.log.Info("proxy listening", "addr", addr)
		}
	}
	wanted := map[int]bool{}
	for _, p := range ports {
		wanted[p] = true
	}
	d.pruneLocked(wanted)
	return ok
}

// pruneLocked stops listening on ports that neither the proxy nor a live
// session uses any more (an older daemon's port whose sessions have ended),
// so that restarts do not pile them up. Nothing is connected through them:
// their containers are gone or stopped.
func (d *Daemon) pruneLocked(wanted map[int]bool) {
	for addr, l := range d.lns {
		if wanted[l.Addr().(*net.TCPAddr).Port] {
			continue
		}
		l.Close()
		delete(d.lns, addr)
		d.proxyAddrs = slices.DeleteFunc(d.proxyAddrs, func(a string) bool { return a == addr })
		d.log.Info("proxy stopped listening on a port no session uses any more", "addr", addr)
	}
}

// logOnceLocked warns about err for key unless that was the last word on it.
func (d *Daemon) logOnceLocked(key string, err error, msg string) {
	if d.bindErrs == nil {
		d.bindErrs = map[string]string{}
	}
	if d.bindErrs[key] == err.Error() {
		return
	}
	d.bindErrs[key] = err.Error()
	d.log.Warn(msg, "what", key, "err", err)
}

// keepListening retries what ensureListeners could not bind, with backoff,
// and looks again whenever a session changes (one rebuilt from its labels
// may name another port).
func (d *Daemon) keepListening(ctx context.Context) {
	const first, most = 250 * time.Millisecond, 30 * time.Second
	backoff := first
	for {
		changed := d.sessions.Changed()
		var retry <-chan time.Time
		if d.ensureListeners(ctx) {
			backoff = first
		} else {
			retry = time.After(backoff)
			backoff = min(backoff*2, most)
		}
		select {
		case <-ctx.Done():
			return
		case <-changed:
		case <-retry:
		}
	}
}

// proxyServes reports whether the proxy listens on port everywhere a
// container may reach it.
func (d *Daemon) proxyServes(port int) bool {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	for _, h := range d.hostsLocked() {
		if _, ok := d.lns[net.JoinHostPort(h, strconv.Itoa(port))]; !ok {
			return false
		}
	}
	return true
}

// gatewayError is nil when containers can reach the proxy at its own port,
// and otherwise says why not, as an error of the session package's kinds.
func (d *Daemon) gatewayError(ctx context.Context) error {
	if d.gatewayReady() {
		return nil
	}
	d.ensureListeners(ctx) // one more try now, not at the next backoff
	if d.gatewayReady() {
		return nil
	}
	d.lmu.Lock()
	defer d.lmu.Unlock()
	if !d.gwKnown {
		if errors.Is(d.gwErr, backend.ErrEngineUnreachable) {
			return session.Errorf(session.ErrEngine, "cannot reach the container engine: %v", d.gwErr)
		}
		return session.Errorf(session.ErrUnavailable, "cannot learn the Docker bridge gateway, so containers could not reach the proxy: %v; the daemon keeps trying (see `clauderon doctor`)", d.gwErr)
	}
	addr := net.JoinHostPort(d.gw, strconv.Itoa(d.proxyPort))
	return session.Errorf(session.ErrUnavailable, "the proxy cannot listen on the Docker bridge gateway at %s (%s), so containers could not reach it; free that port or restart the daemon with another --proxy-port", addr, d.bindErrs[addr])
}

func (d *Daemon) gatewayReady() bool { return d.proxyServes(d.proxyPort) && d.gwIsKnown() }

func (d *Daemon) gwIsKnown() bool {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	return d.gwKnown
}

// serveListeners starts serving the bound listeners, and every one bound
// later, through serve.
func (d *Daemon) serveListeners(serve func(net.Listener)) {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	d.serve = serve
	for _, a := range d.proxyAddrs {
		serve(d.lns[a])
	}
}

// closeListeners stops the proxy's listeners for good.
func (d *Daemon) closeListeners() {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	d.closed = true
	for _, l := range d.lns {
		l.Close()
	}
}

// ProxyAddrs are the addresses the proxy listens on.
func (d *Daemon) ProxyAddrs() []string {
	d.lmu.Lock()
	defer d.lmu.Unlock()
	return append([]string(nil), d.proxyAddrs...)
}

// ProxyPort is the proxy's own port: the one new sessions are given.
func (d *Daemon) ProxyPort() int { return d.proxyPort }
