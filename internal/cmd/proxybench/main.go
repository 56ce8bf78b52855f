// Command proxybench measures, side by side in one run, a client talking to a
// local TLS upstream directly, through `clauderon exec`'s proxy, and through
// mitmproxy doing the same header injection; and clauderon's proxy with its
// usage accounting on and off (meter.go). It prints tables of ratios.
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
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
)

func main() {
	if len(os.Args) > 1 {
		sub := map[string]func([]string) error{"client": clientMain, "forwarder": forwarderMain, "meterproxy": meterProxyMain}[os.Args[1]]
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
	fs.StringVar(&o.Upstream, "upstream", "", "the upstream's address")
	fs.StringVar(&o.UpstreamCA, "upstream-ca", "", "the upstream's CA file")
	fs.IntVar(&o.UpPID, "upstream-pid", 0, "the upstream's pid, to measure")
	fs.Var(&o.Vias, "via", "a proxy to measure: NAME,URL,CAFILE,PID,all|latency|usage (repeatable; latency: in the latency run only; usage: in the usage run only)")
	fs.IntVar(&o.N, "n", 2000, "requests per setup")
	fs.StringVar(&o.Only, "only", "", `"latency" or "throughput": measure only that (for profiling)`)
	fromExec := fs.Bool("from-exec", false, "measure clauderon exec's proxy, from its environment; the parent is the proxy")
	_ = fs.Parse(args)
	if *fromExec {
		o.Vias = append(vias{{Name: setupClauderon, URL: os.Getenv("HTTPS_PROXY"),
			CA: os.Getenv("NODE_EXTRA_CA_CERTS"), PID: os.Getppid(), Rows: rowsAll}}, o.Vias...)
	}
	if o.Upstream == "" || o.UpstreamCA == "" {
		return errors.New("-upstream and -upstream-ca are required")
	}
	return runClient(o)
}

// The setups the table compares, besides direct.
const (
	setupClauderon = "clauderon"
	setupMitm      = "mitmproxy"
)

// What the client sends, and what each proxy injects instead: a different
// canary per proxy, so that the upstream's records show which one did.
const (
	placeholder = "sk-ant-oat01-clauderon-proxy-placeholder"
	canary      = "sk-ant-oat01-CANARY-bench-0000000000000000" // clauderon's
	mitmCanary  = "sk-ant-oat01-CANARY-bench-mitm-00000000000" // mitmproxy's
	refCanary   = "sk-ant-oat01-CANARY-bench-ref-000000000000" // the reference forwarders'
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

	// One client run, under clauderon exec, measures direct, clauderon and
	// mitmproxy taking turns; two reference forwarders join the latency run:
	// what the least possible Go MITM proxy adds on this machine, over Go's
	// HTTP/2 client and over HTTP/1.1.
	args := []string{"exec", "--", self, "client", "-n=" + strconv.Itoa(n), "-from-exec",
		"-upstream", fake.Addr, "-upstream-ca", fake.CAFile,
		"-upstream-pid", strconv.Itoa(os.Getpid())} // the fake runs in this process
	m, stop, err := startMitm(tmp, fake)
	if err != nil {
		return fmt.Errorf("mitmproxy: %w", err)
	}
	defer stop()
	args = append(args, "-via", m)
	for _, h := range []struct{ name, flag string }{{"h2", ""}, {"h1", "-h1"}} {
		r, stop, err := startForwarder(self, tmp, fake, h.name, h.flag)
		if err != nil {
			return fmt.Errorf("reference forwarder over %s: %w", h.name, err)
		}
		defer stop()
		args = append(args, "-via", r)
	}
	// The usage rows' proxies, measured in a run of their own (meter.go).
	counts := map[string]func() (int64, int64, int64, error){}
	for _, u := range usageSetups {
		v, stop, err := startMeterProxy(self, tmp, fake.Addr, fake.CAFile, u.name, u.mode)
		if err != nil {
			return fmt.Errorf("%s proxy: %w", u.name, err)
		}
		stopped := false
		counts[u.name] = func() (int64, int64, int64, error) { stopped = true; return stop() }
		defer func() {
			if !stopped {
				_, _, _, _ = stop()
			}
		}()
		args = append(args, "-via", v)
	}

	fmt.Fprintln(os.Stderr, "==> direct, clauderon, mitmproxy and the reference forwarders, taking turns")
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
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "CLAUDERON_HOME="+home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	ms, err := client(cmd)
	if err == nil {
		err = checkInjected(fake)
	}
	if err != nil {
		return err
	}
	// Every Messages answer through a metering proxy was counted, and none
	// through the others.
	metered := map[string]int64{}
	for _, u := range usageSetups {
		answers, tokens, errs, err := counts[u.name]()
		if err != nil {
			return err
		}
		want := usageAnswers(n)
		if u.mode == "off" {
			want = 0
		}
		if answers != want || errs != 0 {
			return fmt.Errorf("%s (usage %s): its meter counted %d answers (want %d), %d ledger writes failed", u.name, u.mode, answers, want, errs)
		}
		if u.mode != "off" && tokens == 0 {
			return fmt.Errorf("%s: its meter counted no tokens", u.name)
		}
		metered[u.name] = answers
	}
	printTable(ms)
	printUsageTable(ms, metered)
	return nil
}

// checkInjected makes sure each proxy measured the real path: every request
// the upstream saw carried either the client's placeholder (direct) or a
// proxy's credential, and each proxy injected its own at least once.
func checkInjected(fake *fakeanthropic.Server) error {
	by := map[string]string{"Bearer " + canary: setupClauderon, "Bearer " + mitmCanary: setupMitm,
		"Bearer " + refCanary: "the reference forwarders", "Bearer " + placeholder: setupDirect,
		"Bearer " + meterCanary: "the usage rows' proxies"}
	seen := map[string]bool{}
	for _, r := range fake.Requests() {
		who, ok := by[r.Authorization]
		if !ok {
			return fmt.Errorf("%s %s reached the upstream with no credential of ours", r.Method, r.Path)
		}
		seen[who] = true
	}
	for _, who := range by {
		if !seen[who] {
			return fmt.Errorf("no request from %s reached the upstream with its credential", who)
		}
	}
	return nil
}

func client(cmd *exec.Cmd) (map[string]*measurement, error) {
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, os.Stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("the client under clauderon exec: %w", err)
	}
	var ms map[string]*measurement
	if err := json.Unmarshal(out.Bytes(), &ms); err != nil {
		return nil, err
	}
	for _, k := range []string{setupDirect, setupDirectH2, setupClauderon, setupMitm, "ref:h2", "ref:h1", usageDirect, usageOff, usageOff2, usageMeter, usageLedger} {
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

// startMitm starts mitmdump with the injecting addon and returns its -via
// value. It runs outside clauderon exec, so nothing in its environment sends
// it through clauderon's proxy.
func startMitm(tmp string, fake *fakeanthropic.Server) (string, func(), error) {
	if _, err := exec.LookPath("mitmdump"); err != nil {
		return "", nil, errors.New("mitmdump not found (apt-get install mitmproxy)")
	}
	addon := filepath.Join(tmp, "inject.py")
	if err := os.WriteFile(addon, []byte(mitmAddon), 0o600); err != nil {
		return "", nil, err
	}
	confdir := filepath.Join(tmp, "mitm")
	port, err := freePort()
	if err != nil {
		return "", nil, err
	}
	// http2=false: mitmproxy speaks HTTP/1.1 upstream, one connection per
	// client connection, as the client speaks to it.
	cmd := exec.Command("mitmdump", "-q", "--listen-host", "127.0.0.1", "--listen-port", strconv.Itoa(port),
		"--set", "confdir="+confdir, "--set", "stream_large_bodies=1", "--set", "http2=false",
		"--set", "ssl_verify_upstream_trusted_ca="+fake.CAFile,
		"--set", "proxyauth=bench:benchsecret", "-s", addon)
	cmd.Env = append(os.Environ(), "BENCH_TOKEN="+mitmCanary, "BENCH_UPSTREAM="+fake.Addr)
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		return "", nil, err
	}
	stop := func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }
	ca := filepath.Join(confdir, "mitmproxy-ca-cert.pem")
	if err := waitFor(func() bool {
		c, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(port))
		if err == nil {
			c.Close()
		}
		_, serr := os.Stat(ca)
		return err == nil && serr == nil
	}); err != nil {
		stop()
		return "", nil, err
	}
	return fmt.Sprintf("%s,http://bench:benchsecret@127.0.0.1:%d,%s,%d,all", setupMitm, port, ca, cmd.Process.Pid), stop, nil
}

