// Command proxybench measures, side by side in one run, a client talking to a
// local TLS upstream directly, through `clauderon exec`'s proxy, and through
// mitmproxy doing the same header injection. It prints a table of ratios.
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "client" {
		if err := clientMain(os.Args[2:]); err != nil {
			fmt.Fprintln(os.Stderr, "proxybench client:", err)
			os.Exit(1)
		}
		return
	}
	bin := flag.String("clauderon", "bin/clauderon", "the clauderon binary")
	n := flag.Int("n", 2000, "requests in the latency run")
	flag.Parse()
	if err := run(*bin, *n); err != nil {
		fmt.Fprintln(os.Stderr, "proxybench:", err)
		os.Exit(1)
	}
}

func clientMain(args []string) error {
	fs := flag.NewFlagSet("client", flag.ExitOnError)
	var o clientOpts
	fs.StringVar(&o.Proxy, "proxy", "", "proxy URL")
	fs.StringVar(&o.CAFile, "ca", "", "CA file")
	fs.StringVar(&o.DialAddr, "dial", "", "direct: upstream address")
	fs.IntVar(&o.ProxyPID, "pid", 0, "proxy pid to measure")
	fs.IntVar(&o.N, "n", 2000, "requests")
	fs.BoolVar(&o.H2, "h2", false, "direct: HTTP/2 instead of HTTP/1.1")
	fromExec := fs.Bool("from-exec", false, "take proxy and CA from clauderon exec's environment; measure the parent")
	_ = fs.Parse(args)
	if *fromExec {
		o.Proxy, o.CAFile, o.ProxyPID = os.Getenv("HTTPS_PROXY"), os.Getenv("NODE_EXTRA_CA_CERTS"), os.Getppid()
	}
	return runClient(o)
}

const canary = "sk-ant-oat01-CANARY-bench-0000000000000000"

func run(bin string, n int) error {
	self, err := os.Executable()
	if err != nil {
		return err
	}
	bin, err = filepath.Abs(bin)
	if err != nil {
		return err
	}
	tmp, err := os.MkdirTemp("", "proxybench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	fake, err := fakeanthropic.Start(tmp)
	if err != nil {
		return err
	}
	defer fake.Close()
	nArg := "-n=" + strconv.Itoa(n)

	rows := map[string]measurement{}
	fmt.Fprintln(os.Stderr, "==> direct")
	if rows["direct"], err = client(exec.Command(self, "client", nArg, "-ca", fake.CAFile, "-dial", fake.Addr)); err != nil {
		return fmt.Errorf("direct: %w", err)
	}

	// The proxy speaks HTTP/2 to the upstream; this row shows what that
	// protocol costs at the (Go) upstream, apart from the proxy.
	fmt.Fprintln(os.Stderr, "==> direct over HTTP/2")
	if rows["direct-h2"], err = client(exec.Command(self, "client", nArg, "-h2", "-ca", fake.CAFile, "-dial", fake.Addr)); err != nil {
		return fmt.Errorf("direct over HTTP/2: %w", err)
	}

	fmt.Fprintln(os.Stderr, "==> clauderon")
	home := filepath.Join(tmp, "home")
	if err := os.Mkdir(home, 0o700); err != nil {
		return err
	}
	cfg, _ := json.Marshal(config.Config{Proxy: config.Proxy{Upstreams: map[string]config.Upstream{
		"api.anthropic.com": {Address: fake.Addr, CAFile: fake.CAFile},
	}}})
	if err := os.WriteFile(filepath.Join(home, config.FileName), cfg, 0o600); err != nil {
		return err
	}
	cmd := exec.Command(bin, "exec", "--", self, "client", nArg, "-from-exec")
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	before := len(fake.Requests())
	if rows["clauderon"], err = client(cmd); err != nil {
		return fmt.Errorf("clauderon: %w", err)
	}
	if err := checkInjected(fake, before); err != nil {
		return fmt.Errorf("clauderon: %w", err)
	}

	fmt.Fprintln(os.Stderr, "==> mitmproxy")
	before = len(fake.Requests())
	m, err := mitm(self, tmp, fake, nArg)
	if err == nil {
		err = checkInjected(fake, before)
	}
	if err != nil {
		return fmt.Errorf("mitmproxy: %w", err)
	}
	rows["mitmproxy"] = m
	printTable(rows)
	return nil
}

// checkInjected makes sure a setup measured the real path: every request the
// upstream saw since before carried the injected credential.
func checkInjected(fake *fakeanthropic.Server, before int) error {
	reqs := fake.Requests()[before:]
	if len(reqs) == 0 {
		return errors.New("the upstream saw no request")
	}
	for _, r := range reqs {
		if r.Authorization != "Bearer "+canary {
			return fmt.Errorf("%s %s reached the upstream without the injected credential", r.Method, r.Path)
		}
	}
	return nil
}

func client(cmd *exec.Cmd) (measurement, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	var m measurement
	if err := cmd.Run(); err != nil {
		return m, err
	}
	return m, json.Unmarshal(out.Bytes(), &m)
}

// mitmAddon injects the credential the way clauderon does, and sends the
// traffic to the fake upstream.
const mitmAddon = `
import os
from mitmproxy import http

TOKEN = os.environ["BENCH_TOKEN"]
HOST, PORT = os.environ["BENCH_UPSTREAM"].rsplit(":", 1)

def requestheaders(flow: http.HTTPFlow) -> None:
    # requestheaders, not request: with streamed bodies the request hook runs
    # after the headers have already gone upstream.
    if flow.request.pretty_host != "api.anthropic.com":
        return
    for h in ("authorization", "x-api-key", "proxy-authorization"):
        flow.request.headers.pop(h, None)
    flow.request.headers["authorization"] = "Bearer " + TOKEN
    beta = flow.request.headers.get("anthropic-beta", "")
    if "oauth-2025-04-20" not in beta:
        flow.request.headers["anthropic-beta"] = (beta + "," if beta else "") + "oauth-2025-04-20"

def server_connect(data) -> None:
    # The same upstream override clauderon's config does: the fake's address,
    # still verified as api.anthropic.com.
    if data.server.address and data.server.address[0] == "api.anthropic.com":
        data.server.address = (HOST, int(PORT))
`

func mitm(self, tmp string, fake *fakeanthropic.Server, nArg string) (measurement, error) {
	var m measurement
	if _, err := exec.LookPath("mitmdump"); err != nil {
		return m, errors.New("mitmdump not found (apt-get install mitmproxy)")
	}
	addon := filepath.Join(tmp, "inject.py")
	if err := os.WriteFile(addon, []byte(mitmAddon), 0o600); err != nil {
		return m, err
	}
	confdir := filepath.Join(tmp, "mitm")
	port, err := freePort()
	if err != nil {
		return m, err
	}
	cmd := exec.Command("mitmdump", "-q", "--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port),
		"--set", "confdir="+confdir, "--set", "stream_large_bodies=1", "--set", "http2=false",
		"--set", "ssl_verify_upstream_trusted_ca="+fake.CAFile,
		"--set", "proxyauth=bench:benchsecret", "-s", addon)
	cmd.Env = append(os.Environ(), "BENCH_TOKEN="+canary, "BENCH_UPSTREAM="+fake.Addr)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return m, err
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	ca := filepath.Join(confdir, "mitmproxy-ca-cert.pem")
	if err := waitFor(func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		_, serr := os.Stat(ca)
		return err == nil && serr == nil
	}); err != nil {
		return m, err
	}
	return client(exec.Command(self, "client", nArg, "-ca", ca,
		"-proxy", "http://bench:benchsecret@127.0.0.1:"+strconv.Itoa(port), "-pid", strconv.Itoa(cmd.Process.Pid)))
}

