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
	"slices"
	"strconv"
	"strings"
	"time"
)

// clientOpts says how the measuring client reaches api.anthropic.com.
type clientOpts struct {
	Proxy    string // proxy URL with credentials, "" for direct
	CAFile   string // roots the client trusts for api.anthropic.com
	DialAddr string // direct only: where api.anthropic.com really is
	ProxyPID int    // process whose RSS is measured, 0 for none
	N        int    // requests for the latency run
	H2       bool   // direct only: speak HTTP/2, as the proxy does upstream
}

// measurement is one setup's row, in the units the table prints.
type measurement struct {
	P50ms, P99ms   float64
	SSEFirstP50ms  float64
	ThroughputMBps float64
	IdleConnKB     float64 // -1 when not measured
}

const target = "https://api.anthropic.com"

func (o clientOpts) transport() (*http.Transport, error) {
	pem, err := os.ReadFile(o.CAFile)
	if err != nil {
		return nil, err
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificates in %s", o.CAFile)
	}
	tr := &http.Transport{
		TLSClientConfig:     &tls.Config{RootCAs: roots},
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{}, // HTTP/1.1, as Claude Code speaks
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
	}
	if o.H2 {
		tr.TLSNextProto, tr.ForceAttemptHTTP2 = nil, true
	}
	if o.Proxy != "" {
		u, err := url.Parse(o.Proxy)
		if err != nil {
			return nil, err
		}
		tr.Proxy = http.ProxyURL(u)
	} else {
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, o.DialAddr)
		}
	}
	return tr, nil
}

func post(c *http.Client, stream bool) (*http.Response, error) {
	body := fmt.Sprintf(`{"model":"claude-sonnet-4-5","max_tokens":16,"stream":%v,"messages":[{"role":"user","content":"hi"}]}`, stream)
	req, _ := http.NewRequest(http.MethodPost, target+"/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer sk-ant-oat01-clauderon-proxy-placeholder")
	return c.Do(req)
}

func percentile(d []time.Duration, p float64) float64 {
	s := slices.Clone(d)
	slices.Sort(s)
	i := int(float64(len(s)-1) * p)
	return float64(s[i]) / float64(time.Millisecond)
}

func measure(o clientOpts) (measurement, error) {
	var m measurement
	tr, err := o.transport()
	if err != nil {
		return m, err
	}
	c := &http.Client{Transport: tr}

	// Memory first, before the large transfers leave freed memory that new
	// connections would reuse unseen.
	m.IdleConnKB = -1
	if o.ProxyPID > 0 {
		if m.IdleConnKB, err = idleConnKB(o); err != nil {
			return m, err
		}
	}

	// Latency: keep-alive, small JSON.
	lat := make([]time.Duration, 0, o.N)
	for i := 0; i < o.N+50; i++ {
		t0 := time.Now()
		resp, err := post(c, false)
		if err != nil {
			return m, fmt.Errorf("latency request: %w", err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 {
			return m, fmt.Errorf("latency request: status %s", resp.Status)
		}
		if i >= 50 { // the first requests warm up connections and caches
			lat = append(lat, time.Since(t0))
		}
	}
	m.P50ms, m.P99ms = percentile(lat, 0.5), percentile(lat, 0.99)

	// Time to the first SSE event.
	var sse []time.Duration
	for i := 0; i < 220; i++ {
		t0 := time.Now()
		resp, err := post(c, true)
		if err != nil {
			return m, fmt.Errorf("sse request: %w", err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		d := time.Since(t0)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || !strings.HasPrefix(line, "event:") {
			return m, fmt.Errorf("sse: first line %q: %v", line, err)
		}
		if i >= 20 {
			sse = append(sse, d)
		}
	}
	m.SSEFirstP50ms = percentile(sse, 0.5)

	// Throughput of a 50 MB body, best of three.
	const size = 50 << 20
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		resp, err := c.Get(target + "/big?n=" + strconv.Itoa(size))
		if err != nil {
			return m, fmt.Errorf("throughput: %w", err)
		}
		n, _ := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if n != size {
			return m, fmt.Errorf("throughput: got %d of %d bytes", n, size)
		}
		m.ThroughputMBps = max(m.ThroughputMBps, float64(size)/(1<<20)/time.Since(t0).Seconds())
	}

	return m, nil
}

// idleConnKB opens idle intercepted connections and reports how much the
// proxy's resident memory grew per connection.
func idleConnKB(o clientOpts) (float64, error) {
	const conns = 200
	before, err := rssKB(o.ProxyPID)
	if err != nil {
		return 0, err
	}
	var keep []*http.Transport
	for i := 0; i < conns; i++ {
		tr, err := o.transport()
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
	after, err := rssKB(o.ProxyPID)
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
	m, err := measure(o)
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(m)
}
