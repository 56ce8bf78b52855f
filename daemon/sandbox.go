package daemon

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"sync"

	"golang.org/x/sys/unix"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/session"
)

// Each session's container has no network; its only way out is its own unix
// socket, $CLAUDERON_HOME/sandbox/<name>/proxy.sock, which the container's
// gateway (package gateway) connects to. The home is 0700, so no other
// local user can bind, or even reach, that socket: while the daemon is down
// it refuses connections, and nothing answers there. The proxy knows from
// the socket which session is calling, and accepts only that session's
// credential through it.

// sandboxDir is below the home; it holds one directory per session.
const sandboxDir = "sandbox"

// doctorName is what doctor's throwaway credentials are called: '_' is not
// allowed in session names, so one never shadows a session's.
var doctorName = regexp.MustCompile(`^_doctor-[0-9a-f]{8}$`)

// sandboxes is the daemon's session.Gateway: it listens on each session's
// socket and serves the proxy there.
type sandboxes struct {
	root   string                              // $CLAUDERON_HOME/sandbox
	binary string                              // the clauderon binary containers run as their gateway
	pools  func(name string) []*proxy.ConnPool // a session's: its own, then the global one
	forget func(name string)                   // called once a session is gone

	mu    sync.Mutex
	lns   map[string]net.Listener
	serve func(name string, l net.Listener) // set by Run
	done  bool
}

// Dir is session name's socket directory on the host.
func (s *sandboxes) Dir(name string) string { return filepath.Join(s.root, name) }

// Binary implements session.Gateway.
func (s *sandboxes) Binary() string { return s.binary }

// Open implements session.Gateway: it listens on name's socket, unless it
// already does, and returns the directory to mount.
func (s *sandboxes) Open(name string) (string, error) {
	if err := session.ValidateName(name); err != nil {
		return "", err
	}
	return s.open(name)
}

// open is Open for a name already checked: a session's, or doctor's own.
func (s *sandboxes) open(name string) (string, error) {
	dir := s.Dir(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.lns[name]; ok || s.done {
		return dir, nil
	}
	l, err := listenIn(dir)
	if err != nil {
		return "", fmt.Errorf("cannot listen on session %s's proxy socket: %w", name, err)
	}
	ll := proxy.Limit(l, s.pools(name)...)
	if s.lns == nil {
		s.lns = map[string]net.Listener{}
	}
	s.lns[name] = ll
	if s.serve != nil {
		s.serve(name, ll)
	}
	return dir, nil
}

// Close implements session.Gateway: the session is gone for good.
func (s *sandboxes) Close(name string) {
	s.mu.Lock()
	l, ok := s.lns[name]
	delete(s.lns, name)
	s.mu.Unlock()
	if ok {
		l.Close()
	}
	if s.forget != nil {
		s.forget(name)
	}
	if session.ValidateName(name) == nil || doctorName.MatchString(name) {
		os.RemoveAll(s.Dir(name))
	}
}

// serveAll serves every socket opened so far, and each one opened later,
// through serve.
func (s *sandboxes) serveAll(serve func(name string, l net.Listener)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.serve = serve
	for name, l := range s.lns {
		serve(name, l)
	}
}

// closeAll stops listening everywhere; the sockets stay, refusing
// connections, until the next daemon listens on them again.
func (s *sandboxes) closeAll() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.done = true
	for _, l := range s.lns {
		l.Close()
	}
}