func waitFor(ok func() bool) error {
	deadline := time.Now().Add(60 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			return errors.New("mitmdump did not start listening within 60 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func printTable(r map[string]measurement) {
	d, d2, c, m := r["direct"], r["direct-h2"], r["clauderon"], r["mitmproxy"]
	var b strings.Builder
	fmt.Fprintf(&b, "\n| metric | direct | clauderon | mitmproxy | clauderon vs mitmproxy |\n|---|---|---|---|---|\n")
	row := func(name, unit string, dv, cv, mv float64, lowerBetter bool) {
		ratio := cv / mv
		if !lowerBetter {
			ratio = mv / cv
		}
		fmt.Fprintf(&b, "| %s | %.3f %s | %.3f %s | %.3f %s | %.2fx the cost |\n", name, dv, unit, cv, unit, mv, unit, ratio)
	}
	row("latency p50", "ms", d.P50ms, c.P50ms, m.P50ms, true)
	row("latency p99", "ms", d.P99ms, c.P99ms, m.P99ms, true)
	fmt.Fprintf(&b, "| added latency p50 | – | %.3f ms | %.3f ms | |\n", c.P50ms-d.P50ms, m.P50ms-d.P50ms)
	row("first SSE event p50", "ms", d.SSEFirstP50ms, c.SSEFirstP50ms, m.SSEFirstP50ms, true)
	fmt.Fprintf(&b, "| added to first SSE event | – | %.3f ms | %.3f ms | |\n", c.SSEFirstP50ms-d.SSEFirstP50ms, m.SSEFirstP50ms-d.SSEFirstP50ms)
	row("50 MB throughput", "MB/s", d.ThroughputMBps, c.ThroughputMBps, m.ThroughputMBps, false)
	fmt.Fprintf(&b, "| throughput vs direct | 100%% | %.0f%% | %.0f%% | |\n", 100*c.ThroughputMBps/d.ThroughputMBps, 100*m.ThroughputMBps/d.ThroughputMBps)
	fmt.Fprintf(&b, "| direct over HTTP/2 (the proxy's upstream protocol) | latency p50 %.3f ms, first SSE event p50 %.3f ms, 50 MB %.0f MB/s | | | |\n", d2.P50ms, d2.SSEFirstP50ms, d2.ThroughputMBps)
	fmt.Fprintf(&b, "| memory per idle intercepted connection | – | %.1f KB | %.1f KB | %.2fx |\n", c.IdleConnKB, m.IdleConnKB, c.IdleConnKB/m.IdleConnKB)
	fmt.Fprintf(&b, "\ngoals: added p50 < 0.3 ms: %v; SSE overhead < 1 ms: %v; throughput >= 90%% of direct: %v\n",
		c.P50ms-d.P50ms < 0.3, c.SSEFirstP50ms-d.SSEFirstP50ms < 1, c.ThroughputMBps >= 0.9*d.ThroughputMBps)
	fmt.Print(b.String())
}
