package daemon

import (
	"context"
	"crypto/x509"
	"debug/elf"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

func (d *Daemon) doctor(w http.ResponseWriter, r *http.Request) error {
	rep, err := d.Doctor(r.Context(), r.URL.Query().Get("image"))
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// Doctor runs every check against image (DefaultImage when "") and says
// how to fix each failure. Its error is only for an invalid image
// reference; a failed check is a line of the report.
func (d *Daemon) Doctor(ctx context.Context, image string) (api.Doctor, error) {
	if image == "" {
		image = session.DefaultImage
	}
	if !session.ValidImageRef(image) {
		return api.Doctor{}, session.Errorf(session.ErrInvalid, "%q is not a valid image reference", image)
	}
	var checks []api.Check
	add := func(c api.Check) { checks = append(checks, c) }

	engineErr := d.cfg.Backend.Ping(ctx)
	engineOK := engineErr == nil
	add(engineCheck(engineErr, true))

	cred := d.credentialCheck(ctx)
	add(cred)

	cert := d.ca.Certificate()
	if time.Now().After(cert.NotAfter) {
		add(api.Check{Name: "ca", Detail: "the proxy CA expired on " + cert.NotAfter.Format(time.DateOnly),
			Fix: "delete " + d.ca.CertPath() + " and its key, then restart the daemon"})
	} else {
		add(api.Check{Name: "ca", OK: true, Detail: fmt.Sprintf("%s, valid until %s", d.ca.CertPath(), cert.NotAfter.Format(time.DateOnly))})
	}

	add(d.gatewayCheck())

	imageOK := false
	if engineOK {
		var c api.Check
		c, imageOK = imageCheck(ctx, d.cfg.Backend, image)
		add(c)
	} else {
		add(api.Check{Name: "image", Detail: "not checked: the engine does not answer", Fix: "start Docker first"})
	}

	var user session.User
	userOK := false
	if engineOK && imageOK {
		var c api.Check
		c, user, userOK = d.checkUser(ctx, image)
		add(c)
	} else {
		add(api.Check{Name: "user", Detail: "not checked: needs the engine and the image", Fix: "fix the checks above first"})
	}

	if userOK {
		add(d.checkClaude(ctx, image, user))
		add(d.checkProxyFromContainer(ctx, image, user, cred.OK))
	} else {
		for _, n := range []string{"claude", "proxy"} {
			add(api.Check{Name: n, Detail: "not checked: needs the engine, the image and its user", Fix: "fix the checks above first"})
		}
	}

	add(d.uiCheck())
	if d.kube != nil {
		tun := K8sTunnelStateFunc(func() (bool, time.Time, string) {
			s := d.k8sTunnel.State()
			return s.Up, s.Since, s.LastError
		})
		for _, c := range K8sChecks(ctx, d.kube, tun, d.kube.ProbeGateway, time.Now()) {
			add(c)
		}
	}
	return report(checks), nil
}

// uiCheck is the line about the web UI: where it listens, that config.json
// turned it off, or why it could not listen.
func (d *Daemon) uiCheck() api.Check {
	switch {
	case d.ui != nil:
		return api.Check{Name: "ui", OK: true, Detail: "the web UI listens on " + d.ui.Origin() + "; open it with `clauderon ui`"}
	case d.uiErr != nil:
		return api.Check{Name: "ui", Detail: d.uiErr.Error(), Fix: "set ui.port in config.json to a free port (or -1 to turn the UI off), then restart the daemon"}
	}
	return api.Check{Name: "ui", OK: true, Detail: "off (ui.port is -1 in config.json)"}
}

func report(checks []api.Check) api.Doctor {
	rep := api.Doctor{OK: true, Checks: checks}
	for _, c := range checks {
		rep.OK = rep.OK && c.OK
	}
	return rep
}

// engineCheck is the line about the engine, given its Ping's answer. A
// running daemon notices an engine that comes up by itself (its listeners
// and its event stream retry), so the fix asks for no restart.
func engineCheck(err error, daemonRuns bool) api.Check {
	if err == nil {
		return api.Check{Name: "engine", OK: true, Detail: "the Docker engine answers"}
	}
	fix := "start Docker (`sudo systemctl start docker`, `sudo dockerd &`, or open Docker Desktop; `DOCKER_HOST` is honoured)"
	if daemonRuns {
		fix += "; the daemon picks it up by itself, without a restart"
	}
	return api.Check{Name: "engine", Detail: "the Docker engine does not answer", Fix: fix}
}

// imageCheck says whether image is present and, if not, how to get that
// image: the agent image is built, any other is pulled (or built under its
// name, for an agent image of another tag).
func imageCheck(ctx context.Context, be backend.Backend, image string) (api.Check, bool) {
	ok, err := be.ImageExists(ctx, image)
	switch {
	case err != nil:
		return api.Check{Name: "image", Detail: err.Error(), Fix: "check the engine"}, false
	case ok:
		return api.Check{Name: "image", OK: true, Detail: image + " is present"}, true
	}
	c := api.Check{Name: "image", Detail: image + " is not present"}
	if image == session.DefaultImage {
		c.Fix = "build it with `clauderon image build` (without a registry: add --base-image with a local Debian image and --claude-binary $(command -v claude))"
	} else {
		c.Fix = "pull it with `clauderon image pull " + image + "` (or `docker pull " + image + "`), or build the agent image under that name with `clauderon image build --tag " + image + "`"
	}
	return c, false
}

// DoctorWithoutDaemon is the report when no daemon answers at socket: the
// checks this process can run itself (the engine, the credential as a
// daemon started from this environment would find it, the CA, the image),
// and how to start the daemon for the rest. store is this environment's.
func DoctorWithoutDaemon(ctx context.Context, home, socket, image string, store *secret.Store) (api.Doctor, error) {
	if image == "" {
		image = session.DefaultImage
	}
	if !session.ValidImageRef(image) {
		return api.Doctor{}, session.Errorf(session.ErrInvalid, "%q is not a valid image reference", image)
	}
	checks := []api.Check{{Name: "daemon", Detail: "no clauderon daemon answers at " + socket,
		Fix: "start it with `clauderon daemon` (or `make run` in the source tree), then run `clauderon doctor` again for the checks that need it"}}
	add := func(c api.Check) { checks = append(checks, c) }

	var engineErr error
	be, err := docker.New()
	if err == nil {
		defer be.Close()
		engineErr = be.Ping(ctx)
	} else {
		engineErr = err
	}
	add(engineCheck(engineErr, false))
	add(credentialCheck(ctx, store, store, "in the environment you start the daemon from"))

	certPath := filepath.Join(home, proxy.CACertFile)
	switch cert, err := readCert(certPath); {
	case errors.Is(err, fs.ErrNotExist):
		add(api.Check{Name: "ca", OK: true, Detail: certPath + " does not exist yet; the daemon creates it"})
	case err != nil:
		add(api.Check{Name: "ca", Detail: "cannot read " + certPath + ": " + err.Error(), Fix: "delete " + certPath + " and its key; the daemon creates new ones"})
	case time.Now().After(cert.NotAfter):
		add(api.Check{Name: "ca", Detail: "the proxy CA expired on " + cert.NotAfter.Format(time.DateOnly), Fix: "delete " + certPath + " and its key; the daemon creates new ones"})
	default:
		add(api.Check{Name: "ca", OK: true, Detail: fmt.Sprintf("%s, valid until %s", certPath, cert.NotAfter.Format(time.DateOnly))})
	}

	if engineErr == nil {
		c, _ := imageCheck(ctx, be, image)
		add(c)
	} else {
		add(api.Check{Name: "image", Detail: "not checked: the engine does not answer", Fix: "start Docker first"})
	}
	for _, n := range []string{"network", "user", "claude", "proxy"} {
		add(api.Check{Name: n, Detail: "not checked: needs the daemon", Fix: "start the daemon (see above)"})
	}
	return report(checks), nil
}

// readCert reads the PEM certificate at path.
func readCert(path string) (*x509.Certificate, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	blk, _ := pem.Decode(b)
	if blk == nil || blk.Type != "CERTIFICATE" {
		return nil, errors.New("not a PEM certificate")
	}
	return x509.ParseCertificate(blk.Bytes)
}

// gatewayCheck says how containers reach the proxy, and whether the binary
// they run as their gateway needs a C library from the image.
func (d *Daemon) gatewayCheck() api.Check {
	if !d.newWithGateway {
		return api.Check{Name: "network", OK: true, Detail: "containers are on the engine's bridge network and reach the proxy at " + session.ProxyHost + " (container.network is \"bridge\", or the engine is Docker Desktop's); they can reach other hosts directly too"}
	}
	static, err := staticBinary(d.sandbox.binary)
	switch {
	case err != nil:
		return api.Check{Name: "network", Detail: "cannot read the gateway binary " + d.sandbox.binary + ": " + err.Error(), Fix: "restart the daemon"}
	case !static:
		return api.Check{Name: "network", OK: true, Detail: "containers have no network but their gateway to the proxy; the gateway (" + d.sandbox.binary + ") is dynamically linked, so images need a compatible glibc (build clauderon with `make build`, which links it statically, for any image)"}
	}
	return api.Check{Name: "network", OK: true, Detail: "containers have no network but their gateway to the proxy (" + d.sandbox.binary + ", statically linked)"}
}

// staticBinary reports whether an ELF executable asks for no interpreter.
func staticBinary(path string) (bool, error) {
	f, err := elf.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return false, nil
		}
	}
	return true, nil
}

