package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// clientOpts says how the measuring client reaches api.anthropic.com: always
// directly (HTTP/1.1 and HTTP/2), and through each proxy it is given. The
// setups take turns request by request, so the noise of a shared machine
// falls on all of them alike.
type clientOpts struct {
	Upstream   string // where api.anthropic.com really is
	UpstreamCA string // its roots
	UpPID      int    // the upstream's process, for its CPU time
	Vias       vias   // the proxies to measure
	N          int    // requests per setup in the latency run
	Only       string // "latency" or "throughput": skip the other measurements (for profiling)
}

// measurement is one setup's row, in the units the table prints.
type measurement struct {
	P50ms, P99ms    float64
	SSEFirstP50ms   float64
	ThroughputMiBps float64
	IdleConnKiB     float64 // -1 when not measured
	// CPU time each party spent per MiB of the throughput runs: the client,
	// the upstream and the proxy (0 for direct).
	ClientCPU, UpstreamCPU, ProxyCPU float64 // ms per MiB
	// CoresBusy is the three parties' CPU time over the wall time of the
	// throughput runs: how much of the machine moving the body took.
	CoresBusy float64
	// ProxyCPUPerReq is the proxy's CPU time per request of the latency run.
	ProxyCPUPerReq float64 // µs
	// The usage run's back-to-back requests (meter.go).
	BackToBackP50ms, BackToBackP99ms float64
}

// The setups every client run measures.
const (
	setupDirect   = "direct"
	setupDirectH2 = "direct-h2"
)

// setup is one way of reaching the upstream.
type setup struct {
	name     string
	c        *http.Client
	proxyPID int // 0: no proxy
	newTr    func() (*http.Transport, error)
	rows     string // the via's ROWS: rowsAll, rowsLatency or rowsUsage
}

// via is a proxy the client measures (flag -via, repeated:
// NAME,URL,CAFILE,PID,ROWS). ROWS is "all" for a full setup, "latency"
// for a reference point measured in the latency run only, or "usage" for
// one measured in the usage run only (meter.go).
type via struct {
	Name, URL, CA string
	PID           int
	Rows          string
}

const (
	rowsAll     = "all"
	rowsLatency = "latency"
	rowsUsage   = "usage"
)

type vias []via

func (v *vias) String() string { return fmt.Sprint(*v) }

func (v *vias) Set(s string) error {
	f := strings.Split(s, ",")
	if len(f) != 5 || (f[4] != rowsAll && f[4] != rowsLatency && f[4] != rowsUsage) {
		return fmt.Errorf("-via %q: want NAME,URL,CAFILE,PID,all|latency|usage", s)
	}
	pid, err := strconv.Atoi(f[3])
	if err != nil {
		return fmt.Errorf("-via %q: pid: %w", s, err)
	}
	*v = append(*v, via{Name: f[0], URL: f[1], CA: f[2], PID: pid, Rows: f[4]})
	return nil
}

const target = "https://api.anthropic.com"

func roots(file string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificates in %s", file)
	}
	return p, nil
}

// transport speaks HTTP/1.1, as Claude Code does, unless h2; through proxy
// when it is not "", else straight to the upstream's address. Each setup
// names its proxy explicitly and none reads the environment, so the
// HTTPS_PROXY that clauderon exec gives the client reaches only the
// clauderon setup (it is passed on as that setup's -via).
func (o clientOpts) transport(h2 bool, proxy, caFile string) (*http.Transport, error) {
	rs, err := roots(caFile)
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: rs},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
	}
	if h2 {
		tr.TLSNextProto, tr.ForceAttemptHTTP2 = nil, true
		tr.HTTP2 = &http.HTTP2Config{MaxReadFrameSize: 1 << 20}
	}
	if proxy != "" {
		u, err := url.Parse(proxy)
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyURL(u)
	} else {
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, o.Upstream)
		}
	}
	return tr, nil
}

func (o clientOpts) setups() ([]*setup, error) {
	vs := append(vias{{Name: setupDirect, CA: o.UpstreamCA, Rows: rowsAll}, {Name: setupDirectH2, CA: o.UpstreamCA, Rows: rowsAll}}, o.Vias...)
	var out []*setup
	for _, v := range vs {
		s := &setup{name: v.Name, proxyPID: v.PID, rows: v.Rows,
			newTr: func() (*http.Transport, error) { return o.transport(v.Name == setupDirectH2, v.URL, v.CA) }}
		tr, err := s.newTr()
		if err != nil {
			return nil, err
		}
		s.c = &http.Client{Transport: tr}
		out = append(out, s)
	}
	return out, nil
}

func post(c *http.Client, stream bool) (*http.Response, error) {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
	req, _ := http.NewRequest(http.MethodPost, target+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+placeholder)
	return c.Do(req)
}

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return float64(s[i]) / float64(time.Millisecond)
}

