package e2e

import (
	"strings"
	"testing"

	"github.com/clauderon/clauderon/session"
)

// TestCredentialFollowsContainer: a session's proxy credential is accepted
// only while its container runs. It is suspended on stop and when the
// container is removed outside clauderon, and back when the container runs
// again.
func TestCredentialFollowsContainer(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("cred")
	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--no-workdir")
	pu := proxyURLOf(t, session.ContainerName(name))
	pass, _ := pu.User.Password()
	accepted := func() bool {
		code, err := viaProxy(t, e.home, e.d.port, pu.User.Username(), pass)
		return err == nil && code == 200
	}
	refused := func() bool {
		_, err := viaProxy(t, e.home, e.d.port, pu.User.Username(), pass)
		return err != nil && strings.Contains(err.Error(), "Proxy Authentication Required")
	}
	if !accepted() {
		t.Fatal("a running session's credential is refused")
	}
	// Only through its own socket: the TCP port, which every local user
	// can reach, refuses it.
	if _, _, err := proxyEchoVia(t, e.home, e.d.port, pu.User.Username(), pass, true); err == nil || !strings.Contains(err.Error(), "Proxy Authentication Required") {
		t.Errorf("a gateway session's credential on the TCP port: %v, want 407", err)
	}
	clOK(t, e.home, "stop", name)
	if !refused() {
		t.Error("a stopped session's credential is still accepted")
	}
	if out, err := dockerCLI(t, "start", session.ContainerName(name)); err != nil {
		t.Fatalf("docker start: %v %s", err, out)
	}
	waitFor(t, "the credential to work again once the container runs", accepted)
	if out, err := dockerCLI(t, "rm", "-f", session.ContainerName(name)); err != nil {
		t.Fatalf("docker rm -f: %v %s", err, out)
	}
	waitFor(t, "the credential of a container removed outside clauderon to be refused", refused)
}