// checkProxyFromContainer runs a throwaway container of image, as user, that
// curls https://api.anthropic.com/ through the proxy with a temporary
// credential. Any HTTP answer through the tunnel proves the path works.
//
// Without a usable credential the proxy answers such a request itself (401,
// or 503 when the keychain cannot be asked): the path works, but no session
// request would, so that is a failure too.
func (d *Daemon) checkProxyFromContainer(ctx context.Context, image string, user session.User, credOK bool) api.Check {
	fail := func(detail, fix string) api.Check {
		return api.Check{Name: "proxy", Detail: detail, Fix: fix}
	}
	rnd, err := proxy.NewSecret()
	if err != nil {
		return fail(err.Error(), "")
	}
	pass, err := proxy.NewSecret()
	if err != nil {
		return fail(err.Error(), "")
	}
	// '_' is not allowed in session names, so this credential never shadows a session's.
	name := "_doctor-" + rnd[:8]
	if err := d.auth.Set(name, pass); err != nil {
		return fail(err.Error(), "")
	}
	defer d.auth.Remove(name)

	cc := session.ContainerConfig{ProxyPort: d.proxyPort, CAFile: d.ca.CertPath(), BundleFile: d.bundlePath()}
	proxyURL := session.ProxyURL(name, secret.Wrap(pass), d.proxyPort)
	where := "the proxy at " + session.ProxyHost + ":" + fmt.Sprint(d.proxyPort)
	var sockDir string
	if d.newWithGateway {
		// The way sessions go: no network, the gateway to a socket.
		if sockDir, err = d.sandbox.open(name); err != nil {
			return fail("cannot listen on the test container's proxy socket: "+err.Error(), "check that "+d.sandbox.root+" is writable")
		}
		defer d.sandbox.Close(name)
		cc.Gateway = d.sandbox
		proxyURL = session.GatewayProxyURL(name, secret.Wrap(pass))
		where = "its gateway (" + gateway.ListenAddr + " in the container, " + sockDir + " on the host)"
	}
	spec := backend.Spec{
		Name:       "clauderon" + strings.ReplaceAll(name, "_", "-"),
		Image:      image,
		Cmd:        []string{"curl", "-sS", "-o", "/dev/null", "-w", "%{http_connect} %{http_code}\n", "--max-time", "20", "https://api.anthropic.com/"},
		Env:        append(session.ContainerEnv(proxyURL), user.Env()...),
		Labels:     map[string]string{"dev.clauderon.doctor": "1", session.LabelHome: session.HomeID(d.cfg.Home)},
		Mounts:     cc.CAMounts(),
		User:       user.SpecUser(),
		Dirs:       session.UserDirs(user),
		ExtraHosts: []string{session.ProxyHost + ":host-gateway"},
		Hardened:   true,
		Limits:     backend.Limits{MemoryBytes: session.DefaultLimits().MemoryBytes, NanoCPUs: 1e9, Pids: session.DefaultLimits().Pids},
	}
	if d.newWithGateway {
		cc.WithGateway(&spec, sockDir)
	}
	be := d.cfg.Backend
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	id, err := be.Create(ectx, spec)
	if err != nil {
		return fail("cannot create a test container: "+err.Error(), "check the engine and the image")
	}
	defer func() {
		if err := be.Remove(context.WithoutCancel(ctx), id, true); err != nil && !errors.Is(err, backend.ErrNotFound) {
			d.log.Warn("cannot remove the doctor's container", "id", id, "err", err)
		}
	}()
	if err := be.Start(ectx, id); err != nil {
		if notOnPath(err) {
			return api.Check{Name: "proxy", OK: true, Detail: "not checked from " + image + ", which has no curl; `clauderon doctor` checks it from the default image"}
		}
		return fail("cannot start a test container: "+err.Error(), "check the engine and the image")
	}
	rc, err := be.Logs(ectx, id, true)
	if err != nil {
		return fail("cannot read the test container's output: "+err.Error(), "")
	}
	out, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	rc.Close()
	text := strings.TrimSpace(string(out))
	fields := strings.Fields(lastLine(text))
	if strings.Contains(text, gateway.ErrNotOnPath.Error()) {
		return api.Check{Name: "proxy", OK: true, Detail: "not checked from " + image + ", which has no curl; `clauderon doctor` checks it from the default image"}
	}
	if len(fields) == 2 && fields[1] != "000" && !credOK {
		return fail(fmt.Sprintf("a container reached the proxy through %s, but the proxy could not inject a credential (HTTP %s)", where, fields[1]),
			"fix the credential check above")
	}
	if len(fields) == 2 && fields[1] != "000" {
		return api.Check{Name: "proxy", OK: true, Detail: fmt.Sprintf("a container reached api.anthropic.com through %s (HTTP %s)", where, fields[1])}
	}
	if len(fields) == 2 && fields[0] == "407" {
		return fail("the proxy refused the test container's credential (407)", "restart the daemon; if it persists, report a bug")
	}
	if d.newWithGateway {
		return fail(fmt.Sprintf("a container could not reach the proxy through %s: %s", where, oneLine(text)),
			"see the daemon's log; a container runs "+gateway.Binary+" first, so its image must let it run a Linux binary (see Troubleshooting in the README)")
	}
	return fail(fmt.Sprintf("a container could not use %s: %s", where, oneLine(text)),
		"the proxy listens on "+strings.Join(d.ProxyAddrs(), ", ")+"; on Linux it must listen on the Docker bridge gateway (the daemon binds it by itself once the engine answers; see its log), and no firewall may block that port")
}