// turns runs each setup once per round, starting with a different one each
// round, and collects what f measured after the warm-up rounds. warmed, if
// not nil, runs once the warm-up rounds are over.
func turns(ss []*setup, rounds, warmup int, warmed func() error, f func(*setup) (time.Duration, error)) (map[string][]time.Duration, error) {
	rotate := func(i int) []int {
		order := make([]int, len(ss))
		for j := range order {
			order[j] = (i + j) % len(ss)
		}
		return order
	}
	return turnsBy(ss, rounds, warmup, warmed, rotate, f)
}

// shuffledTurns is turns in a new random order every round, so that no
// setup always follows the same one (and pays for what that one leaves
// running after its answer, or gets a quieter machine).
func shuffledTurns(ss []*setup, rounds, warmup int, warmed func() error, f func(*setup) (time.Duration, error)) (map[string][]time.Duration, error) {
	return turnsBy(ss, rounds, warmup, warmed, func(int) []int { return rand.Perm(len(ss)) }, f)
}

// turnsBy runs each setup once per round, in the order order gives for
// the round.
func turnsBy(ss []*setup, rounds, warmup int, warmed func() error, order func(round int) []int, f func(*setup) (time.Duration, error)) (map[string][]time.Duration, error) {
	got := map[string][]time.Duration{}
	for i := 0; i < rounds+warmup; i++ {
		if i == warmup && warmed != nil {
			if err := warmed(); err != nil {
				return nil, err
			}
		}
		for _, j := range order(i) {
			s := ss[j]
			d, err := f(s)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
			if i >= warmup {
				got[s.name] = append(got[s.name], d)
			}
		}
	}
	return got, nil
}

func measure(o clientOpts) (map[string]*measurement, error) {
	ss, err := o.setups()
	if err != nil {
		return nil, err
	}
	ms := map[string]*measurement{}
	for _, s := range ss {
		ms[s.name] = &measurement{IdleConnKiB: -1}
	}
	main := slices.DeleteFunc(slices.Clone(ss), func(s *setup) bool { return s.rows != rowsAll })
	usage := slices.DeleteFunc(slices.Clone(ss), func(s *setup) bool { return s.rows != rowsUsage })
	ss = slices.DeleteFunc(ss, func(s *setup) bool { return s.rows == rowsUsage })
	if o.Only == "throughput" {
		return ms, throughput(main, o, ms)
	}

	// Memory first, before the large transfers leave freed memory that new
	// connections would reuse unseen.
	for _, s := range main {
		if s.proxyPID > 0 && o.Only == "" {
			if ms[s.name].IdleConnKiB, err = idleConnKiB(s); err != nil {
				return nil, fmt.Errorf("%s: %w", s.name, err)
			}
		}
	}

	// Latency: keep-alive, small JSON. Each proxy's CPU time counts from the
	// end of the warm-up, so that neither the connections the memory test
	// closed nor the warm-up itself land in it.
	cpu0 := map[string]time.Duration{}
	startCPU := func() error {
		for _, s := range ss {
			if cpu0[s.name], err = cpuTime(s.proxyPID); err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
		}
		return nil
	}
	lat, err := turns(ss, o.N, 50, startCPU, latencyRequest)
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		cpu, err := cpuTime(s.proxyPID)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", s.name, err)
		}
		m := ms[s.name]
		m.P50ms, m.P99ms = percentile(lat[s.name], 0.5), percentile(lat[s.name], 0.99)
		m.ProxyCPUPerReq = float64(cpu-cpu0[s.name]) / float64(time.Microsecond) / float64(o.N)
	}
	if o.Only == "latency" {
		return ms, nil
	}

	// Time to the first SSE event.
	sse, err := turns(main, 200, 20, nil, firstSSEEvent)
	if err != nil {
		return nil, err
	}
	for name, d := range sse {
		ms[name].SSEFirstP50ms = percentile(d, 0.5)
	}

	if err := throughput(main, o, ms); err != nil {
		return nil, err
	}
	if len(usage) > 0 {
		if err := usageRun(o, usage, ms); err != nil {
			return nil, err
		}
	}
	return ms, nil
}

