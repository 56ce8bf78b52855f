package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/syncbuf"
	"github.com/clauderon/clauderon/internal/testenv"
)

// squatterEnv makes the test binary a squatter: another local user who
// tries to listen where containers send proxy traffic.
const squatterEnv = "CLAUDERON_E2E_SQUATTER"

// squatEvent is one line a squatter prints.
type squatEvent struct {
	Addr     string `json:"addr"`
	Listened bool   `json:"listened,omitempty"`
	Err      string `json:"err,omitempty"`
	Got      string `json:"got,omitempty"` // the first bytes a connection sent
}

// squatterMain listens on each unix: or tcp: address it is given, reports
// whether it could, and reports what every connection sends, until killed.
func squatterMain(addrs []string) int {
	out := json.NewEncoder(os.Stdout)
	var mu sync.Mutex
	say := func(e squatEvent) { mu.Lock(); out.Encode(e); mu.Unlock() }
	for _, a := range addrs {
		network, addr, _ := strings.Cut(a, ":")
		l, err := net.Listen(network, addr)
		if err != nil {
			say(squatEvent{Addr: a, Err: err.Error()})
			continue
		}
		say(squatEvent{Addr: a, Listened: true})
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				go func() {
					defer c.Close()
					c.SetReadDeadline(time.Now().Add(5 * time.Second))
					b := make([]byte, 4096)
					n, _ := io.ReadAtLeast(c, b, 1)
					say(squatEvent{Addr: a, Got: string(b[:n])})
				}()
			}
		}()
	}
	say(squatEvent{Addr: "ready"})
	select {}
}

// startSquatter runs the squatter as uid/gid 65534 (nobody).
func startSquatter(t *testing.T, addrs ...string) (events func() []squatEvent) {
	t.Helper()
	if os.Geteuid() != 0 {
		testenv.Unavailable(t, "the squat test runs a process as another uid, which needs root")
	}
	// The test binary's own directory is private; nobody runs a copy.
	dir, err := os.MkdirTemp("", "clauderon-squatter")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	self, _ := os.Executable()
	bin := filepath.Join(dir, "squatter")
	b, err := os.ReadFile(self)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, addrs...)
	cmd.Env = []string{squatterEnv + "=1", "GORACE=atexit_sleep_ms=0"}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	pr, pw := io.Pipe()
	cmd.Stdout = pw
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait(); pw.Close() })
	var buf syncbuf.Buffer
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(pr)
		var once sync.Once
		for sc.Scan() {
			buf.Write(append(sc.Bytes(), '\n'))
			if strings.Contains(sc.Text(), `"addr":"ready"`) {
				once.Do(func() { close(ready) })
			}
		}
	}()
	select {
	case <-ready:
	case <-time.After(30 * time.Second):
		t.Fatalf("the squatter never got ready: %s", buf.String())
	}
	return func() []squatEvent {
		var evs []squatEvent
		for _, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var e squatEvent
			if json.Unmarshal([]byte(l), &e) == nil {
				evs = append(evs, e)
			}
		}
		return evs
	}
}

// TestProxySquat: while the daemon is down, another local user cannot
// listen on a session's socket, and what it can listen on (the host's
// loopback at the gateway's port, the bridge gateway at the daemon's old
// port) receives nothing from the session: the container's requests get
// the gateway's own 503 and carry no credential anywhere. Once the daemon
// is back, the session works again.
func TestProxySquat(t *testing.T) {
	e := newSessionEnv(t)
	name := sname("squat")
	clOK(t, e.home, "create", "--name", name, "--image", e.image, "--no-workdir")
	request := func() (string, error) {
		return inSessionErr(t, name, "curl", "-sS", "--max-time", "20", "-X", "POST",
			"-H", "content-type: application/json", "-d", `{"model":"claude-x","max_tokens":5,"messages":[{"role":"user","content":"hi"}]}`,
			"https://api.anthropic.com/v1/messages")
	}
	// create returns once the container runs; its gateway listens a moment
	// later (before it starts Claude Code, which never races it), so a
	// docker exec right after may find nothing yet on its port.
	var out string
	var err error
	waitFor(t, "the session's gateway to listen", func() bool {
		out, err = request()
		return err == nil || !strings.Contains(out, "Failed to connect to 127.0.0.1 port 3128")
	})
	if err != nil {
		t.Fatalf("before the daemon stops: %v %s", err, out)
	}
	e.d.stop()

	sock := filepath.Join(e.home, "sandbox", name, gateway.SocketName)
	_, port, _ := strings.Cut(gateway.ListenAddr, ":")
	events := startSquatter(t,
		"unix:"+sock,
		"tcp:127.0.0.1:"+port,
		"tcp:"+net.JoinHostPort(bridgeGateway(t), strconv.Itoa(e.d.port)),
		"tcp:0.0.0.0:"+strconv.Itoa(e.d.port),
	)
	out, err = request()
	if err == nil || !strings.Contains(out, "503") && !strings.Contains(out, "CONNECT tunnel failed") {
		t.Errorf("with the daemon down, a request from the session: %v %q; want the gateway's refusal", err, out)
	}
	triedSocket := false
	for _, ev := range events() {
		switch {
		case ev.Addr == "unix:"+sock && ev.Listened:
			t.Errorf("another user could listen on the session's socket %s", sock)
		case ev.Addr == "unix:"+sock:
			triedSocket = true
			t.Logf("the squatter on the session's socket: %s", ev.Err)
		case ev.Got != "":
			t.Errorf("the squatter at %s received %q", ev.Addr, ev.Got)
		}
	}
	if !triedSocket {
		t.Error("the squatter never tried the session's socket")
	}
	// Another port: the squatter holds the old one. The session's
	// container never named a port.
	e.d = startSessDaemon(t, e.home, 0)
	waitFor(t, "the session to work again after the daemon restarts", func() bool {
		_, err := request()
		return err == nil
	})
	for _, ev := range events() {
		if ev.Got != "" {
			t.Errorf("the squatter at %s received %q", ev.Addr, ev.Got)
		}
	}
}