// checkUser says who sessions of image run as, and why.
func (d *Daemon) checkUser(ctx context.Context, image string) (api.Check, session.User, bool) {
	iu, err := d.cfg.Backend.ImageUser(ctx, image)
	if err != nil {
		fix := "check the engine"
		if errors.Is(err, backend.ErrImageUser) {
			fix = "make the image's USER a user of its /etc/passwd (useradd), or remove USER to run as uid 1000"
		}
		return api.Check{Name: "user", Detail: err.Error(), Fix: fix}, session.User{}, false
	}
	u := session.RunAs(iu)
	home := "HOME " + u.Home
	if u.MadeHome {
		home += ", which clauderon makes"
	}
	var detail string
	switch {
	case u.Fallback && iu.Config == "":
		detail = fmt.Sprintf("the image names no USER, so it would run as root: sessions run as %s instead, %s", u, home)
	case u.Fallback:
		detail = fmt.Sprintf("the image's USER %s is root: sessions run as %s instead, %s", iu.Config, u, home)
	case u.MadeHome && iu.Home != "":
		detail = fmt.Sprintf("sessions run as the image's user %s, %s (its own, %s, is not a directory it can write)", u, home, iu.Home)
	default:
		detail = fmt.Sprintf("sessions run as the image's user %s, %s", u, home)
	}
	return api.Check{Name: "user", OK: true, Detail: detail}, u, true
}

