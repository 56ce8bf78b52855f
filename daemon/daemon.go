// Package daemon is clauderon's composition root: it wires the credential
// source, the proxy, the session manager and the engine, and serves the LocalAPI.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
	"github.com/clauderon/clauderon/webui"
)

// Version is the LocalAPI version the daemon speaks.
const Version = "v0"

// DefaultProxyPort is where the proxy listens unless told otherwise.
const DefaultProxyPort = 18080

// Config wires a daemon. Only Home is required.
type Config struct {
	Home string
	// GatewayBinary is the clauderon binary session containers run as
	// their gateway and hook helper: a static build, as any image's C
	// library may be missing. Empty: this process's own (the CLI build is
	// static; the desktop build, linked to GTK, passes its static CLI).
	GatewayBinary string
	// ProxyPort overrides config.json's proxy.port; 0 means that, or 18080;
	// AnyProxyPort means a free port the kernel picks.
	ProxyPort int
	// Tokens is the credential store (the environment, then the keychain)
	// that the token routes read and change. When Credentials is nil it is
	// also what the proxy asks, so a `token set` takes effect on the next
	// request; it is secret.NewStore("") when both are nil.
	Tokens *secret.Store
	// Credentials finds the real token for the proxy; Tokens when nil. A
	// daemon given Credentials but no Tokens refuses the token routes.
	Credentials secret.Source
	// Backend runs containers; the Docker engine from the environment when nil.
	Backend backend.Backend
	Logger  *slog.Logger
	// DrainTimeout bounds a graceful shutdown; 10s when zero.
	DrainTimeout time.Duration
	// UIPort overrides config.json's ui.port; 0 means that (or 18091),
	// AnyUIPort a free port the kernel picks.
	UIPort int
	// Now is the web UI's clock (login tokens, cookie sessions); time.Now
	// when nil.
	Now func() time.Time
	// Ready, if set, is called once the LocalAPI and the proxy are listening.
	Ready func()
}

// Daemon is a running clauderon daemon.
type Daemon struct {
	cfg       Config
	log       *slog.Logger
	lock      *lock
	sock      net.Listener
	proxyPort int // the proxy's own port; set once in New
	proxy     *proxy.Proxy
	audit     *proxy.Audit
	auth      *proxy.Sessions
	ca        *proxy.CA
	sessions  *session.Manager
	conf      config.Config
	// kube is the Kubernetes backend (kube.go); nil without a kubernetes
	// section in config.json.
	kube *kubernetes.Backend
	// k8sTunnel carries the cluster gateway's connections to the proxy.
	k8sTunnel *K8sTunnel
	// dailyMu orders SetDailyBudget's file write and live change, so the
	// file and the daemon agree after two at once.
	dailyMu sync.Mutex

	drain   chan struct{}
	drained atomic.Bool
	wg      sync.WaitGroup

	// The proxy's listeners (listeners.go).
	lmu        sync.Mutex
	lns        map[string]net.Listener // by address
	proxyAddrs []string                // in the order bound
	gw         string                  // the bridge gateway; "" where loopback suffices
	gwKnown    bool
	gwErr      error              // why the gateway is not known
	bindErrs   map[string]string  // what was last logged about an address
	serve      func(net.Listener) // set by Run
	closed     bool

	// sandbox serves each session's own socket (sandbox.go); nil when
	// containers reach the proxy over the bridge network instead.
	// The MCP endpoint (mcphttp.go); mcpLn is nil when it is off.
	mcpLn    net.Listener
	mcpPort  int
	mcpToken string
	mcpErr   error
	// The web UI (ui.go); ui is nil when it is off, uiErr says why when
	// it should be on.
	ui    *webui.Server
	uiErr error
	// nested serves spawning sessions' MCP endpoints (nested.go).
	nested nestedMCP

	sandbox        *sandboxes
	newWithGateway bool // new sessions get the gateway (else the bridge network)
	// global bounds every proxy connection, below the file-descriptor
	// limit; shared bounds those to the TCP listeners (connPools).
	global, shared *proxy.ConnPool
	local          localNets // the host's addresses and bridges (dialpolicy.go)
	sessionConns   int
	poolMu         sync.Mutex
	pools          map[string]*proxy.ConnPool // by session (sessionPool)
}

