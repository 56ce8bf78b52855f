package tunnel_test

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/tunnel"
)

// BenchmarkRoundTrip measures, side by side in one run, a 64-byte round
// trip to an echo server directly and through the cluster gateway, yamux
// and the daemon's tunnel client (over loopback TCP where a port-forward
// would be), and reports both p50s, the time the tunnel adds and the ratio.
func BenchmarkRoundTrip(b *testing.B) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	echo := func(c net.Conn) {
		defer c.Close()
		_, _ = io.Copy(c, c)
	}
	eln := listen(b)
	go acceptAll(eln, echo)

	tln, pln := listen(b), listen(b)
	gw := tunnel.NewGateway(nil)
	go func() { _ = gw.Serve(ctx, tln) }()
	go func() { _ = (&gateway.Cluster{Tunnel: gw}).Serve(ctx, pln) }()
	client, err := tunnel.NewClient(tunnel.ClientConfig{
		Intercepted: []string{"api.anthropic.com"},
		Authorize:   func(*http.Request) tunnel.Decision { return tunnel.Decision{} },
	})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		_ = client.Run(ctx, func(ctx context.Context) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", tln.Addr().String())
		})
	}()
	// The fake proxy echoes what the stream carries, the head included.
	go acceptAll(client.Listener(), echo)
	for !gw.Up() {
		time.Sleep(time.Millisecond)
	}

	direct, err := net.Dial("tcp", eln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer direct.Close()
	via, err := net.Dial("tcp", pln.Addr().String())
	if err != nil {
		b.Fatal(err)
	}
	defer via.Close()
	head := "CONNECT api.anthropic.com:443 HTTP/1.1\r\nHost: api.anthropic.com:443\r\n\r\n"
	if _, err := io.WriteString(via, head); err != nil {
		b.Fatal(err)
	}
	viaR := bufio.NewReader(via)
	if _, err := io.ReadFull(viaR, make([]byte, len(head))); err != nil {
		b.Fatal(err)
	}
	msg, buf := make([]byte, 64), make([]byte, 64)
	rt := func(w io.Writer, r io.Reader) time.Duration {
		t0 := time.Now()
		if _, err := w.Write(msg); err != nil {
			b.Fatal(err)
		}
		if _, err := io.ReadFull(r, buf); err != nil {
			b.Fatal(err)
		}
		return time.Since(t0)
	}
	var d, v []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		d = append(d, rt(direct, direct))
		v = append(v, rt(via, viaR))
	}
	b.StopTimer()
	pd, pv := p50(d), p50(v)
	b.ReportMetric(float64(pd.Microseconds()), "direct-p50-µs")
	b.ReportMetric(float64(pv.Microseconds()), "tunnel-p50-µs")
	b.ReportMetric(float64((pv-pd).Nanoseconds())/1e3, "added-p50-µs")
	b.ReportMetric(float64(pv)/float64(pd), "ratio")
	b.ReportMetric(0, "ns/op")
}

func p50(ds []time.Duration) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[len(s)/2]
}

func listen(b *testing.B) net.Listener {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { ln.Close() })
	return ln
}

func acceptAll(ln net.Listener, serve func(net.Conn)) {
	for {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		go serve(c)
	}
}
