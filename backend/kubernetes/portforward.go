package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/portforward"
	"k8s.io/client-go/transport/spdy"
)

// GatewayTunnelPort is GatewayTunnelAddr's port, which the daemon reaches
// through a port-forward.
const GatewayTunnelPort = 3129

// maxForwardError bounds what is read of a forward's error stream.
const maxForwardError = 64 << 10

// GatewayPod is the name of a Running and Ready gateway pod, the newest
// when there are several (a rollout, or a deleted pod's replacement).
func (b *Backend) GatewayPod(ctx context.Context) (string, error) {
	pods, err := b.cs.CoreV1().Pods(b.ns).List(ctx, metav1.ListOptions{LabelSelector: AppLabel + "=" + GatewayName})
	if err != nil {
		return "", b.wrap(err, "gateway pods")
	}
	var best *corev1.Pod
	for i := range pods.Items {
		p := &pods.Items[i]
		if p.DeletionTimestamp != nil || p.Status.Phase != corev1.PodRunning || !podReady(p) {
			continue
		}
		if best == nil || p.CreationTimestamp.After(best.CreationTimestamp.Time) {
			best = p
		}
	}
	if best == nil {
		return "", fmt.Errorf("backend/kubernetes: no gateway pod is ready in namespace %s (%d found); run `clauderon k8s setup --apply`", b.ns, len(pods.Items))
	}
	return best.Name, nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// DialPod connects to port on pod's loopback through the pods/portforward
// subresource, over WebSocket with a fallback to SPDY. The connection is
// one forwarded stream; closing it ends the forward. What the kubelet
// reports on the forward's error stream (nothing listens on port, say)
// ends the connection, and its Read returns that error.
func (b *Backend) DialPod(ctx context.Context, pod string, port int) (net.Conn, error) {
	u := b.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(b.ns).Name(pod).SubResource("portforward").URL()
	rt, upgrader, err := spdy.RoundTripperFor(b.cfg)
	if err != nil {
		return nil, b.wrap(err, "port-forward to "+pod)
	}
	dialer := spdy.NewDialer(upgrader, &http.Client{Transport: rt}, http.MethodPost, u)
	if ws, err := portforward.NewSPDYOverWebsocketDialer(u, b.cfg); err == nil {
		dialer = portforward.NewFallbackDialer(ws, dialer, func(err error) bool {
			return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
		})
	}
	type dialed struct {
		c   httpstream.Connection
		err error
	}
	// The dialers take no context: give up on ctx, and close what a late
	// dial brings.
	ch := make(chan dialed, 1)
	go func() {
		c, _, err := dialer.Dial(portforward.PortForwardProtocolV1Name)
		ch <- dialed{c, err}
	}()
	var sc httpstream.Connection
	select {
	case d := <-ch:
		if d.err != nil {
			return nil, b.wrapPod(d.err, "port-forward to", pod)
		}
		sc = d.c
	case <-ctx.Done():
		go func() {
			if d := <-ch; d.c != nil {
				d.c.Close()
			}
		}()
		return nil, ctx.Err()
	}
	h := http.Header{}
	h.Set(corev1.StreamType, corev1.StreamTypeError)
	h.Set(corev1.PortHeader, strconv.Itoa(port))
	h.Set(corev1.PortForwardRequestIDHeader, "0")
	errStream, err := sc.CreateStream(h)
	if err != nil {
		sc.Close()
		return nil, b.wrap(err, "port-forward to "+pod)
	}
	// Nothing is written to the error stream.
	errStream.Close()
	h.Set(corev1.StreamType, corev1.StreamTypeData)
	data, err := sc.CreateStream(h)
	if err != nil {
		sc.Close()
		return nil, b.wrap(err, "port-forward to "+pod)
	}
	c := &forwardConn{sc: sc, data: data, pod: pod, port: port}
	go c.watchErrors(errStream)
	return c, nil
}

// forwardConn is one port-forward stream as a net.Conn.
type forwardConn struct {
	sc        httpstream.Connection
	data      httpstream.Stream
	pod       string
	port      int
	closeOnce sync.Once

	mu  sync.Mutex
	err error // from the error stream
}

func (c *forwardConn) watchErrors(s httpstream.Stream) {
	msg, err := io.ReadAll(io.LimitReader(s, maxForwardError))
	if err == nil && len(msg) == 0 {
		return
	}
	if err == nil {
		err = errors.New(string(msg))
	}
	c.mu.Lock()
	c.err = fmt.Errorf("backend/kubernetes: port-forward to %s:%d: %w", c.pod, c.port, err)
	c.mu.Unlock()
	c.Close()
}

func (c *forwardConn) Read(p []byte) (int, error) {
	n, err := c.data.Read(p)
	if err != nil {
		c.mu.Lock()
		if c.err != nil {
			err = c.err
		}
		c.mu.Unlock()
	}
	return n, err
}

func (c *forwardConn) Write(p []byte) (int, error) { return c.data.Write(p) }

// CloseWrite tells the pod's side that no more is sent.
func (c *forwardConn) CloseWrite() error { return c.data.Close() }

func (c *forwardConn) Close() error {
	c.closeOnce.Do(func() {
		_ = c.data.Reset()
		c.sc.RemoveStreams(c.data)
		c.sc.Close()
	})
	return nil
}

func (c *forwardConn) LocalAddr() net.Addr  { return forwardAddr("daemon") }
func (c *forwardConn) RemoteAddr() net.Addr { return forwardAddr(c.pod + ":" + strconv.Itoa(c.port)) }

// Deadlines are not supported by the streams underneath; yamux, the one
// user, keeps its own timers.
func (c *forwardConn) SetDeadline(time.Time) error      { return errors.ErrUnsupported }
func (c *forwardConn) SetReadDeadline(time.Time) error  { return errors.ErrUnsupported }
func (c *forwardConn) SetWriteDeadline(time.Time) error { return errors.ErrUnsupported }

// forwardAddr names a port-forward's end.
type forwardAddr string

func (forwardAddr) Network() string  { return "portforward" }
func (a forwardAddr) String() string { return string(a) }
