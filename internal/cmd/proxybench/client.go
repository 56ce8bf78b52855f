package main

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
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
// directly (HTTP/1.1 and HTTP/2), and through a proxy when one is given. The
// setups take turns request by request, so the noise of a shared machine
// falls on all of them alike.
type clientOpts struct {
	Proxy      string // proxy URL with credentials, "" for direct only
	ProxyCA    string // roots the client trusts for api.anthropic.com through the proxy
	Upstream   string // where api.anthropic.com really is
	UpstreamCA string // its roots
	ProxyPID   int    // the proxy's process, for its memory and CPU time
	UpPID      int    // the upstream's process, for its CPU time
	Refs       refs   // reference forwarders measured in the latency run
	N          int    // requests per setup in the latency run
	Only       string // "latency" or "throughput": skip the other measurements (for profiling)
}

// measurement is one setup's row, in the units the table prints.
type measurement struct {
	P50ms, P99ms   float64
	SSEFirstP50ms  float64
	ThroughputMBps float64
	IdleConnKB     float64 // -1 when not measured
	// CPU time each party spent per MB of the throughput runs: the client,
	// the upstream and the proxy (0 for direct).
	ClientCPU, UpstreamCPU, ProxyCPU float64 // ms per MB
	// CoresBusy is the three parties' CPU time over the wall time of the
	// throughput runs: how much of the machine moving the body took.
	CoresBusy float64
	// ProxyCPUPerReq is the proxy's CPU time per request of the latency run.
	ProxyCPUPerReq float64 // µs
}

// The setups a client run measures.
const (
	setupDirect   = "direct"
	setupDirectH2 = "direct-h2"
	setupProxy    = "proxy"
)

// setup is one way of reaching the upstream.
type setup struct {
	name        string
	c           *http.Client
	proxyPID    int // 0: no proxy
	newTr       func() (*http.Transport, error)
	latencyOnly bool // a reference point, measured in the latency run only
}

// ref is a reference forwarder the client measures (flag -ref, repeated:
// NAME,URL,CAFILE,PID).
type ref struct {
	Name, URL, CA string
	PID           int
}

type refs []ref

func (r *refs) String() string { return fmt.Sprint(*r) }

