package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/clauderon/clauderon/session"
)

// echoPath is one the fake answers without doing anything (it repeats the
// headers it got), so a request's time is the path's.
const echoPath = "/echo/k8sbench"

// curlTimed is curl printing the status and its own time_total: what is
// measured is the request inside the container, not the exec around it.
// A curl each, so each request opens its connection (CONNECT through the
// proxy, TLS to it) as a new client in a session does.
func curlTimed(extra ...string) []string {
	argv := []string{"curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_appconnect} %{time_total}"}
	return append(append(argv, extra...), "https://api.anthropic.com"+echoPath)
}

// sessionCA: curl in a session is given the proxy's CA alone, as the
// host's curl is given the fake's. With the session's whole bundle (145
// certificates) each new curl spends about 45 ms loading it before its
// ClientHello, on either backend: that is curl's start, not the path's (a
// client such as Claude Code loads it once).
var sessionCA = session.ContainerCA

// latencyRows measures the same request to the fake upstream three ways,
// interleaved: from the host straight to the fake; from a Docker session's
// container through its gateway socket to the daemon's proxy; and from a
// Kubernetes session's pod through the cluster gateway, the tunnel and the
// daemon's proxy.
func (b *bench) latencyRows(ctx context.Context) error {
	const kn, dn = "bench-lat-k8s", "bench-lat-docker"
	logf("latency: a session on each backend")
	if _, err := b.timeCmd(b.bin, "create", "--backend", "kubernetes", "--no-workdir", "--name", kn, "--prompt", "hello", "--image", b.image); err != nil {
		return err
	}
	if _, err := b.timeCmd(b.bin, "create", "--backend", "docker", "--no-workdir", "--name", dn, "--prompt", "hello", "--image", b.image); err != nil {
		return err
	}
	defer func() { _ = b.quiet(b.bin, "rm", "--force", kn, dn) }()

	_, port, _ := net.SplitHostPort(b.fake.Addr)
	host := func() (curlTime, error) {
		// The same URL, connected to the fake, whose certificate names
		// api.anthropic.com.
		argv := curlTimed("--noproxy", "*", "--cacert", b.fake.CAFile, "--connect-to", "api.anthropic.com:443:127.0.0.1:"+port)
		out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
		if err != nil {
			return curlTime{}, fmt.Errorf("curl on the host: %v: %q", err, out)
		}
		return parseCurl("the host", out)
	}
	docker := func() (curlTime, error) {
		out, err := exec.CommandContext(ctx, "docker", append([]string{"exec", session.ContainerName(dn)}, curlTimed("--cacert", sessionCA)...)...).CombinedOutput()
		if err != nil {
			return curlTime{}, fmt.Errorf("curl in the Docker session: %v: %q", err, out)
		}
		return parseCurl("the Docker session", out)
	}
	lost := 0
	kube := func() (curlTime, error) {
		for {
			// Two buffers: the exec stream writes stdout and stderr from
			// two goroutines.
			var out, errOut bytes.Buffer
			code, err := b.be.Exec(ctx, session.ContainerName(kn), "", curlTimed("--cacert", sessionCA), nil, &out, &errOut)
			if err != nil || code != 0 {
				return curlTime{}, fmt.Errorf("curl in the Kubernetes session: exit %d, %v: %q %q", code, err, out.String(), errOut.String())
			}
			// An exec of a command this quick has been seen to end with
			// exit 0 and none of its output: that is the exec stream's,
			// not the request's, so the request is made again and counted.
			if out.Len() == 0 && errOut.Len() == 0 && lost < 10 {
				lost++
				continue
			}
			return parseCurl("the Kubernetes session", out.Bytes())
		}
	}
	paths := []func() (curlTime, error){host, docker, kube}
	// A few first requests are not counted: the sessions' Claude Codes are
	// starting, and the proxy's first upstream connection is made. A
	// Docker session's gateway may listen a moment after create returns:
	// the first request is tried again until it answers.
	for _, f := range paths {
		deadline := time.Now().Add(time.Minute)
		for {
			_, err := f()
			if err == nil {
				break
			}
			if time.Now().After(deadline) {
				return err
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	for range 2 {
		for _, f := range paths {
			if _, err := f(); err != nil {
				return err
			}
		}
	}
	times := make([][]time.Duration, len(paths))
	tls := make([][]time.Duration, len(paths))
	for i := range b.reqs {
		for j := range paths {
			k := (i + j) % len(paths) // rotate the order
			d, err := paths[k]()
			if err != nil {
				return err
			}
			times[k] = append(times[k], d.total)
			tls[k] = append(tls[k], d.tls)
		}
	}
	h, d, k := times[0], times[1], times[2]
	fmt.Printf("\n| the same HTTPS request to the fake upstream, %d each (curl's times, ms) | p50 | p90 | added p50 vs direct | of which TLS set-up p50 (connect, CONNECT, handshake) | goal |\n|---|---|---|---|---|---|\n", b.reqs)
	fmt.Printf("| direct from the host | %.2f | %.2f | | %.2f | |\n", pct(h, 50), pct(h, 90), pct(tls[0], 50))
	fmt.Printf("| Docker session: container → gateway socket → daemon's proxy → fake | %.2f | %.2f | %+.2f | %.2f | |\n", pct(d, 50), pct(d, 90), pct(d, 50)-pct(h, 50), pct(tls[1], 50))
	fmt.Printf("| Kubernetes session: pod → cluster gateway → tunnel (port-forward) → daemon's proxy → fake | %.2f | %.2f | %+.2f | %.2f | |\n", pct(k, 50), pct(k, 90), pct(k, 50)-pct(h, 50), pct(tls[2], 50))
	over := pct(k, 50) - pct(d, 50)
	if lost > 0 {
		fmt.Printf("\n(%d execs in the Kubernetes pod ended with exit 0 and no output at all; their requests were made again)\n", lost)
	}
	fmt.Printf("| the cluster gateway and tunnel over the Docker path (Kubernetes p50 − Docker p50) | %+.2f | | | | < 1 ms: %v |\n", over, over < 1)
	return nil
}

// curlTime is one request's curl times: to the end of the TLS handshake
// (through the proxy: connect, CONNECT and the handshake with the proxy),
// and in all.
type curlTime struct{ tls, total time.Duration }

// parseCurl reads curlTimed's output; anything but a 200 is an error.
func parseCurl(where string, out []byte) (curlTime, error) {
	f := strings.Fields(string(out))
	if len(f) != 3 || f[0] != "200" {
		return curlTime{}, fmt.Errorf("curl in %s: %q", where, out)
	}
	tls, err1 := strconv.ParseFloat(f[1], 64)
	total, err2 := strconv.ParseFloat(f[2], 64)
	if err1 != nil || err2 != nil {
		return curlTime{}, fmt.Errorf("curl in %s: %q", where, out)
	}
	return curlTime{tls: time.Duration(tls * float64(time.Second)), total: time.Duration(total * float64(time.Second))}, nil
}
