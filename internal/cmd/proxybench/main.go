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
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

func main() {
	if len(os.Args) > 1 {
		sub := map[string]func([]string) error{"client": clientMain, "forwarder": forwarderMain}[os.Args[1]]
		if sub != nil {
			if err := sub(os.Args[2:]); err != nil {
				fmt.Fprintf(os.Stderr, "proxybench %s: %v\n", os.Args[1], err)
				os.Exit(1)
			}
			return
		}
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
	fs.StringVar(&o.Proxy, "proxy", "", "proxy URL with credentials (none: direct only)")
	fs.StringVar(&o.ProxyCA, "ca", "", "the proxy's CA file")
	fs.StringVar(&o.Upstream, "upstream", "", "the upstream's address")
	fs.StringVar(&o.UpstreamCA, "upstream-ca", "", "the upstream's CA file")
	fs.IntVar(&o.ProxyPID, "pid", 0, "the proxy's pid, to measure")
	fs.IntVar(&o.UpPID, "upstream-pid", 0, "the upstream's pid, to measure")
	fs.Var(&o.Refs, "ref", "a reference forwarder to measure in the latency run: NAME,URL,CAFILE,PID (repeatable)")
	fs.IntVar(&o.N, "n", 2000, "requests per setup")
	fs.StringVar(&o.Only, "only", "", `"latency" or "throughput": measure only that (for profiling)`)
	fromExec := fs.Bool("from-exec", false, "take proxy and CA from clauderon exec's environment; measure the parent")
	_ = fs.Parse(args)
	if *fromExec {
		o.Proxy, o.ProxyCA, o.ProxyPID = os.Getenv("HTTPS_PROXY"), os.Getenv("NODE_EXTRA_CA_CERTS"), os.Getppid()
	}
	if o.Upstream == "" || o.UpstreamCA == "" {
		return errors.New("-upstream and -upstream-ca are required")
	}
	return runClient(o)
}

const (
	canary      = "sk-ant-oat01-CANARY-bench-0000000000000000"
	placeholder = "sk-ant-oat01-clauderon-proxy-placeholder" // what the client sends
)

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

	// Each client run measures direct and one proxy side by side.
	base := []string{"client", nArg, "-upstream", fake.Addr, "-upstream-ca", fake.CAFile,
		"-upstream-pid", strconv.Itoa(os.Getpid())} // the fake runs in this process

	// Two reference forwarders take turns with direct and clauderon in the
	// latency run: what the least possible Go MITM proxy adds on this
	// machine, over Go's HTTP/2 client and over HTTP/1.1.
	var refArgs []string
	for _, h := range []struct{ name, flag string }{{"h2", ""}, {"h1", "-h1"}} {
		r, stop, err := startForwarder(self, tmp, fake, h.name, h.flag)
		if err != nil {
			return fmt.Errorf("reference forwarder over %s: %w", h.name, err)
		}
		defer stop()
		refArgs = append(refArgs, "-ref", r)
	}

	fmt.Fprintln(os.Stderr, "==> direct, clauderon and the reference forwarders, taking turns")
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
	cmd := exec.Command(bin, append([]string{"exec", "--", self}, append(slices.Concat(base, refArgs), "-from-exec")...)...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	before := len(fake.Requests())
	c, err := client(cmd)
	if err == nil {
		err = checkInjected(fake, before, 1)
	}
	if err != nil {
		return fmt.Errorf("clauderon: %w", err)
	}

	fmt.Fprintln(os.Stderr, "==> direct and mitmproxy, taking turns")
	before = len(fake.Requests())
	m, err := mitm(self, tmp, fake, base)
	if err == nil {
		err = checkInjected(fake, before, 1)
	}
	if err != nil {
		return fmt.Errorf("mitmproxy: %w", err)
	}
	printTable(c, m)
	return nil
}

// checkInjected makes sure a proxy measured the real path: every request
// the upstream saw since before carried either the client's placeholder
// (direct) or the injected credential, and at least min carried the latter.
func checkInjected(fake *fakeanthropic.Server, before, min int) error {
	injected := 0
	for _, r := range fake.Requests()[before:] {
		switch r.Authorization {
		case "Bearer " + canary:
			injected++
		case "Bearer " + placeholder:
		default:
			return fmt.Errorf("%s %s reached the upstream with neither credential", r.Method, r.Path)
		}
	}
	if injected < min {
		return errors.New("no request through the proxy reached the upstream with the injected credential")
	}
	return nil
}

func client(cmd *exec.Cmd) (map[string]*measurement, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, err
	}
	var ms map[string]*measurement
	if err := json.Unmarshal(out.Bytes(), &ms); err != nil {
		return nil, err
	}
	for _, k := range []string{setupDirect, setupDirectH2, setupProxy} {
		if ms[k] == nil {
			return nil, fmt.Errorf("the client measured no %q setup", k)
		}
	}
	return ms, nil
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

func mitm(self, tmp string, fake *fakeanthropic.Server, base []string) (map[string]*measurement, error) {
	var m map[string]*measurement
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
	return client(exec.Command(self, append(base, "-ca", ca,
		"-proxy", "http://bench:benchsecret@127.0.0.1:"+strconv.Itoa(port), "-pid", strconv.Itoa(cmd.Process.Pid))...))
}

// startForwarder starts a reference forwarder and returns its -ref value.
func startForwarder(self, tmp string, fake *fakeanthropic.Server, name, flag string) (string, func(), error) {
	args := []string{"forwarder", "-upstream", fake.Addr, "-upstream-ca", fake.CAFile, "-dir", tmp}
	if flag != "" {
		args = append(args, flag)
	}
	cmd := exec.Command(self, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	var addr, ca string
	if _, err := fmt.Fscan(out, &addr, &ca); err != nil {
		stop()
		return "", nil, fmt.Errorf("no address from the forwarder: %w", err)
	}
	return fmt.Sprintf("%s,http://%s,%s,%d", name, addr, ca, cmd.Process.Pid), stop, nil
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

// printTable prints one row per metric. c and m are the clauderon and
// mitmproxy runs; each proxy is compared with the direct setup it took turns
// with, and the direct column shows clauderon's run.
func printTable(c, m map[string]*measurement) {
	d, d2, cp, mp := c[setupDirect], c[setupDirectH2], c[setupProxy], m[setupProxy]
	md := m[setupDirect]
	var b strings.Builder
	fmt.Fprintf(&b, "\n| metric | direct | clauderon | mitmproxy | clauderon vs mitmproxy |\n|---|---|---|---|---|\n")
	row := func(name, unit string, dv, cv, mv float64, lowerBetter bool) {
		ratio := cv / mv
		if !lowerBetter {
			ratio = mv / cv
		}
		fmt.Fprintf(&b, "| %s | %.3f %s | %.3f %s | %.3f %s | %.2fx the cost |\n", name, dv, unit, cv, unit, mv, unit, ratio)
	}
	row("latency p50", "ms", d.P50ms, cp.P50ms, mp.P50ms, true)
	row("latency p99", "ms", d.P99ms, cp.P99ms, mp.P99ms, true)
	addedC, addedM := cp.P50ms-d.P50ms, mp.P50ms-md.P50ms
	fmt.Fprintf(&b, "| added latency p50 | – | %.3f ms | %.3f ms | %.2fx |\n", addedC, addedM, addedC/addedM)
	row("first SSE event p50", "ms", d.SSEFirstP50ms, cp.SSEFirstP50ms, mp.SSEFirstP50ms, true)
	sseC, sseM := cp.SSEFirstP50ms-d.SSEFirstP50ms, mp.SSEFirstP50ms-md.SSEFirstP50ms
	fmt.Fprintf(&b, "| added to first SSE event | – | %.3f ms | %.3f ms | %.2fx |\n", sseC, sseM, sseC/sseM)
	row("50 MB throughput", "MB/s", d.ThroughputMBps, cp.ThroughputMBps, mp.ThroughputMBps, false)
	tputC, tputM := cp.ThroughputMBps/d.ThroughputMBps, mp.ThroughputMBps/md.ThroughputMBps
	fmt.Fprintf(&b, "| throughput vs direct | 100%% | %.0f%% | %.0f%% | |\n", 100*tputC, 100*tputM)
	cpu := func(m *measurement) float64 { return m.ClientCPU + m.UpstreamCPU + m.ProxyCPU }
	fmt.Fprintf(&b, "| CPU per MB moved: client + upstream + proxy | %.2f ms (%.2f + %.2f) | %.2f ms (%.2f + %.2f + %.2f) | %.2f ms (%.2f + %.2f + %.2f) | %.2fx (proxy alone) |\n",
		cpu(d), d.ClientCPU, d.UpstreamCPU, cpu(cp), cp.ClientCPU, cp.UpstreamCPU, cp.ProxyCPU,
		cpu(mp), mp.ClientCPU, mp.UpstreamCPU, mp.ProxyCPU, cp.ProxyCPU/mp.ProxyCPU)
	fmt.Fprintf(&b, "| cores busy during the 50 MB runs (of %d) | %.1f | %.1f | %.1f | |\n", runtime.NumCPU(), d.CoresBusy, cp.CoresBusy, mp.CoresBusy)
	fmt.Fprintf(&b, "| memory per idle intercepted connection | – | %.1f KB | %.1f KB | %.2fx |\n", cp.IdleConnKB, mp.IdleConnKB, cp.IdleConnKB/mp.IdleConnKB)
	fmt.Fprintf(&b, "\nreference points, same run (a minimal MITM forwarder: one goroutine per connection; no proxy auth, rules, audit, streaming or limits): added latency p50 over Go's HTTP/2 client %.3f ms (its CPU per request %.0f µs, clauderon's %.0f µs), over HTTP/1.1 %.3f ms\n",
		c["ref:h2"].P50ms-d.P50ms, c["ref:h2"].ProxyCPUPerReq, cp.ProxyCPUPerReq, c["ref:h1"].P50ms-d.P50ms)
	fmt.Fprintf(&b, "direct over HTTP/2 (the protocol the proxy speaks to the upstream), in the same run: latency p50 %.3f ms, first SSE event p50 %.3f ms, 50 MB %.0f MB/s, CPU per MB %.2f ms\n",
		d2.P50ms, d2.SSEFirstP50ms, d2.ThroughputMBps, cpu(d2))
	fmt.Fprintf(&b, "throughput ceiling where direct already keeps the cores busy: direct's CPU per MB / clauderon's = %.0f%% of direct (a proxy must also decrypt and re-encrypt every byte)\n",
		100*cpu(d)/cpu(cp))
	fmt.Fprintf(&b, "\ngoals: added p50 < 0.3 ms: %v; SSE overhead < 1 ms: %v; throughput >= 90%% of direct: %v; ahead of mitmproxy on every row: %v\n",
		addedC < 0.3, sseC < 1, tputC >= 0.9,
		cp.P50ms < mp.P50ms && cp.P99ms < mp.P99ms && cp.SSEFirstP50ms < mp.SSEFirstP50ms &&
			cp.ThroughputMBps > mp.ThroughputMBps && cp.IdleConnKB < mp.IdleConnKB)
	fmt.Print(b.String())
}
