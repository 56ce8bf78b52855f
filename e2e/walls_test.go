package e2e

import (
	"bufio"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/testimage"
	"github.com/clauderon/clauderon/session"
)

// hostAddr is an IPv4 address of this machine that is not loopback: where
// a container on the engine's bridge would reach a host service.
func hostAddr(t testing.TB) string {
	t.Helper()
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String()
		}
	}
	t.Fatal("this machine has no non-loopback IPv4 address")
	return ""
}

// bridgeGateway is the engine's default bridge gateway.
func bridgeGateway(t testing.TB) string {
	t.Helper()
	out, err := dockerCLI(t, "network", "inspect", "bridge", "--format", "{{range .IPAM.Config}}{{.Gateway}}{{end}}")
	if err != nil || net.ParseIP(strings.TrimSpace(out)) == nil {
		t.Fatalf("bridge gateway: %v %q", err, out)
	}
	return strings.TrimSpace(out)
}

// containerEnv is one variable of a session container's environment.
func containerEnv(t testing.TB, name, key string) string {
	t.Helper()
	out, err := dockerCLI(t, "inspect", "--format", "{{json .Config.Env}}", session.ContainerName(name))
	if err != nil {
		t.Fatalf("docker inspect: %v %s", err, out)
	}
	var env []string
	if err := json.Unmarshal([]byte(out), &env); err != nil {
		t.Fatal(err)
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, key+"="); ok {
			return v
		}
	}
	t.Fatalf("session %s has no %s", name, key)
	return ""
}

// tcpFrom tries a TCP connection from inside the session's container with
// bash's /dev/tcp (no tool of ours) and returns what happened.
func tcpFrom(t testing.TB, name, host string, port int) (ok bool, out string) {
	t.Helper()
	script := fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && echo CONNECTED", host, port)
	out, _ = inSessionErr(t, name, "timeout", "10", "bash", "-c", script)
	return strings.Contains(out, "CONNECTED"), out
}

