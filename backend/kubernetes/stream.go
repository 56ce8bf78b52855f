package kubernetes

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/httpstream"
	"k8s.io/client-go/tools/remotecommand"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/kubernetes/kubeclient"
)

// Logs returns the container's output (stdout and stderr as one stream,
// through pods/log); with follow, until it exits or ctx ends.
func (b *Backend) Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error) {
	rc, err := b.cs.CoreV1().Pods(b.ns).GetLogs(id, &corev1.PodLogOptions{Container: ContainerName, Follow: follow}).Stream(ctx)
	if err != nil {
		return nil, b.wrapPod(err, "logs", id)
	}
	return rc, nil
}

// LogsSince returns what the container wrote since since, by the kubelet's
// own timestamps: the API's sinceTime has whole seconds, so the lines are
// asked for with timestamps and those before since are dropped here.
func (b *Backend) LogsSince(ctx context.Context, id string, since time.Time) (io.ReadCloser, error) {
	st := metav1.NewTime(since.Truncate(time.Second))
	rc, err := b.cs.CoreV1().Pods(b.ns).GetLogs(id, &corev1.PodLogOptions{Container: ContainerName, SinceTime: &st, Timestamps: true}).Stream(ctx)
	if err != nil {
		return nil, b.wrapPod(err, "logs", id)
	}
	pr, pw := io.Pipe()
	go func() {
		br := bufio.NewReader(rc)
		for {
			line, err := br.ReadString('\n')
			if line != "" {
				ts, rest, ok := strings.Cut(line, " ")
				t, perr := time.Parse(time.RFC3339Nano, ts)
				if !ok || perr != nil || !t.Before(since) {
					if !ok || perr != nil {
						rest = line
					}
					if _, werr := io.WriteString(pw, rest); werr != nil {
						rc.Close()
						return
					}
				}
			}
			if err != nil {
				rc.Close()
				if err == io.EOF {
					err = nil
				}
				pw.CloseWithError(err)
				return
			}
		}
	}()
	return &closer{PipeReader: pr, src: rc}, nil
}

type closer struct {
	*io.PipeReader
	src io.Closer
}

func (c *closer) Close() error {
	c.PipeReader.Close()
	return c.src.Close()
}

// resizeState is a pod's attaches' size queues and the last size asked for.
type resizeState struct {
	last   *remotecommand.TerminalSize
	queues map[*sizeQueue]bool
}

// sizeQueue hands an attach the sizes Resize asks for.
type sizeQueue struct {
	ch   chan remotecommand.TerminalSize
	done <-chan struct{}
}

func (q *sizeQueue) Next() *remotecommand.TerminalSize {
	select {
	case s := <-q.ch:
		return &s
	case <-q.done:
		return nil
	}
}

func (q *sizeQueue) push(s remotecommand.TerminalSize) {
	for {
		select {
		case q.ch <- s:
			return
		default:
		}
		select { // drop a stale size nobody took
		case <-q.ch:
		default:
		}
	}
}

