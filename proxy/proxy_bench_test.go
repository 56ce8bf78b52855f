package proxy

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
)

// The benchmarks run the path `make bench` measures, in one process so
// `go test -bench . -cpuprofile` sees the proxy: an HTTP/1.1 client (as
// Claude Code speaks) through an intercepted tunnel to the fake upstream,
// next to the same client talking to the fake directly.
//
//	go test -run '^$' -bench . -benchtime 2000x ./proxy/
//	go test -run '^$' -bench Throughput -cpuprofile cpu.out ./proxy/

// benchModes are the paths compared: the proxy, the fake straight over
// HTTP/1.1 (what `make bench` calls direct), the fake straight over
// HTTP/2, which shows what the proxy's HTTP/2 upstream costs by itself, and
// the proxy with its usage accounting on (Config.Usage and Config.Budget
// set, as the daemon runs it; "proxy" leaves them nil, as `clauderon exec`
// does, and no meter wraps the response). `make bench` compares the two
// side by side (proxybench's usage rows).
var benchModes = []string{"direct", "direct-h2", "proxy", "proxy-usage"}

// benchClient is an HTTP/1.1 client for api.anthropic.com (HTTP/2 for
// direct-h2), either through the harness's proxy or straight to the fake.
func benchClient(b *testing.B, h *harness, mode string) *http.Client {
	b.Helper()
	pool := x509.NewCertPool()
	tr := &http.Transport{
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
		MaxIdleConnsPerHost: 4,
		DisableCompression:  true,
	}
	if mode == "direct-h2" {
		tr.TLSNextProto, tr.ForceAttemptHTTP2 = nil, true
	}
	if !strings.HasPrefix(mode, "proxy") {
		pool = h.fake.Roots
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, _ string) (net.Conn, error) {
			return d.DialContext(ctx, network, h.fake.Addr)
		}
	} else {
		pool.AddCert(h.ca.Certificate())
		tr.Proxy = http.ProxyURL(h.proxyURL(h.name, h.secret))
	}
	tr.TLSClientConfig = &tls.Config{RootCAs: pool}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// benchHarness logs as `clauderon exec` does: text, at Info. In mode
// proxy-usage it meters usage too, summing it in memory (the daemon's
// ledger also writes it to disk, which proxybench measures).
func benchHarness(b *testing.B, mode string) *harness {
	return newHarness(b, canaryOAuth, func(c *Config) {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if mode == "proxy-usage" {
			var mu sync.Mutex
			var total int64
			c.Usage = func(_ string, u Usage) {
				mu.Lock()
				total += u.InputTokens + u.OutputTokens + u.CacheWriteTokens + u.CacheReadTokens
				mu.Unlock()
			}
			c.Budget = func(string) error {
				mu.Lock()
				defer mu.Unlock()
				if total < 0 {
					return errors.New("spent")
				}
				return nil
			}
		}
	})
}

func benchPost(b *testing.B, c *http.Client, stream bool) *http.Response {
	body := `{"model":"claude-sonnet-4-5","max_tokens":16,"stream":` + strconv.FormatBool(stream) + `,"messages":[{"role":"user","content":"hi"}]}`
	req, _ := http.NewRequest(http.MethodPost, "https://api.anthropic.com/v1/messages", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+clientToken)
	resp, err := c.Do(req)
	if err != nil {
		b.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		b.Fatalf("status %s", resp.Status)
	}
	return resp
}

func BenchmarkMessages(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			h := benchHarness(b, mode)
			c := benchClient(b, h, mode)
			b.ReportAllocs()
			for b.Loop() {
				resp := benchPost(b, c, false)
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkSSEFirstEvent(b *testing.B) {
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			h := benchHarness(b, mode)
			c := benchClient(b, h, mode)
			b.ReportAllocs()
			for b.Loop() {
				resp := benchPost(b, c, true)
				line, err := bufio.NewReader(resp.Body).ReadString('\n')
				if err != nil || !strings.HasPrefix(line, "event:") {
					b.Fatalf("first line %q: %v", line, err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}

func BenchmarkThroughput(b *testing.B) {
	const size = 50 << 20
	for _, mode := range benchModes {
		b.Run(mode, func(b *testing.B) {
			h := benchHarness(b, mode)
			c := benchClient(b, h, mode)
			b.SetBytes(size)
			for b.Loop() {
				resp, err := c.Get("https://api.anthropic.com/big?n=" + strconv.Itoa(size))
				if err != nil {
					b.Fatal(err)
				}
				n, _ := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if n != size {
					b.Fatalf("got %d of %d bytes", n, size)
				}
			}
		})
	}
}