// latencyRequest times one small JSON Messages request and its answer.
func latencyRequest(s *setup) (time.Duration, error) {
	t0 := time.Now()
	resp, err := post(s.c, false)
	if err != nil {
		return 0, fmt.Errorf("latency request: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		return 0, fmt.Errorf("latency request: status %s", resp.Status)
	}
	return time.Since(t0), nil
}

// firstSSEEvent times a streamed Messages request to its first event; the
// rest of the stream is read too.
func firstSSEEvent(s *setup) (time.Duration, error) {
	t0 := time.Now()
	resp, err := post(s.c, true)
	if err != nil {
		return 0, fmt.Errorf("sse request: %w", err)
	}
	line, err := bufio.NewReader(resp.Body).ReadString('\n')
	d := time.Since(t0)
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil || !strings.HasPrefix(line, "event:") {
		return 0, fmt.Errorf("sse: first line %q: %v", line, err)
	}
	return d, nil
}

// throughput measures a 50 MiB body, best of three per setup, and the CPU
// time each party spends on it.
func throughput(ss []*setup, o clientOpts, ms map[string]*measurement) error {
	const size, runs = 50 << 20, 3
	cpu := map[string]*[3]time.Duration{}
	wall := map[string]time.Duration{}
	for _, s := range ss {
		cpu[s.name] = new([3]time.Duration)
	}
	_, err := turns(ss, runs, 0, nil, func(s *setup) (time.Duration, error) {
		pids := []int{os.Getpid(), o.UpPID, s.proxyPID}
		var cpu0 [3]time.Duration
		for i, pid := range pids {
			var err error
			if cpu0[i], err = cpuTime(pid); err != nil {
				return 0, err
			}
		}
		t0 := time.Now()
		req, _ := http.NewRequest(http.MethodGet, target+"/big?n="+strconv.Itoa(size), nil)
		req.Header.Set("Authorization", "Bearer "+placeholder)
		resp, err := s.c.Do(req)
		if err != nil {
			return 0, fmt.Errorf("throughput: %w", err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != size {
			return 0, fmt.Errorf("throughput: got %d of %d bytes", n, size)
		}
		d := time.Since(t0)
		wall[s.name] += d
		for i, pid := range pids {
			t, err := cpuTime(pid)
			if err != nil {
				return 0, err
			}
			cpu[s.name][i] += t - cpu0[i]
		}
		m := ms[s.name]
		m.ThroughputMiBps = max(m.ThroughputMiBps, float64(size)/(1<<20)/d.Seconds())
		return d, nil
	})
	if err != nil {
		return err
	}
	for name, c := range cpu {
		perMiB := func(d time.Duration) float64 {
			return float64(d) / float64(time.Millisecond) / (runs * size >> 20)
		}
		ms[name].ClientCPU, ms[name].UpstreamCPU, ms[name].ProxyCPU = perMiB(c[0]), perMiB(c[1]), perMiB(c[2])
		ms[name].CoresBusy = float64(c[0]+c[1]+c[2]) / float64(wall[name])
	}
	return nil
}

// cpuTime is the CPU time pid's threads have run so far (0 for pid 0), from
// the scheduler's nanosecond counters in /proc/PID/task/*/schedstat. A
// thread that has exited is no longer counted; Go and Python threads rarely
// exit, and the coarser /proc/PID/stat (clock ticks) would hide sub-ms costs.
func cpuTime(pid int) (time.Duration, error) {
	if pid <= 0 {
		return 0, nil
	}
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var t time.Duration
	read := 0
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue // the thread exited since the glob
		}
		if fs := strings.Fields(string(b)); len(fs) > 0 {
			if ns, err := strconv.ParseInt(fs[0], 10, 64); err == nil {
				t += time.Duration(ns)
				read++
			}
		}
	}
	if read == 0 {
		return 0, fmt.Errorf("no CPU time for pid %d: no readable /proc/%d/task/*/schedstat (process gone, or a kernel without schedstats)", pid, pid)
	}
	return t, nil
}

// idleConnKiB reports how much the proxy's resident memory grows per idle
// intercepted connection: it opens 100 connections (one POST each, then
// idle), then 200 more, and divides the growth between the two by 200 while
// all 300 are still open, so that what the first connections set up once
// (certificates, pools, the upstream connection) stays out of it. Upstream,
// clauderon shares one HTTP/2 connection among its client connections, while
// mitmproxy (run with http2=false) opens one upstream connection per client
// connection: its figure includes that upstream connection.
func idleConnKiB(s *setup) (float64, error) {
	var keep []*http.Transport
	defer func() {
		for _, tr := range keep {
			tr.CloseIdleConnections()
		}
	}()
	open := func(n int) (int, error) {
		for range n {
			tr, err := s.newTr()
			if err != nil {
				return 0, err
			}
			keep = append(keep, tr)
			resp, err := post(&http.Client{Transport: tr}, false)
			if err != nil {
				return 0, fmt.Errorf("idle connection %d: %w", len(keep), err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
		return rssKiB(s.proxyPID)
	}
	at100, err := open(100)
	if err != nil {
		return 0, err
	}
	at300, err := open(200)
	if err != nil {
		return 0, err
	}
	return float64(at300-at100) / 200, nil
}

// rssKiB is pid's resident set (VmRSS, which /proc reports in KiB).
func rssKiB(pid int) (int, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			return strconv.Atoi(f[1])
		}
	}
	return 0, fmt.Errorf("no VmRSS for pid %d", pid)
}

// runClient is the `client` subcommand: measure and print JSON on stdout.
func runClient(o clientOpts) error {
	ms, err := measure(o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(ms)
}