// TestContainerReachesOnlyTheProxy: from inside a session's container, no
// address answers (cloud metadata, another session, a host service on
// 0.0.0.0, the bridge gateway, a public address), because there is no
// route to any; only the proxy, through the gateway, answers. The fake
// api.anthropic.com works through it, and so does a tunnel to an allowed
// TLS host; under locked the tunnel is refused with a 403 that says how to
// allow it, `egress` lists the refusal, and `egress allow` opens it at once.
func TestContainerReachesOnlyTheProxy(t *testing.T) {
	e := newSessionEnv(t)
	// Any image: one whose non-root user is not named claude.
	e.image = testimage.EnsureOtherUser(t)
	ip := hostAddr(t)
	gw := bridgeGateway(t)

	// A host service on every interface: what a container on the bridge
	// would reach.
	open, err := net.Listen("tcp", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer open.Close()
	go func() {
		for {
			c, err := open.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	openPort := open.Addr().(*net.TCPAddr).Port

	// A TLS host on this machine for tunnels, with a certificate for
	// example.com (curl connects to it there with --connect-to).
	tlsHost := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "tls-host-ok") }))
	tlsHost.Listener.Close()
	tlsHost.Listener, err = net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	tlsHost.StartTLS()
	defer tlsHost.Close()
	tlsPort := tlsHost.Listener.Addr().(*net.TCPAddr).Port
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: tlsHost.Certificate().Raw})

	// A session on the bridge's address space would be reachable: a
	// plain container there stands for "another container".
	other, err := dockerCLI(t, "run", "-d", "--rm", "--entrypoint", "sleep", e.image, "300")
	if err != nil {
		t.Fatalf("docker run: %v %s", err, other)
	}
	other = strings.TrimSpace(other)
	defer dockerCLI(t, "rm", "-f", other)
	otherIP, err := dockerCLI(t, "inspect", "--format", "{{.NetworkSettings.IPAddress}}", other)
	if err != nil || net.ParseIP(strings.TrimSpace(otherIP)) == nil {
		t.Fatalf("the other container's address: %v %q", err, otherIP)
	}

	bal := sname("wall-bal")
	locked := sname("wall-lock")
	clOK(t, e.home, "create", "--name", bal, "--image", e.image, "--no-workdir", "--allow", ip)
	clOK(t, e.home, "create", "--name", locked, "--image", e.image, "--no-workdir", "--egress", "locked")
	openS := sname("wall-open")
	clOK(t, e.home, "create", "--name", openS, "--image", e.image, "--no-workdir", "--egress", "open")

	targets := []struct {
		what string
		host string
		port int
	}{
		{"cloud metadata", "169.254.169.254", 80},
		{"another container", strings.TrimSpace(otherIP), 22},
		{"a host service on 0.0.0.0, at the host's address", ip, openPort},
		{"a host service on 0.0.0.0, at the bridge gateway", gw, openPort},
		{"the bridge gateway's other ports", gw, 22},
		{"the daemon's old proxy port on the bridge", gw, e.d.port},
		{"a public address", "1.1.1.1", 443},
		{"the host's loopback", "127.0.0.1", openPort},
	}
	for _, tg := range targets {
		ok, out := tcpFrom(t, bal, tg.host, tg.port)
		t.Logf("%s: %s", tg.what, strings.TrimSpace(out))
		if ok {
			t.Errorf("%s (%s:%d) is reachable from a session: %s", tg.what, tg.host, tg.port, out)
		}
	}
	if who := strings.TrimSpace(inSession(t, bal, "id", "-un")); who != testimage.OtherUser {
		t.Errorf("the session runs as %q, want the image's own user %q", who, testimage.OtherUser)
	}
	if ok, out := tcpFrom(t, bal, "127.0.0.1", 3128); !ok {
		t.Errorf("the gateway does not listen on the container's loopback: %s", out)
	}
	if out, _ := inSessionErr(t, bal, "cat", "/proc/net/route"); strings.Count(strings.TrimSpace(out), "\n") > 0 {
		t.Errorf("the container has routes:\n%s", out)
	}

	// Through the proxy: Anthropic's API (the fake) answers with the real
	// token injected, and the allowed TLS host answers through a tunnel.
	caFile := "/tmp/tls-host.pem"
	if out, err := inSessionErr(t, bal, "sh", "-c", "cat > "+caFile+" <<'EOF'\n"+string(certPEM)+"EOF"); err != nil {
		t.Fatalf("writing the TLS host's certificate: %v %s", err, out)
	}
	if out, err := inSessionErr(t, locked, "sh", "-c", "cat > "+caFile+" <<'EOF'\n"+string(certPEM)+"EOF"); err != nil {
		t.Fatalf("writing the TLS host's certificate: %v %s", err, out)
	}
	api := inSession(t, bal, "curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "POST",
		"-H", "content-type: application/json", "-d", `{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
		"https://api.anthropic.com/v1/messages")
	if api != "200" {
		t.Errorf("the fake api.anthropic.com through the gateway: %q", api)
	}
	tunnel := func(name string) (string, error) {
		return inSessionErr(t, name, "curl", "-sS", "--max-time", "20", "--cacert", caFile,
			"--connect-to", fmt.Sprintf("example.com:%d:%s:%d", tlsPort, ip, tlsPort),
			fmt.Sprintf("https://example.com:%d/", tlsPort))
	}
	if out, err := tunnel(bal); err != nil || out != "tls-host-ok" {
		t.Errorf("a tunnel to an allowed TLS host: %v %q", err, out)
	}
	if out, err := tunnel(locked); err == nil || !strings.Contains(out, "403") {
		t.Errorf("under locked, a tunnel to a host not allowed: %v %q, want a 403", err, out)
	}

	// Even an open session does not reach the host's own services, or the
	// containers on its bridges, through the proxy, unless it names the
	// address.
	for _, h := range []string{ip, gw, strings.TrimSpace(otherIP)} {
		out, _ := inSessionErr(t, openS, "curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", fmt.Sprintf("http://%s:%d/", h, openPort))
		if out != "403" {
			t.Errorf("an open session's plain-http request to %s (this host or a bridge): %q, want 403", h, out)
		}
		code, body := connectThroughSocket(t, e.home, openS, containerEnv(t, openS, "HTTPS_PROXY"), net.JoinHostPort(h, strconv.Itoa(openPort)))
		if code != http.StatusForbidden || !strings.Contains(body, "this host or one of its container networks") {
			t.Errorf("an open session's tunnel to %s: %d %s", h, code, body)
		}
	}

	// The 403's body names the host and the command, as the container reads
	// it through its socket.
	code, body := connectThroughSocket(t, e.home, locked, containerEnv(t, locked, "HTTPS_PROXY"), net.JoinHostPort(ip, strconv.Itoa(tlsPort)))
	if want := "clauderon egress allow " + locked + " " + ip; code != http.StatusForbidden || !strings.Contains(body, want) {
		t.Errorf("CONNECT under locked: %d %s; want a 403 saying %q", code, body, want)
	}
	eg := clOK(t, e.home, "egress", locked)
	if !strings.Contains(eg, "egress locked") || !strings.Contains(eg, ip) {
		t.Errorf("egress %s:\n%s", locked, eg)
	}
	clOK(t, e.home, "egress", "allow", locked, ip)
	if out, err := tunnel(locked); err != nil || out != "tls-host-ok" {
		t.Errorf("after egress allow, the tunnel: %v %q", err, out)
	}
	// The denials are in the audit log too.
	var denied bool
	for _, l := range readAudit(t, e.home) {
		if l.Session == locked && l.Status == http.StatusForbidden {
			denied = true
		}
	}
	if !denied {
		t.Error("the audit log has no 403 line for the refused tunnel")
	}
	for _, bad := range [][]string{{"egress", "allow", locked, "http://x.example/"}, {"egress", "mode", locked, "wide"}, {"egress", "nosuch"}} {
		if _, errOut, code := cl(t, e.home, bad...); code == 0 || errOut == "" {
			t.Errorf("%v: exit %d, %q", bad, code, errOut)
		}
	}
	if _, errOut, code := cl(t, e.home, "create", "--name", sname("wall-bad"), "--image", e.image, "--no-workdir", "--egress", "wide"); code == 0 || !strings.Contains(errOut, "egress mode") {
		t.Errorf("create --egress wide: exit %d, %q", code, errOut)
	}
}

// connectThroughSocket sends a CONNECT to target with the credential in
// proxyURL straight to the session's socket on the host, as the gateway
// would, and returns the answer's status and body.
func connectThroughSocket(t testing.TB, home, name, proxyURL, target string) (int, string) {
	t.Helper()
	u, err := url.Parse(proxyURL)
	if err != nil {
		t.Fatal(err)
	}
	c, err := dialSessionSocket(home, name)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	req, _ := http.NewRequest(http.MethodConnect, "http://"+target, nil)
	req.Host = target
	pass, _ := u.User.Password()
	req.SetBasicAuth(u.User.Username(), pass)
	req.Header.Set("Proxy-Authorization", req.Header.Get("Authorization"))
	req.Header.Del("Authorization")
	if err := req.Write(c); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		return resp.StatusCode, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// dialSessionSocket connects to a session's proxy socket on the host,
// through the directory's descriptor (a long home exceeds the 108 bytes a
// socket path may have).
func dialSessionSocket(home, name string) (net.Conn, error) {
	dir, err := os.Open(filepath.Join(home, "sandbox", name))
	if err != nil {
		return nil, err
	}
	defer dir.Close()
	return net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", dir.Fd(), gateway.SocketName))
}

// TestDoctorImageIsolated: doctor's check of a named image runs the image's
// `claude` with no network, whatever the image is.
func TestDoctorImageIsolated(t *testing.T) {
	e := newSessionEnv(t)
	// A claude that reports whether it can reach the bridge gateway.
	hostile := derivedImage(t, e.image, `USER root
RUN rm -f /usr/local/bin/claude && printf '%s\n' '#!/bin/bash' \
 'if (exec 3<>/dev/tcp/172.17.0.1/9) 2>/dev/null; then echo "claude 0.0.1 NETWORK-REACHED"; else echo "claude 0.0.1 isolated: $( (exec 3<>/dev/tcp/172.17.0.1/9) 2>&1 | tail -n1)"; fi' > /usr/local/bin/claude && chmod 0755 /usr/local/bin/claude
USER claude`)
	out, _, _ := cl(t, e.home, "doctor", "--image", hostile)
	if strings.Contains(out, "NETWORK-REACHED") || !strings.Contains(out, "Network is unreachable") {
		t.Errorf("doctor --image ran the image's claude with a network:\n%s", out)
	}
}

// TestBridgeModeKeepsGatewaySessions: a daemon restarted with
// container.network "bridge" still serves the sessions made with a
// gateway, and puts new sessions on the bridge network.
func TestBridgeModeKeepsGatewaySessions(t *testing.T) {
	e := newSessionEnv(t)
	gwName := sname("keep-gw")
	clOK(t, e.home, "create", "--name", gwName, "--image", e.image, "--no-workdir")
	e.d.stop()
	p := filepath.Join(e.home, config.FileName)
	var c config.Config
	b, err := os.ReadFile(p)
	if err == nil {
		err = json.Unmarshal(b, &c)
	}
	if err != nil {
		t.Fatal(err)
	}
	c.Container.Network = "bridge"
	b, _ = json.Marshal(c)
	if err := os.WriteFile(p, b, 0o600); err != nil {
		t.Fatal(err)
	}
	e.d = startSessDaemon(t, e.home, 0)
	request := func(name string) (string, error) {
		return inSessionErr(t, name, "curl", "-sS", "--max-time", "20", "-o", "/dev/null", "-w", "%{http_code}", "https://api.anthropic.com/echo/x")
	}
	waitFor(t, "the gateway session to work under a bridge-mode daemon", func() bool {
		out, err := request(gwName)
		return err == nil && out == "200"
	})
	brName := sname("keep-br")
	clOK(t, e.home, "create", "--name", brName, "--image", e.image, "--no-workdir")
	if s, _ := findSession(listSessions(t, e.home), brName); s.Gateway {
		t.Error("a new session of a bridge-mode daemon got a gateway")
	}
	if out, err := request(brName); err != nil || out != "200" {
		t.Errorf("the bridge session's request: %v %q", err, out)
	}
}