func (r *refs) Set(v string) error {
	f := strings.Split(v, ",")
	if len(f) != 4 {
		return fmt.Errorf("-ref %q: want NAME,URL,CAFILE,PID", v)
	}
	pid, err := strconv.Atoi(f[3])
	if err != nil {
		return fmt.Errorf("-ref %q: pid: %w", v, err)
	}
	*r = append(*r, ref{Name: f[0], URL: f[1], CA: f[2], PID: pid})
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
// when it is not "", else straight to the upstream's address.
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
	type spec struct {
		name      string
		h2        bool
		proxy, ca string
		pid       int
	}
	specs := []spec{{setupDirect, false, "", o.UpstreamCA, 0}, {setupDirectH2, true, "", o.UpstreamCA, 0}}
	if o.Proxy != "" {
		specs = append(specs, spec{setupProxy, false, o.Proxy, o.ProxyCA, o.ProxyPID})
	}
	for _, r := range o.Refs {
		specs = append(specs, spec{"ref:" + r.Name, false, r.URL, r.CA, r.PID})
	}
	var out []*setup
	for _, sp := range specs {
		s := &setup{name: sp.name, proxyPID: sp.pid, latencyOnly: strings.HasPrefix(sp.name, "ref:"),
			newTr: func() (*http.Transport, error) { return o.transport(sp.h2, sp.proxy, sp.ca) }}
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
// round, and collects what f measured after the warm-up rounds.
func turns(ss []*setup, rounds, warmup int, f func(*setup) (time.Duration, error)) (map[string][]time.Duration, error) {
	got := map[string][]time.Duration{}
	for i := 0; i < rounds+warmup; i++ {
		for j := range ss {
			s := ss[(i+j)%len(ss)]
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
		ms[s.name] = &measurement{IdleConnKB: -1}
	}
	main := slices.DeleteFunc(slices.Clone(ss), func(s *setup) bool { return s.latencyOnly })
	if o.Only == "throughput" {
		return ms, throughput(main, o, ms)
	}

	// Memory first, before the large transfers leave freed memory that new
	// connections would reuse unseen.
	for _, s := range main {
		if s.proxyPID > 0 && o.Only == "" {
			if ms[s.name].IdleConnKB, err = idleConnKB(s); err != nil {
				return nil, err
			}
		}
	}

	// Latency: keep-alive, small JSON.
	cpu0 := map[string]time.Duration{}
	for _, s := range ss {
		cpu0[s.name] = cpuTime(s.proxyPID)
	}
	lat, err := turns(ss, o.N, 50, func(s *setup) (time.Duration, error) {
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
	})
	if err != nil {
		return nil, err
	}
	for _, s := range ss {
		m := ms[s.name]
		m.P50ms, m.P99ms = percentile(lat[s.name], 0.5), percentile(lat[s.name], 0.99)
		m.ProxyCPUPerReq = float64(cpuTime(s.proxyPID)-cpu0[s.name]) / float64(time.Microsecond) / float64(o.N+50)
	}
	if o.Only == "latency" {
		return ms, nil
	}

	// Time to the first SSE event.
	sse, err := turns(main, 200, 20, func(s *setup) (time.Duration, error) {
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
	})
	if err != nil {
		return nil, err
	}
	for name, d := range sse {
		ms[name].SSEFirstP50ms = percentile(d, 0.5)
	}

	return ms, throughput(main, o, ms)
}

// throughput measures a 50 MB body, best of three per setup, and the CPU
// time each party spends on it.
func throughput(ss []*setup, o clientOpts, ms map[string]*measurement) error {
	const size, runs = 50 << 20, 3
	cpu := map[string]*[3]time.Duration{}
	wall := map[string]time.Duration{}
	for _, s := range ss {
		cpu[s.name] = new([3]time.Duration)
	}
	_, err := turns(ss, runs, 0, func(s *setup) (time.Duration, error) {
		pids := []int{os.Getpid(), o.UpPID, s.proxyPID}
		var cpu0 [3]time.Duration
		for i, pid := range pids {
			cpu0[i] = cpuTime(pid)
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
			cpu[s.name][i] += cpuTime(pid) - cpu0[i]
		}
		m := ms[s.name]
		m.ThroughputMBps = max(m.ThroughputMBps, float64(size)/(1<<20)/d.Seconds())
		return d, nil
	})
	if err != nil {
		return err
	}
	for name, c := range cpu {
		perMB := func(d time.Duration) float64 {
			return float64(d) / float64(time.Millisecond) / (runs * size >> 20)
		}
		ms[name].ClientCPU, ms[name].UpstreamCPU, ms[name].ProxyCPU = perMB(c[0]), perMB(c[1]), perMB(c[2])
		ms[name].CoresBusy = float64(c[0]+c[1]+c[2]) / float64(wall[name])
	}
	return nil
}

// cpuTime is the CPU time all of pid's threads have run so far (0 for pid
// 0 or an unreadable process), from the scheduler's nanosecond counters.
func cpuTime(pid int) time.Duration {
	if pid <= 0 {
		return 0
	}
	stats, _ := filepath.Glob(fmt.Sprintf("/proc/%d/task/*/schedstat", pid))
	var t time.Duration
	for _, f := range stats {
		b, err := os.ReadFile(f)
		if err != nil {
			continue
		}
		if ns, err := strconv.ParseInt(strings.Fields(string(b))[0], 10, 64); err == nil {
			t += time.Duration(ns)
		}
	}
	return t
}

// idleConnKB opens idle intercepted connections and reports how much the
// proxy's resident memory grew per connection.
func idleConnKB(s *setup) (float64, error) {
	const conns = 200
	before, err := rssKB(s.proxyPID)
	if err != nil {
		return 0, err
	}
	var keep []*http.Transport
	for i := 0; i < conns; i++ {
		tr, err := s.newTr()
		if err != nil {
			return 0, err
		}
		resp, err := post(&http.Client{Transport: tr}, false)
		if err != nil {
			return 0, fmt.Errorf("idle connection %d: %w", i, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		keep = append(keep, tr)
	}
	after, err := rssKB(s.proxyPID)
	for _, tr := range keep {
		tr.CloseIdleConnections()
	}
	if err != nil {
		return 0, err
	}
	return float64(after-before) / conns, nil
}

func rssKB(pid int) (int, error) {
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
