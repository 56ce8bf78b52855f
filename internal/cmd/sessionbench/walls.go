package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/internal/flood"
	"github.com/clauderon/clauderon/session"
)

// wallRows measures what the sandbox's walls cost: `create` of a session
// whose only way out is its gateway against one on the bridge network (as
// before the gateway, and on Docker Desktop) and a plain `docker run -d`;
// then a victim session's request latency, quiet and while the proxy is
// flooded by 5,000 trickling unauthenticated connections and 2,000 tunnels
// from another session.
func (b *bench) wallRows(ctx context.Context) error {
	bridgeHome := filepath.Join(b.tmp, "home-bridge")
	_, _, err := b.startDaemonAt(bridgeHome, func(c *config.Config) { c.Container.Network = "bridge" })
	if err != nil {
		return err
	}
	run := func(home string, args ...string) (time.Duration, error) {
		cmd := exec.Command(b.bin, args...)
		cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home)
		t0 := time.Now()
		out, err := cmd.CombinedOutput()
		if err != nil {
			return 0, fmt.Errorf("clauderon %s: %v\n%s", strings.Join(args, " "), err, out)
		}
		return time.Since(t0), nil
	}
	var gw, br, plain []time.Duration
	for i := range b.rounds {
		logf("walls: create round %d/%d", i+1, b.rounds)
		steps := []func() error{
			func() error {
				n := fmt.Sprintf("bench-gw%d", i)
				d, err := run(b.home, "create", "--name", n, "--prompt", "hello", "--image", b.image, "--no-workdir")
				gw = append(gw, d)
				return errors.Join(err, b.quiet(b.bin, "rm", "--force", n))
			},
			func() error {
				n := fmt.Sprintf("bench-br%d", i)
				d, err := run(bridgeHome, "create", "--name", n, "--prompt", "hello", "--image", b.image, "--no-workdir")
				br = append(br, d)
				_, rmErr := run(bridgeHome, "rm", "--force", n)
				return errors.Join(err, rmErr)
			},
			func() error {
				n := fmt.Sprintf("bench-wplain%d", i)
				d, err := b.timeCmd("docker", b.dockerRun(n, b.tmp, false)...)
				plain = append(plain, d)
				return errors.Join(err, b.quiet("docker", "rm", "-f", n))
			},
		}
		// Rotate the order between rounds.
		for j := range steps {
			if err := steps[(i+j)%len(steps)](); err != nil {
				return err
			}
		}
	}

	quiet, flooded, open, err := b.floodLatency(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("\n| sandbox walls (median of %d) | clauderon | baseline | ratio | goal |\n|---|---|---|---|---|\n", b.rounds)
	fmt.Printf("| create → running, gateway vs `docker run -d` | %.0f ms | %.0f ms | %.2fx | ≤ 1.2x |\n", median(gw), median(plain), median(gw)/median(plain))
	fmt.Printf("| create → running, gateway vs bridge network (before) | %.0f ms | %.0f ms | %.2fx | |\n", median(gw), median(br), median(gw)/median(br))
	fmt.Printf("\n| victim request through the proxy (%d curl runs in its container, new TLS tunnel each) | quiet | under flood (%d connections) | ratio | goal |\n|---|---|---|---|---|\n", len(quiet), open)
	fmt.Printf("| p50 | %.1f ms | %.1f ms | %.2fx | |\n", pct(quiet, 50), pct(flooded, 50), pct(flooded, 50)/pct(quiet, 50))
	fmt.Printf("| p99 | %.1f ms | %.1f ms | %.2fx | ≤ 3x |\n", pct(quiet, 99), pct(flooded, 99), pct(flooded, 99)/pct(quiet, 99))
	return nil
}