// listenIn listens on dir/proxy.sock, replacing what an earlier daemon left
// there. The directory is open to every uid to search (the container's user
// need not be the daemon's) and the socket to every uid to connect; the
// 0700 home above them keeps other users out. The path is reached through
// the directory's descriptor, so a long home does not meet the 108-byte
// limit of socket paths.
func listenIn(dir string) (net.Listener, error) {
	if err := os.MkdirAll(dir, 0o711); err != nil {
		return nil, err
	}
	if err := os.Chmod(dir, 0o711); err != nil {
		return nil, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_NOFOLLOW|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	defer unix.Close(fd)
	if err := unix.Unlinkat(fd, gateway.SocketName, 0); err != nil && !errors.Is(err, unix.ENOENT) {
		return nil, err
	}
	via := fmt.Sprintf("/proc/self/fd/%d/%s", fd, gateway.SocketName)
	l, err := net.Listen("unix", via)
	if err != nil {
		return nil, err
	}
	// Go would unlink the /proc path on Close, which names another file by
	// then; the next daemon replaces the socket instead.
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	if err := os.Chmod(filepath.Join(dir, gateway.SocketName), 0o666); err != nil {
		l.Close()
		return nil, err
	}
	return l, nil
}

// installGateway copies the gateway binary (self, or the running binary
// when it is "") into $CLAUDERON_HOME/bin under a name made of its hash,
// unless it is there, and returns that path: what session containers mount
// read-only and run as their gateway. A copy, so that replacing or
// deleting the installed binary never breaks a stopped session's next
// start.
func installGateway(home, self string) (string, error) {
	if self == "" {
		exe, err := os.Executable()
		if err != nil {
			return "", err
		}
		self = exe
	}
	src, err := os.Open(self)
	if err != nil {
		return "", err
	}
	defer src.Close()
	h := sha256.New()
	if _, err := io.Copy(h, src); err != nil {
		return "", err
	}
	dir := filepath.Join(home, "bin")
	dst := filepath.Join(dir, "clauderon-"+hex.EncodeToString(h.Sum(nil)[:12]))
	if fi, err := os.Stat(dst); err == nil && fi.Mode().IsRegular() {
		return dst, nil
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return "", err
	}
	tmp, err := os.CreateTemp(dir, ".clauderon-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	if _, err := src.Seek(0, io.SeekStart); err != nil {
		tmp.Close()
		return "", err
	}
	if _, err := io.Copy(tmp, src); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Chmod(0o755); err != nil {
		tmp.Close()
		return "", err
	}
	if err := tmp.Close(); err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), dst); err != nil {
		return "", err
	}
	return dst, nil
}

// Defaults of config.json's proxy.session_conns and proxy.shared_conns.
const (
	defaultSessionConns = 1024
	defaultSharedConns  = 256
)

// connPools sizes the proxy's connection pools: the global one below the
// file-descriptor limit (raised to its hard limit first), each session's,
// and the TCP listeners' shared one.
func (d *Daemon) connPools() {
	limit := proxy.FileLimit()
	global := proxy.GlobalConnCap(limit)
	d.global = proxy.NewConnPool(global)
	// Under a low file limit, each pool is an eighth of the global one at
	// most, so several flooding sessions still leave others room.
	d.sessionConns = d.conf.Proxy.SessionConns
	if d.sessionConns <= 0 {
		d.sessionConns = min(defaultSessionConns, max(global/8, 16))
	}
	shared := d.conf.Proxy.SharedConns
	if shared <= 0 {
		shared = min(defaultSharedConns, max(global/8, 16))
	}
	d.shared = proxy.NewConnPool(shared)
	d.pools = map[string]*proxy.ConnPool{}
	d.log.Debug("proxy connection limits", "open_files", limit, "global", d.global.Cap(), "per_session", d.sessionConns, "shared_tcp", shared)
}

// sessionPool is session name's own connection pool, shared by its socket
// and by its connections to the TCP listeners (see proxy.Config.SessionPool).
func (d *Daemon) sessionPool(name string) *proxy.ConnPool {
	d.poolMu.Lock()
	defer d.poolMu.Unlock()
	p, ok := d.pools[name]
	if !ok {
		p = proxy.NewConnPool(d.sessionConns)
		d.pools[name] = p
	}
	return p
}

// dropPool forgets a removed session's pool (its connections are closed).
func (d *Daemon) dropPool(name string) {
	d.poolMu.Lock()
	defer d.poolMu.Unlock()
	delete(d.pools, name)
}

// useGateway says whether new sessions get no network but their gateway:
// on Linux, unless config.json asks for the bridge or the engine is Docker
// Desktop's, whose VM cannot carry a host unix socket into a container.
func (d *Daemon) useGateway() bool {
	switch d.conf.Container.Network {
	case "bridge":
		return false
	case "", "gateway":
	default:
		return false // refused by egressConfig's sibling check in New
	}
	if runtime.GOOS != "linux" {
		return false
	}
	d.lmu.Lock()
	defer d.lmu.Unlock()
	// The gateway is "" where containers reach the host through the
	// engine's own forwarding: Docker Desktop.
	return !(d.gwKnown && d.gw == "")
}

// egressConfig checks config.json's egress and container.network.
func (d *Daemon) egressConfig() (session.EgressConfig, error) {
	file := filepath.Join(d.cfg.Home, config.FileName)
	switch d.conf.Container.Network {
	case "", "gateway", "bridge":
	default:
		return session.EgressConfig{}, fmt.Errorf("%s: container.network %q is not \"gateway\" or \"bridge\"", file, d.conf.Container.Network)
	}
	e, err := session.NewEgressConfig(d.conf.Egress.Default, d.conf.Egress.BalancedHosts)
	if err != nil {
		return e, fmt.Errorf("%s: egress: %w", file, err)
	}
	return e, nil
}
