package e2e

import (
	"encoding/base64"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/flood"
	"github.com/clauderon/clauderon/internal/testenv"
	"github.com/clauderon/clauderon/internal/testimage"
)

// rssBytes is a process's resident memory.
func rssBytes(t testing.TB, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmRSS:"); ok {
			kb, _ := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			return kb << 10
		}
	}
	t.Fatal("no VmRSS")
	return 0
}

// TestProxyFlood: with the daemon limited to 4,096 open files, while 5,000 unauthenticated connections trickle large
// headers at the proxy's TCP listeners, and one session holds 2,000
// connections open through its own socket, another session's print run
// completes, `clauderon list` answers, and the daemon's memory stays under
// 300 MB.
func TestProxyFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("the flood test is long")
	}
	requireDocker(t)
	bin, err := releaseBinary()
	if err != nil {
		t.Fatal(err)
	}
	home, fake := fakeHome(t)
	e := &sessionEnv{home: home, fake: fake, image: testimage.Ensure(t)}
	// 4,096 open files in all: the flood below needs more than twice that
	// unless the proxy keeps each kind of client to its own pool.
	prlimit, err := exec.LookPath("prlimit")
	if err != nil {
		testenv.Unavailable(t, "prlimit (util-linux) is not installed: %v", err)
	}
	e.d = startDaemonBinary(t, []string{prlimit, "--nofile=4096:4096", "--", bin}, home, 0, baseEnv(home, "CLAUDE_CODE_OAUTH_TOKEN="+Canary))
	ip := hostAddr(t)
	// Where the session's tunnels go: a host that accepts and holds.
	hold, err := flood.Hold(net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	flooder := sname("flooder")
	clOK(t, e.home, "create", "--name", flooder, "--image", e.image, "--no-workdir", "--allow", ip)
	proxyURL, err := url.Parse(containerEnv(t, flooder, "HTTPS_PROXY"))
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := proxyURL.User.Password()
	auth := "Basic " + basicAuth(proxyURL.User.Username(), pass)

	f := flood.New()
	defer f.Stop()
	tcp := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.d.port))
	f.Keep(5000, func() (net.Conn, error) { return net.DialTimeout("tcp", tcp, 2*time.Second) }, flood.Trickle)
	f.Keep(2000, func() (net.Conn, error) { return dialSessionSocket(e.home, flooder) }, flood.Tunnel(hold.Addr().String(), auth))
	pid := e.d.cmd.Process.Pid
	var peak atomic.Int64
	sample := func() {
		if r := rssBytes(t, pid); r > peak.Load() {
			peak.Store(r)
		}
	}
	waitFor(t, "the flood to hold thousands of connections", func() bool {
		sample()
		return f.Open() >= 2500
	})
	t.Logf("flood: %d connections open", f.Open())

	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			select {
			case <-done:
				return
			case <-time.After(100 * time.Millisecond):
				sample()
			}
		}
	}()
	victim := sname("victim")
	out := clOK(t, e.home, "create", "--name", victim, "--prompt", "say hello", "--print", "--wait", "--image", e.image, "--no-workdir")
	if !strings.Contains(out, fakeanthropic.DefaultReply) {
		t.Errorf("the victim's print run under the flood printed %q", out)
	}
	if l := listSessions(t, e.home); len(l.Sessions) < 2 {
		t.Errorf("list under the flood: %+v", l)
	}
	sample()
	done <- struct{}{}
	t.Logf("flood: %d connections open at the end; daemon RSS peak %d MB", f.Open(), peak.Load()>>20)
	if peak.Load() > 300<<20 {
		t.Errorf("the daemon's RSS peaked at %d MB under the flood, want under 300 MB", peak.Load()>>20)
	}
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
