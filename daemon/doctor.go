package daemon

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
	"github.com/clauderon/clauderon/session"
)

// doctor runs every check and says how to fix each failure.
func (d *Daemon) doctor(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	image := r.URL.Query().Get("image")
	if image == "" {
		image = session.DefaultImage
	}
	if !session.ValidImageRef(image) {
		return session.Errorf(session.ErrInvalid, "%q is not a valid image reference", image)
	}
	var checks []client.Check
	add := func(c client.Check) { checks = append(checks, c) }

	engineOK := d.cfg.Backend.Ping(ctx) == nil
	if engineOK {
		add(client.Check{Name: "engine", OK: true, Detail: "the Docker engine answers"})
	} else {
		add(client.Check{Name: "engine", Detail: "the Docker engine does not answer",
			Fix: "start Docker (`sudo systemctl start docker`, or open Docker Desktop), then restart `clauderon daemon`"})
	}

	add(d.credentialCheck(r))

	cert := d.ca.Certificate()
	if time.Now().After(cert.NotAfter) {
		add(client.Check{Name: "ca", Detail: "the proxy CA expired on " + cert.NotAfter.Format(time.DateOnly),
			Fix: "delete " + d.ca.CertPath() + " and its key, then restart the daemon"})
	} else {
		add(client.Check{Name: "ca", OK: true, Detail: fmt.Sprintf("%s, valid until %s", d.ca.CertPath(), cert.NotAfter.Format(time.DateOnly))})
	}

	imageOK := false
	if engineOK {
		ok, err := d.cfg.Backend.ImageExists(ctx, image)
		switch {
		case err != nil:
			add(client.Check{Name: "image", Detail: err.Error(), Fix: "check the engine"})
		case !ok:
			add(client.Check{Name: "image", Detail: image + " is not present",
				Fix: "build it with `clauderon image build` (or pull it with `clauderon image pull " + image + "`)"})
		default:
			imageOK = true
			add(client.Check{Name: "image", OK: true, Detail: image + " is present"})
		}
	} else {
		add(client.Check{Name: "image", Detail: "not checked: the engine does not answer", Fix: "start Docker first"})
	}

	if engineOK && imageOK {
		add(d.checkProxyFromContainer(ctx, image))
	} else {
		add(client.Check{Name: "proxy", Detail: "not checked: needs the engine and the image", Fix: "fix the checks above first"})
	}

	rep := client.Doctor{OK: true, Checks: checks}
	for _, c := range checks {
		rep.OK = rep.OK && c.OK
	}
	writeJSON(w, http.StatusOK, rep)
	return nil
}

// checkProxyFromContainer runs a throwaway container of image that curls
// https://api.anthropic.com/ through the proxy with a temporary credential.
// Any HTTP answer through the tunnel proves the path works.
func (d *Daemon) checkProxyFromContainer(ctx context.Context, image string) client.Check {
	fail := func(detail, fix string) client.Check {
		return client.Check{Name: "proxy", Detail: detail, Fix: fix}
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
	user := "_doctor-" + rnd[:8]
	if err := d.auth.Set(user, pass); err != nil {
		return fail(err.Error(), "")
	}
	defer d.auth.Remove(user)

	cc := session.ContainerConfig{ProxyPort: d.proxyPort, CAFile: d.ca.CertPath(), BundleFile: d.bundlePath()}
	proxyURL := session.ProxyURL(user, secret.Wrap(pass), d.proxyPort)
	spec := backend.Spec{
		Name:       "clauderon" + strings.ReplaceAll(user, "_", "-"),
		Image:      image,
		Cmd:        []string{"curl", "-sS", "-o", "/dev/null", "-w", "%{http_connect} %{http_code}\n", "--max-time", "20", "https://api.anthropic.com/"},
		Env:        session.ContainerEnv(proxyURL),
		Labels:     map[string]string{"dev.clauderon.doctor": "1", session.LabelHome: session.HomeID(d.cfg.Home)},
		Mounts:     cc.CAMounts(),
		User:       session.ContainerUser,
		ExtraHosts: []string{session.ProxyHost + ":host-gateway"},
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
	where := session.ProxyHost + ":" + fmt.Sprint(d.proxyPort)
	if len(fields) == 2 && fields[1] != "000" {
		return client.Check{Name: "proxy", OK: true, Detail: fmt.Sprintf("a container reached api.anthropic.com through the proxy at %s (HTTP %s)", where, fields[1])}
	}
	if len(fields) == 2 && fields[0] == "407" {
		return fail("the proxy refused the test container's credential (407)", "restart the daemon; if it persists, report a bug")
	}
	return fail(fmt.Sprintf("a container could not use the proxy at %s: %s", where, oneLine(text)),
		"the proxy listens on "+strings.Join(d.ProxyAddrs(), ", ")+"; on Linux it must listen on the Docker bridge gateway (the daemon binds it by itself once the engine answers; see its log), and no firewall may block that port")
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