// floodLatency times a victim session's requests quiet, then under the
// flood, and returns both (ms) and how many flood connections were open.
func (b *bench) floodLatency(ctx context.Context) (quiet, flooded []float64, open int64, err error) {
	victim, flooder := "bench-victim", "bench-flooder"
	hold, err := flood.Hold("0.0.0.0:0")
	if err != nil {
		return nil, nil, 0, err
	}
	defer hold.Close()
	hostIP, err := nonLoopbackIPv4()
	if err != nil {
		return nil, nil, 0, err
	}
	target := net.JoinHostPort(hostIP, strconv.Itoa(hold.Addr().(*net.TCPAddr).Port))
	for _, args := range [][]string{
		{"create", "--name", victim, "--prompt", "hello", "--image", b.image, "--no-workdir"},
		{"create", "--name", flooder, "--prompt", "hello", "--image", b.image, "--no-workdir", "--allow", hostIP},
	} {
		if _, err := b.timeCmd(b.bin, args...); err != nil {
			return nil, nil, 0, err
		}
	}
	defer b.quiet(b.bin, "rm", "--force", victim, flooder)
	const n = 300
	if quiet, err = curlTimes(session.ContainerName(victim), n); err != nil {
		return nil, nil, 0, err
	}
	auth, err := proxyAuth(session.ContainerName(flooder))
	if err != nil {
		return nil, nil, 0, err
	}
	st, err := b.cl.Status(ctx)
	if err != nil {
		return nil, nil, 0, err
	}
	f := flood.New()
	defer f.Stop()
	tcp := net.JoinHostPort("127.0.0.1", strconv.Itoa(st.ProxyPort))
	f.Keep(5000, func() (net.Conn, error) { return net.DialTimeout("tcp", tcp, 2*time.Second) }, flood.Trickle)
	sockDir := filepath.Join(b.home, "sandbox", flooder)
	f.Keep(2000, func() (net.Conn, error) { return dialIn(sockDir) }, flood.Tunnel(target, auth))
	for deadline := time.Now().Add(time.Minute); f.Open() < 5000 && time.Now().Before(deadline); {
		time.Sleep(100 * time.Millisecond)
	}
	logf("walls: %d flood connections open; timing the victim", f.Open())
	open = f.Open()
	flooded, err = curlTimes(session.ContainerName(victim), n)
	return quiet, flooded, open, err
}

// curlTimes runs n requests to the fake Anthropic API from inside the
// container, each a new tunnel through the gateway and the proxy, and
// returns each one's total time in ms.
func curlTimes(container string, n int) ([]float64, error) {
	script := fmt.Sprintf(`for i in $(seq 1 %d); do curl -s -o /dev/null -w '%%{time_total}\n' https://api.anthropic.com/echo/x || echo fail; done`, n)
	out, err := exec.Command("docker", "exec", container, "sh", "-c", script).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("curl in %s: %v\n%s", container, err, out)
	}
	var ms []float64
	for _, l := range strings.Fields(string(out)) {
		v, err := strconv.ParseFloat(l, 64)
		if err != nil {
			return nil, fmt.Errorf("curl in %s: a request failed: %q", container, l)
		}
		ms = append(ms, v*1000)
	}
	return ms, nil
}

// proxyAuth is the Proxy-Authorization a session's container sends.
func proxyAuth(container string) (string, error) {
	out, err := exec.Command("docker", "inspect", "--format", "{{json .Config.Env}}", container).Output()
	if err != nil {
		return "", err
	}
	var env []string
	if err := json.Unmarshal(out, &env); err != nil {
		return "", err
	}
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "HTTPS_PROXY="); ok {
			u, err := url.Parse(v)
			if err != nil {
				return "", err
			}
			pass, _ := u.User.Password()
			return "Basic " + base64.StdEncoding.EncodeToString([]byte(u.User.Username()+":"+pass)), nil
		}
	}
	return "", errors.New(container + " has no HTTPS_PROXY")
}

// dialIn connects to the proxy socket in dir through the directory's
// descriptor (a long path exceeds what a socket address holds).
func dialIn(dir string) (net.Conn, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", f.Fd(), gateway.SocketName))
}

func nonLoopbackIPv4() (string, error) {
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return "", err
	}
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil && !n.IP.IsLoopback() && !n.IP.IsLinkLocalUnicast() {
			return n.IP.String(), nil
		}
	}
	return "", errors.New("no non-loopback IPv4 address")
}

// pct is the p-th percentile of ms.
func pct(ms []float64, p int) float64 {
	s := slices.Clone(ms)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[min(max(i-1, 0), len(s)-1)]
}