// startForwarder starts a reference forwarder and returns its -via value.
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
	return fmt.Sprintf("ref:%s,http://%s,%s,%d,latency", name, addr, ca, cmd.Process.Pid), stop, nil
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

// printTable prints one row per metric, all from the one client run.
func printTable(ms map[string]*measurement) {
	d, d2, cp, mp := ms[setupDirect], ms[setupDirectH2], ms[setupClauderon], ms[setupMitm]
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
	addedC, addedM := cp.P50ms-d.P50ms, mp.P50ms-d.P50ms
	fmt.Fprintf(&b, "| added latency p50 | – | %.3f ms | %.3f ms | %.2fx |\n", addedC, addedM, addedC/addedM)
	fmt.Fprintf(&b, "| proxy CPU per request (latency run) | – | %.0f µs | %.0f µs | %.2fx |\n",
		cp.ProxyCPUPerReq, mp.ProxyCPUPerReq, cp.ProxyCPUPerReq/mp.ProxyCPUPerReq)
	row("first SSE event p50", "ms", d.SSEFirstP50ms, cp.SSEFirstP50ms, mp.SSEFirstP50ms, true)
	sseC, sseM := cp.SSEFirstP50ms-d.SSEFirstP50ms, mp.SSEFirstP50ms-d.SSEFirstP50ms
	fmt.Fprintf(&b, "| added to first SSE event | – | %.3f ms | %.3f ms | %.2fx |\n", sseC, sseM, sseC/sseM)
	row("50 MiB throughput", "MiB/s", d.ThroughputMiBps, cp.ThroughputMiBps, mp.ThroughputMiBps, false)
	tputC, tputM := cp.ThroughputMiBps/d.ThroughputMiBps, mp.ThroughputMiBps/d.ThroughputMiBps
	fmt.Fprintf(&b, "| throughput vs direct | 100%% | %.0f%% | %.0f%% | |\n", 100*tputC, 100*tputM)
	cpu := func(m *measurement) float64 { return m.ClientCPU + m.UpstreamCPU + m.ProxyCPU }
	fmt.Fprintf(&b, "| CPU per MiB moved: client + upstream + proxy | %.2f ms (%.2f + %.2f) | %.2f ms (%.2f + %.2f + %.2f) | %.2f ms (%.2f + %.2f + %.2f) | %.2fx (proxy alone) |\n",
		cpu(d), d.ClientCPU, d.UpstreamCPU, cpu(cp), cp.ClientCPU, cp.UpstreamCPU, cp.ProxyCPU,
		cpu(mp), mp.ClientCPU, mp.UpstreamCPU, mp.ProxyCPU, cp.ProxyCPU/mp.ProxyCPU)
	fmt.Fprintf(&b, "| cores busy during the 50 MiB runs (of %d) | %.1f | %.1f | %.1f | |\n", runtime.NumCPU(), d.CoresBusy, cp.CoresBusy, mp.CoresBusy)
	fmt.Fprintf(&b, "| memory per idle intercepted connection (100 to 300 open) | – | %.1f KiB | %.1f KiB | %.2fx |\n", cp.IdleConnKiB, mp.IdleConnKiB, cp.IdleConnKiB/mp.IdleConnKiB)
	fmt.Fprintf(&b, "\nreference points, same run (a minimal MITM forwarder: one goroutine per connection; no proxy auth, rules, audit, streaming or limits): added latency p50 over Go's HTTP/2 client %.3f ms (its CPU per request %.0f µs, clauderon's %.0f µs), over HTTP/1.1 %.3f ms\n",
		ms["ref:h2"].P50ms-d.P50ms, ms["ref:h2"].ProxyCPUPerReq, cp.ProxyCPUPerReq, ms["ref:h1"].P50ms-d.P50ms)
	fmt.Fprintf(&b, "direct over HTTP/2 (the protocol the proxy speaks to the upstream), in the same run: latency p50 %.3f ms, first SSE event p50 %.3f ms, 50 MiB %.0f MiB/s, CPU per MiB %.2f ms\n",
		d2.P50ms, d2.SSEFirstP50ms, d2.ThroughputMiBps, cpu(d2))
	fmt.Fprintf(&b, "throughput ceiling where direct already keeps the cores busy: direct's CPU per MiB / clauderon's = %.0f%% of direct (a proxy must also decrypt and re-encrypt every byte)\n",
		100*cpu(d)/cpu(cp))
	fmt.Fprintf(&b, "\ngoals: added p50 < 0.3 ms: %v; SSE overhead < 1 ms: %v; throughput >= 90%% of direct: %v; ahead of mitmproxy on every row: %v\n",
		addedC < 0.3, sseC < 1, tputC >= 0.9,
		cp.P50ms < mp.P50ms && cp.P99ms < mp.P99ms && cp.SSEFirstP50ms < mp.SSEFirstP50ms &&
			cp.ThroughputMiBps > mp.ThroughputMiBps && cp.IdleConnKiB < mp.IdleConnKiB &&
			cp.ProxyCPUPerReq < mp.ProxyCPUPerReq && cp.ProxyCPU < mp.ProxyCPU)
	fmt.Print(b.String())
}