// Attach connects to the container's stdin (when it has one), stdout and
// stderr through the attach subresource, over WebSocket with a fallback to
// SPDY. The container must be running: unlike Docker, a Pod cannot be
// attached to before it starts, so the first output is in Logs.
func (b *Backend) Attach(ctx context.Context, id string) (backend.Stream, error) {
	pod, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, metav1.GetOptions{})
	if err != nil {
		return nil, b.wrapPod(err, "attach", id)
	}
	if st := statusOf(pod); st.Status != "running" {
		return nil, fmt.Errorf("backend/kubernetes: attach %s: the container is %s, not running", id, st.Status)
	}
	c := pod.Spec.Containers[0]
	req := b.cs.CoreV1().RESTClient().Post().Resource("pods").Namespace(b.ns).Name(id).SubResource("attach").
		VersionedParams(&corev1.PodAttachOptions{Container: ContainerName, Stdin: c.Stdin, Stdout: true, Stderr: !c.TTY, TTY: c.TTY}, kubeclient.ParameterCodec)
	ws, err := remotecommand.NewWebSocketExecutor(b.cfg, "GET", req.URL().String())
	if err != nil {
		return nil, b.wrap(err, "attach "+id)
	}
	spdy, err := remotecommand.NewSPDYExecutor(b.cfg, "POST", req.URL())
	if err != nil {
		return nil, b.wrap(err, "attach "+id)
	}
	exec, err := remotecommand.NewFallbackExecutor(ws, spdy, func(err error) bool {
		return httpstream.IsUpgradeFailure(err) || httpstream.IsHTTPSProxyError(err)
	})
	if err != nil {
		return nil, b.wrap(err, "attach "+id)
	}

	sctx, cancel := context.WithCancel(context.Background())
	stop := context.AfterFunc(ctx, cancel)
	outR, outW := io.Pipe()
	s := &stream{r: outR, cancel: func() { stop(); cancel() }}
	o := remotecommand.StreamOptions{Stdout: outW, Tty: c.TTY}
	if !c.TTY {
		o.Stderr = outW
	}
	if c.Stdin {
		inR, inW := io.Pipe()
		o.Stdin, s.w = inR, inW
	}
	if c.TTY {
		q := &sizeQueue{ch: make(chan remotecommand.TerminalSize, 1), done: sctx.Done()}
		o.TerminalSizeQueue = q
		b.mu.Lock()
		rs := b.resizes[id]
		if rs == nil {
			rs = &resizeState{queues: map[*sizeQueue]bool{}}
			b.resizes[id] = rs
		}
		rs.queues[q] = true
		if rs.last != nil {
			q.push(*rs.last)
		}
		b.mu.Unlock()
		s.unregister = func() {
			b.mu.Lock()
			delete(rs.queues, q)
			if len(rs.queues) == 0 && b.resizes[id] == rs {
				delete(b.resizes, id)
			}
			b.mu.Unlock()
		}
	}
	go func() {
		err := exec.StreamWithContext(sctx, o)
		if err != nil && sctx.Err() == nil {
			err = b.wrapPod(err, "attach", id)
		} else {
			err = nil
		}
		outW.CloseWithError(err)
		s.Close()
	}()
	return s, nil
}

// stream is an attach connection: r its output, w its stdin (nil without one).
type stream struct {
	r          *io.PipeReader
	w          *io.PipeWriter
	cancel     func()
	unregister func()
	once       sync.Once
}

func (s *stream) Read(p []byte) (int, error) { return s.r.Read(p) }

func (s *stream) Write(p []byte) (int, error) {
	if s.w == nil {
		return 0, fmt.Errorf("backend/kubernetes: attach: the container has no stdin")
	}
	return s.w.Write(p)
}

// CloseWrite closes our side of stdin; the container's stays open
// (stdinOnce false), as on Docker.
func (s *stream) CloseWrite() error {
	if s.w == nil {
		return nil
	}
	return s.w.Close()
}

func (s *stream) Close() error {
	s.once.Do(func() {
		s.cancel()
		if s.w != nil {
			s.w.Close()
		}
		s.r.Close()
		if s.unregister != nil {
			s.unregister()
		}
	})
	return nil
}

// Resize sets the container's TTY size on its attaches; with none it is
// kept for the next one (the attach subresource carries the size).
func (b *Backend) Resize(ctx context.Context, id string, rows, cols uint) error {
	if _, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, id, metav1.GetOptions{}); err != nil {
		return b.wrapPod(err, "resize", id)
	}
	size := remotecommand.TerminalSize{Width: uint16(cols), Height: uint16(rows)}
	b.mu.Lock()
	defer b.mu.Unlock()
	rs := b.resizes[id]
	if rs == nil {
		rs = &resizeState{queues: map[*sizeQueue]bool{}}
		b.resizes[id] = rs
	}
	rs.last = &size
	for q := range rs.queues {
		q.push(size)
	}
	return nil
}
