package e2e

import (
	"bufio"
	"context"
	"encoding/base64"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/fakeanthropic"
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

// flood is a set of hostile connections kept open until stop.
type flood struct {
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	open   atomic.Int64 // connections currently connected
}

func newFlood() *flood {
	f := &flood{}
	f.ctx, f.cancel = context.WithCancel(context.Background())
	return f
}

func (f *flood) stop() { f.cancel(); f.wg.Wait() }

// keep runs n connections made by dial, each driven by use until it fails,
// and redials, until the flood stops.
func (f *flood) keep(n int, dial func() (net.Conn, error), use func(net.Conn)) {
	for range n {
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			for f.ctx.Err() == nil {
				c, err := dial()
				if err != nil {
					select {
					case <-f.ctx.Done():
					case <-time.After(200 * time.Millisecond):
					}
					continue
				}
				f.open.Add(1)
				stop := context.AfterFunc(f.ctx, func() { c.Close() })
				use(c)
				stop()
				c.Close()
				f.open.Add(-1)
			}
		}()
	}
}

// trickle sends a CONNECT's headers a kilobyte at a time, never ending
// them, as an unauthenticated client that wants to hold the proxy.
func trickle(c net.Conn) {
	pad := strings.Repeat("a", 1024)
	if _, err := fmt.Fprintf(c, "CONNECT x.example:443 HTTP/1.1\r\nHost: x.example:443\r\n"); err != nil {
		return
	}
	for {
		if _, err := fmt.Fprintf(c, "X-Pad: %s\r\n", pad); err != nil {
			return
		}
		time.Sleep(250 * time.Millisecond)
	}
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
	hold, err := net.Listen("tcp", net.JoinHostPort(ip, "0"))
	if err != nil {
		t.Fatal(err)
	}
	defer hold.Close()
	go func() {
		for {
			c, err := hold.Accept()
			if err != nil {
				return
			}
			go func() { defer c.Close(); c.Read(make([]byte, 1)) }()
		}
	}()
	flooder := sname("flooder")
	clOK(t, e.home, "create", "--name", flooder, "--image", e.image, "--no-workdir", "--allow", ip)
	proxyURL, err := url.Parse(containerEnv(t, flooder, "HTTPS_PROXY"))
	if err != nil {
		t.Fatal(err)
	}
	pass, _ := proxyURL.User.Password()
	auth := "Basic " + basicAuth(proxyURL.User.Username(), pass)

	f := newFlood()
	defer f.stop()
	tcp := net.JoinHostPort("127.0.0.1", strconv.Itoa(e.d.port))
	f.keep(5000, func() (net.Conn, error) { return net.DialTimeout("tcp", tcp, 2*time.Second) }, trickle)
	target := hold.Addr().String()
	f.keep(2000, func() (net.Conn, error) { return dialSessionSocket(e.home, flooder) }, func(c net.Conn) {
		fmt.Fprintf(c, "CONNECT %s HTTP/1.1\r\nHost: %s\r\nProxy-Authorization: %s\r\n\r\n", target, target, auth)
		resp, err := http.ReadResponse(bufio.NewReader(c), &http.Request{Method: http.MethodConnect})
		if err != nil {
			return
		}
		if resp.StatusCode != http.StatusOK {
			resp.Body.Close()
			return
		}
		<-f.ctx.Done() // hold the tunnel
	})
	pid := e.d.cmd.Process.Pid
	var peak atomic.Int64
	sample := func() {
		if r := rssBytes(t, pid); r > peak.Load() {
			peak.Store(r)
		}
	}
	waitFor(t, "the flood to hold thousands of connections", func() bool {
		sample()
		return f.open.Load() >= 2500
	})
	t.Logf("flood: %d connections open", f.open.Load())

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
	t.Logf("flood: %d connections open at the end; daemon RSS peak %d MB", f.open.Load(), peak.Load()>>20)
	if peak.Load() > 300<<20 {
		t.Errorf("the daemon's RSS peaked at %d MB under the flood, want under 300 MB", peak.Load()>>20)
	}
}

func basicAuth(user, pass string) string {
	return base64.StdEncoding.EncodeToString([]byte(user + ":" + pass))
}