// New takes the home's lock, loads the configuration and the CA, opens the
// sessions and listens on the socket and the proxy's port. It serves nothing
// until Run.
func New(ctx context.Context, cfg Config) (_ *Daemon, err error) {
	if cfg.Home == "" {
		return nil, errors.New("daemon: Config.Home is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Credentials == nil {
		if cfg.Tokens == nil {
			cfg.Tokens = secret.NewStore("")
		}
		cfg.Credentials = cfg.Tokens
	}
	if cfg.DrainTimeout == 0 {
		cfg.DrainTimeout = 10 * time.Second
	}
	d := &Daemon{cfg: cfg, log: cfg.Logger, drain: make(chan struct{})}
	d.nested.d = d
	// Before anything is written there: the home holds the sessions' key,
	// the CA's key and the socket, which is private because the home is.
	was, err := config.EnsurePrivate(cfg.Home)
	if err != nil {
		return nil, err
	}
	if was != 0 {
		d.log.Warn("CLAUDERON_HOME was open to other users; made it private (0700)", "home", cfg.Home, "mode_was", fmt.Sprintf("%#o", was))
	}
	d.lock, err = acquire(cfg.Home)
	if err != nil {
		return nil, err
	}
	defer func() {
		if err != nil {
			d.close()
		}
	}()
	if d.conf, err = config.Load(cfg.Home); err != nil {
		return nil, err
	}
	if d.cfg.Backend == nil {
		b, err := docker.New()
		if err != nil {
			return nil, err
		}
		d.cfg.Backend = b
	}
	d.connPools()
	if err := d.setupProxy(ctx); err != nil {
		return nil, err
	}
	var gw session.Gateway
	// Sessions made with a gateway keep theirs whatever container.network
	// now says; useGateway decides for new ones.
	d.newWithGateway = d.useGateway()
	if runtime.GOOS == "linux" {
		bin, err := installGateway(cfg.Home, cfg.GatewayBinary)
		if err != nil {
			return nil, fmt.Errorf("cannot install the sessions' gateway binary in %s: %w", filepath.Join(cfg.Home, "bin"), err)
		}
		if err := os.MkdirAll(filepath.Join(cfg.Home, sandboxDir), 0o700); err != nil {
			return nil, err
		}
		d.sandbox = &sandboxes{root: filepath.Join(cfg.Home, sandboxDir), binary: bin, pools: func(name string) []*proxy.ConnPool {
			return []*proxy.ConnPool{d.sessionPool(name), d.global}
		}, forget: d.dropPool}
		gw = d.sandbox
	}
	egress, err := d.egressConfig()
	if err != nil {
		return nil, err
	}
	limits := session.Limits{CPUs: d.conf.Container.CPUs, MemoryBytes: d.conf.Container.MemoryBytes, Pids: d.conf.Container.Pids}
	if err := session.CheckLimits(limits); err != nil {
		return nil, fmt.Errorf("%s: container: %w", filepath.Join(cfg.Home, config.FileName), err)
	}
	kube, err := d.setupKubernetes()
	if err != nil {
		return nil, err
	}
	d.sessions, err = session.Open(session.Config{
		Home:    cfg.Home,
		Backend: d.cfg.Backend,
		Auth:    authAdapter{d.auth, d.log},
		Container: session.ContainerConfig{
			Gateway:    gw,
			Bridge:     !d.newWithGateway,
			ProxyPort:  d.proxyPort,
			CAFile:     d.ca.CertPath(),
			BundleFile: d.bundlePath(),
			Limits:     limits,
		},
		Logger:         d.log.With("part", "session"),
		ProxyServes:    d.proxyServes,
		MaxCopyBytes:   d.conf.Workspace.MaxCopyBytes,
		Egress:         egress,
		MaxDepth:       d.conf.Spawn.MaxDepth,
		Prices:         d.prices(),
		DailyBudgetUSD: d.conf.Budget.DailyUSD,
		Kubernetes:     kube,
		DefaultBackend: d.conf.DefaultBackend,
	})
	if err != nil {
		return nil, err
	}
	if err := d.sessions.Reconcile(ctx); err != nil {
		// The engine may come up later; Run keeps trying.
		d.log.Warn("cannot reconcile sessions with the engine yet", "err", err)
	}
	d.sock, err = listenSocket(filepath.Join(cfg.Home, client.SocketFile))
	if err != nil {
		return nil, err
	}
	d.listenMCP()
	d.listenUI()
	return d, nil
}

// Socket is the LocalAPI's unix socket path.
func (d *Daemon) Socket() string { return filepath.Join(d.cfg.Home, client.SocketFile) }

// Run serves until ctx ends, then drains: it stops accepting, lets requests
// in flight finish for up to DrainTimeout or until force is closed, and
// returns. Containers keep running. context.Canceled is a clean exit (nil).
func (d *Daemon) Run(ctx context.Context, force <-chan struct{}) error {
	defer d.close()
	srv := &http.Server{
		Handler:           d.handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(d.log.Handler(), slog.LevelDebug),
	}
	bg, stopBG := context.WithCancel(context.WithoutCancel(ctx))
	defer stopBG()
	errc := make(chan error, 1)
	fail := func(err error) {
		if err != nil {
			select {
			case errc <- err:
			default:
			}
		}
	}
	go func() { fail(ignoreClosed(srv.Serve(d.sock))) }()
	d.serveListeners(func(l net.Listener) {
		go func() { fail(ignoreClosed(d.proxy.Serve(bg, l))) }()
	})
	if d.sandbox != nil {
		d.sandbox.serveAll(func(name string, l net.Listener) {
			go func() {
				// One session's socket failing (or closed by rm) is that
				// session's business, not a reason to stop the daemon.
				if err := ignoreClosed(d.proxy.ServeSession(bg, l, name)); err != nil {
					d.log.Error("stopped serving a session's proxy socket", "session", name, "err", err)
				}
			}()
		})
	}
	d.serveMCP(bg, fail)
	d.serveUI(bg)
	d.nested.start(bg)
	d.wg.Add(2)
	go func() {
		defer d.wg.Done()
		_ = d.sessions.Run(bg)
	}()
	go func() {
		defer d.wg.Done()
		d.keepListening(bg)
	}()
	if d.k8sTunnel != nil {
		d.wg.Add(1)
		go func() {
			defer d.wg.Done()
			if err := d.k8sTunnel.Run(bg); err != nil {
				d.log.Error("the cluster tunnel stopped", "err", err)
			}
		}()
	}
	// Starting (config, templates, the state files, both backends) leaves
	// garbage the runtime would hand back to the system only slowly; an
	// idle daemon should not hold it: about 1.6 MB.
	debug.FreeOSMemory()
	d.log.Info("clauderon daemon running", "socket", d.Socket(), "proxy_port", d.proxyPort, "proxy", d.ProxyAddrs(), "pid", os.Getpid())
	if d.cfg.Ready != nil {
		d.cfg.Ready()
	}

	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
		d.log.Error("a listener failed; shutting down", "err", runErr)
	}
	d.log.Info("draining: finishing requests in flight (signal again to force)")
	d.drained.Store(true)
	close(d.drain)
	sctx, cancel := context.WithTimeout(context.Background(), d.cfg.DrainTimeout)
	defer cancel()
	go func() {
		select {
		case <-force:
			d.log.Warn("forced shutdown")
			cancel()
		case <-sctx.Done():
		}
	}()
	if err := srv.Shutdown(sctx); err != nil {
		srv.Close()
	}
	stopBG() // proxy listeners, the event watcher and the listener retries
	d.closeListeners()
	done := make(chan struct{})
	go func() { d.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-sctx.Done():
	}
	d.sessions.FlushUsage()
	d.log.Info("daemon stopped; containers keep running")
	return runErr
}

