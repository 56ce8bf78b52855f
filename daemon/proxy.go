package daemon

import (
	"context"
	"fmt"
	"path/filepath"

	"github.com/clauderon/clauderon/proxy"
)

// setupProxy loads the CA, writes the trust bundle, builds the proxy and
// listens on loopback and, on Linux, the Docker bridge's gateway, so
// containers reach it as host.docker.internal (see listeners.go). Never
// every interface.
func (d *Daemon) setupProxy(ctx context.Context) error {
	var err error
	if d.ca, err = proxy.LoadOrCreateCA(d.cfg.Home); err != nil {
		return fmt.Errorf("proxy CA: %w", err)
	}
	if err := d.ca.WriteTrustBundle(d.bundlePath()); err != nil {
		return fmt.Errorf("trust bundle: %w", err)
	}
	rules, err := proxy.DefaultRules().WithUpstreams(d.conf.Proxy.Upstreams)
	if err != nil {
		return err
	}
	if d.audit, err = proxy.OpenAudit(filepath.Join(d.cfg.Home, proxy.AuditFile), d.conf.Proxy.AuditMaxBytes); err != nil {
		return fmt.Errorf("audit log: %w", err)
	}
	d.auth = proxy.NewSessions()
	d.proxy, err = proxy.New(proxy.Config{
		CA:          d.ca,
		Rules:       rules,
		Auth:        d.auth,
		Credentials: d.cfg.Credentials,
		Audit:       d.auditTap(),
		Logger:      d.log.With("part", "proxy"),
		// d.sessions is made after the proxy, before it serves anything.
		Egress:          func(name, host string) error { return d.sessions.CheckEgress(name, host) },
		OwnListenerOnly: func(name string) bool { return d.sessions.GatewayOnly(name) },
		Class:           func(name string) string { return d.sessions.ProxyClass(name) },
		SessionDial:     d.sessionDial,
		SessionPool:     d.sessionPool,
		Internal:        d.nested.handler,
		Usage:           d.recordUsage,
		Budget:          func(name string) error { return d.sessions.CheckBudget(name) },
	})
	if err != nil {
		return err
	}

	var port int
	switch {
	case d.cfg.ProxyPort == AnyProxyPort:
		port = 0
	case d.cfg.ProxyPort != 0:
		port = d.cfg.ProxyPort
	case d.conf.Proxy.Port != 0:
		port = d.conf.Proxy.Port
	default:
		port = DefaultProxyPort
	}
	return d.bindPrimary(ctx, port)
}

func (d *Daemon) bundlePath() string { return filepath.Join(d.cfg.Home, proxy.TrustBundleFile) }
