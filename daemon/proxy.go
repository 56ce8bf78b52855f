package daemon

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"

	"github.com/clauderon/clauderon/proxy"
)

// bundleFile is the trust bundle (system roots + the proxy CA) mounted into
// containers at /etc/clauderon/ca-bundle.pem.
const bundleFile = "ca-bundle.pem"

// setupProxy loads the CA, writes the trust bundle, builds the proxy and
// listens on loopback and, on Linux, the Docker bridge's gateway, so
// containers reach it as host.docker.internal. Never every interface.
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
		Audit:       d.audit,
		Logger:      d.log.With("part", "proxy"),
	})
	if err != nil {
		return err
	}

	port := d.cfg.ProxyPort
	if port == 0 {
		port = d.conf.Proxy.Port
	}
	if port == 0 {
		port = DefaultProxyPort
	}
	hosts := []string{"127.0.0.1"}
	gw, err := d.cfg.Backend.Gateway(ctx)
	switch {
	case err != nil:
		d.log.Warn("cannot learn the Docker bridge gateway; containers will not reach the proxy until the daemon restarts with the engine up", "err", err)
	case gw != "" && gw != "127.0.0.1":
		hosts = append(hosts, gw)
	}
	for _, h := range hosts {
		l, err := net.Listen("tcp", net.JoinHostPort(h, strconv.Itoa(port)))
		if err != nil {
			return fmt.Errorf("the proxy cannot listen on %s:%d: %w (pick another port with --proxy-port or proxy.port in config.json)", h, port, err)
		}
		if port == 0 {
			port = l.Addr().(*net.TCPAddr).Port
		}
		d.proxyLns = append(d.proxyLns, l)
		d.proxyAddrs = append(d.proxyAddrs, l.Addr().String())
	}
	d.proxyPort = port
	return nil
}

func (d *Daemon) bundlePath() string { return filepath.Join(d.cfg.Home, bundleFile) }