// checkClaude runs `claude --version` in a throwaway container of image, as
// sessions run it.
func (d *Daemon) checkClaude(ctx context.Context, image string, user session.User) api.Check {
	fail := func(detail string) api.Check {
		return api.Check{Name: "claude", Detail: detail,
			Fix: "install Claude Code in the image so that `claude` is on its PATH (see build/agent/Dockerfile), or use the agent image (`clauderon image build`)"}
	}
	rnd, err := proxy.NewSecret()
	if err != nil {
		return api.Check{Name: "claude", Detail: err.Error()}
	}
	spec := backend.Spec{
		Name:     "clauderon-doctor-claude-" + rnd[:8],
		Image:    image,
		Cmd:      []string{"claude", "--version"},
		Env:      append([]string{"DISABLE_AUTOUPDATER=1", "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1"}, user.Env()...),
		Labels:   map[string]string{"dev.clauderon.doctor": "1", session.LabelHome: session.HomeID(d.cfg.Home)},
		User:     user.SpecUser(),
		Dirs:     session.UserDirs(user),
		Hardened: true,
		// The image may be hostile: it runs with no network, within the
		// sessions' limits, and with claude as its entrypoint, not its own.
		Network:    "none",
		Entrypoint: []string{"claude"},
		Limits:     backend.Limits{MemoryBytes: session.DefaultLimits().MemoryBytes, NanoCPUs: 1e9, Pids: session.DefaultLimits().Pids},
	}
	spec.Cmd = []string{"--version"}
	be := d.cfg.Backend
	ectx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 60*time.Second)
	defer cancel()
	id, err := be.Create(ectx, spec)
	if err != nil {
		return api.Check{Name: "claude", Detail: "cannot create a test container: " + err.Error(), Fix: "check the engine and the image"}
	}
	defer func() {
		if err := be.Remove(context.WithoutCancel(ctx), id, true); err != nil && !errors.Is(err, backend.ErrNotFound) {
			d.log.Warn("cannot remove the doctor's container", "id", id, "err", err)
		}
	}()
	if err := be.Start(ectx, id); err != nil {
		if notOnPath(err) {
			return fail("claude is not on the PATH of " + image)
		}
		return fail("cannot start a test container: " + err.Error())
	}
	rc, err := be.Logs(ectx, id, true)
	if err != nil {
		return api.Check{Name: "claude", Detail: "cannot read the test container's output: " + err.Error()}
	}
	out, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
	rc.Close()
	c, err := be.Inspect(ectx, id)
	if err != nil {
		return api.Check{Name: "claude", Detail: "cannot inspect the test container: " + err.Error()}
	}
	text := oneLine(string(out))
	switch {
	case c.ExitCode == 127:
		// The init that hardened containers run reports a missing command so.
		return fail("claude is not on the PATH of " + image + ": " + text)
	case c.ExitCode != 0:
		return fail(fmt.Sprintf("`claude --version` failed in %s (exit %d): %s", image, c.ExitCode, text))
	}
	return api.Check{Name: "claude", OK: true, Detail: "claude " + text + " is on the image's PATH"}
}

// notOnPath reports an engine's refusal to start a command it cannot find.
func notOnPath(err error) bool {
	return strings.Contains(err.Error(), "executable file not found")
}

func lastLine(s string) string {
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return s[i+1:]
	}
	return s
}

func oneLine(s string) string {
	s = strings.Join(strings.Fields(s), " ")
	if len(s) > 300 {
		s = s[:300] + "…"
	}
	return s
}