func (d *Daemon) close() {
	if d.sock != nil {
		d.sock.Close() // removes the socket file
	}
	if d.mcpLn != nil {
		d.mcpLn.Close()
	}
	if d.ui != nil {
		d.ui.Close()
	}
	d.closeListeners()
	if d.sandbox != nil {
		d.sandbox.closeAll()
	}
	if d.audit != nil {
		d.audit.Close()
	}
	if d.lock != nil {
		d.lock.release(d.cfg.Home)
		d.lock = nil
	}
}

func ignoreClosed(err error) error {
	if err == nil || errors.Is(err, http.ErrServerClosed) || errors.Is(err, net.ErrClosed) || errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

// draining reports whether shutdown has begun.
func (d *Daemon) draining() bool { return d.drained.Load() }

// streamContext is the context of a long-lived answer (wait, logs -f,
// attach): it ends with the request or when the daemon starts to drain.
func (d *Daemon) streamContext(r *http.Request) (context.Context, context.CancelFunc) {
	ctx, cancel := d.drainContext()
	stop := context.AfterFunc(r.Context(), cancel)
	return ctx, func() { stop(); cancel() }
}

// drainContext ends when the daemon starts to drain: for streams that
// outlive their request (an attach after the upgrade).
func (d *Daemon) drainContext() (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		select {
		case <-d.drain:
			cancel()
		case <-ctx.Done():
		}
	}()
	return ctx, cancel
}

// authAdapter gives the session manager the proxy's credential table.
type authAdapter struct {
	s   *proxy.Sessions
	log *slog.Logger
}

func (a authAdapter) Set(name string, sec session.Secret) {
	if err := a.s.Set(name, sec.Reveal()); err != nil {
		a.log.Error("cannot register a session's proxy credential", "session", name, "err", err)
	}
}

func (a authAdapter) Delete(name string) { a.s.Remove(name) }
