// Command k8sbench measures the Kubernetes backend side by side in one run
// on the test cluster (scripts/k8s-up.sh), against a real daemon with the
// fake upstream: create → running against a plain pod of the same image
// (what `kubectl run` does), a print session against the same on Docker,
// the proxy's added latency through the cluster gateway and tunnel against
// a Docker session's gateway and a direct request, and the daemon's memory
// with 100 Kubernetes sessions (rss.go). It prints tables and asserts
// nothing; without the test cluster it says how to start it and exits 0.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	k8sclient "k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/clauderon/clauderon/backend/kubernetes"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/benchutil"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/internal/k8stest"
	"github.com/clauderon/clauderon/internal/testimage"
)

const canary = "sk-ant-oat01-CANARY-k8sbench-00000000000000000"

func main() {
	bin := flag.String("clauderon", "bin/clauderon", "the clauderon binary")
	rounds := flag.Int("rounds", 5, "rounds of each timed create and print")
	reqs := flag.Int("requests", 30, "requests of each path for the latency rows")
	many := flag.Int("sessions", 100, "Kubernetes print sessions the memory row's daemon holds")
	par := flag.Int("parallel", 4, "of those, how many are made at a time")
	flag.Parse()
	if *rounds < 1 || *reqs < 1 || *many < 1 || *par < 1 {
		fmt.Fprintln(os.Stderr, "k8sbench: -rounds, -requests, -sessions and -parallel must be at least 1")
		os.Exit(2)
	}
	b := &bench{rounds: *rounds, reqs: *reqs, many: *many, par: *par, tb: &benchTB{}}
	kc := os.Getenv("CLAUDERON_TEST_KUBECONFIG")
	if kc == "" {
		kc = "/tmp/clauderon-k8s/admin.kubeconfig"
	}
	if why := b.reach(kc); why != "" {
		fmt.Printf("skipped: %s; start the test cluster with `sudo scripts/k8s-up.sh` (or set CLAUDERON_TEST_KUBECONFIG)\n", why)
		return
	}
	t0 := time.Now()
	err := b.run(*bin)
	b.cleanup()
	logf("k8sbench took %s", time.Since(t0).Round(time.Second))
	if err != nil {
		fmt.Fprintln(os.Stderr, "k8sbench:", err)
		os.Exit(1)
	}
}

type bench struct {
	rounds, reqs, many, par int
	tb                      *benchTB
	kubeconfig, ns          string
	cs                      k8sclient.Interface
	be                      *kubernetes.Backend
	bin, tmp, home          string
	image, gwImage          string
	fake                    *fakeanthropic.Server
	daemon                  *exec.Cmd
	cl                      *client.Client
	uid                     int64 // the image's user, for the plain pod
	stopProvision           context.CancelFunc
	nsMade                  bool
}

func logf(format string, args ...any) { fmt.Fprintf(os.Stderr, "==> "+format+"\n", args...) }

// reach says why the test cluster cannot be used, or "".
func (b *bench) reach(kc string) string {
	if _, err := os.Stat(kc); err != nil {
		return fmt.Sprintf("no kubeconfig at %s", kc)
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kc)
	if err != nil {
		return fmt.Sprintf("kubeconfig %s: %v", kc, err)
	}
	rc.Timeout = 5 * time.Second
	cs, err := k8sclient.NewForConfig(rc)
	if err != nil {
		return err.Error()
	}
	if _, err := cs.Discovery().ServerVersion(); err != nil {
		return fmt.Sprintf("the cluster of %s does not answer (%v)", kc, err)
	}
	rc.Timeout = 0
	b.kubeconfig = kc
	b.cs, _ = k8sclient.NewForConfig(rc)
	return ""
}

func (b *bench) run(bin string) (err error) {
	ctx := context.Background()
	if b.bin, err = filepath.Abs(bin); err != nil {
		return err
	}
	if b.tmp, err = os.MkdirTemp("", "k8sbench"); err != nil {
		return err
	}
	if b.image = os.Getenv("CLAUDERON_TEST_K8S_IMAGE"); b.image == "" {
		logf("test image (real Claude Code)")
		if b.image, err = testimage.Build(ctx, func(f string, a ...any) { logf(f, a...) }); err != nil {
			return err
		}
	}
	if err := k8stest.Load(b.image); err != nil {
		return err
	}
	logf("gateway image")
	if err := b.tb.try(func() { b.gwImage = k8stest.GatewayImage(b.tb) }); err != nil {
		return err
	}
	if b.uid, err = imageUID(b.image); err != nil {
		return err
	}
	var rnd [3]byte
	rand.Read(rnd[:])
	b.ns = "clauderon-bench-" + hex.EncodeToString(rnd[:])
	if b.be, err = kubernetes.New(kubernetes.Config{Kubeconfig: b.kubeconfig, Namespace: b.ns, ImagePullPolicy: corev1.PullNever, ToolsImage: b.gwImage}); err != nil {
		return err
	}
	if b.fake, err = fakeanthropic.Start(b.tmp); err != nil {
		return err
	}
	if err := b.writeHome(); err != nil {
		return err
	}
	logf("namespace %s: clauderon k8s setup --apply", b.ns)
	b.nsMade = true
	if err := b.quiet(b.bin, "k8s", "setup", "--apply"); err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(ctx)
	b.stopProvision = cancel
	if err := b.tb.try(func() { k8stest.Provision(pctx, b.tb, b.cs, b.ns) }); err != nil {
		return err
	}
	if b.daemon, b.cl, err = b.launchDaemon(); err != nil {
		return err
	}
	_, idle, err := rssOf(ctx, b.cl)
	if err != nil {
		return err
	}
	if err := b.createRows(ctx); err != nil {
		return err
	}
	if err := b.latencyRows(ctx); err != nil {
		return err
	}
	// Every session round trip above went through the proxy with the canary.
	for _, r := range b.fake.MessageRequests() {
		if r.Authorization != "Bearer "+canary {
			return errors.New("a request reached the fake without the token")
		}
	}
	if err := b.rssRows(ctx, idle); err != nil {
		return err
	}
	return errors.Join(b.tb.errs...)
}

// writeHome makes the daemon's home: config.json sends api.anthropic.com
// to the fake and turns the Kubernetes backend on in b.ns.
func (b *bench) writeHome() error {
	b.home = filepath.Join(b.tmp, "home")
	if err := os.Mkdir(b.home, 0o700); err != nil {
		return err
	}
	c := config.Config{
		Proxy: config.Proxy{Upstreams: map[string]config.Upstream{
			"api.anthropic.com": {Address: b.fake.Addr, CAFile: b.fake.CAFile},
		}},
		MCP:        config.MCP{Port: -1},
		UI:         config.UI{Port: -1},
		Kubernetes: &config.Kubernetes{Kubeconfig: b.kubeconfig, Namespace: b.ns, ImagePullPolicy: "Never", GatewayImage: b.gwImage},
	}
	cfg, _ := json.MarshalIndent(c, "", "  ")
	return os.WriteFile(filepath.Join(b.home, config.FileName), cfg, 0o600)
}

// launchDaemon runs a daemon for b.home and waits until it answers.
func (b *bench) launchDaemon() (*exec.Cmd, *client.Client, error) {
	port, err := freePort()
	if err != nil {
		return nil, nil, err
	}
	d := exec.Command(b.bin, "daemon", "--proxy-port", strconv.Itoa(port))
	d.Env = append(os.Environ(), "CLAUDERON_HOME="+b.home, "CLAUDE_CODE_OAUTH_TOKEN="+canary)
	logFile, err := os.OpenFile(b.home+".daemon.log", os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, nil, err
	}
	d.Stdout, d.Stderr = logFile, logFile
	if err := d.Start(); err != nil {
		return nil, nil, err
	}
	cl := &client.Client{Socket: filepath.Join(b.home, client.SocketFile)}
	deadline := time.Now().Add(60 * time.Second)
	for {
		if _, err := cl.Status(context.Background()); err == nil {
			return d, cl, nil
		} else if time.Now().After(deadline) {
			_ = d.Process.Kill()
			_ = d.Wait()
			return nil, nil, fmt.Errorf("the daemon did not answer within 60 s: %w", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (b *bench) stopDaemon() {
	if b.daemon != nil && b.daemon.Process != nil {
		_ = b.daemon.Process.Signal(os.Interrupt)
		_ = b.daemon.Wait()
	}
	b.daemon = nil
}

// waitPodGone waits until pod name is deleted, so that a pod still
// terminating does not take the CPU from the next measurement.
func (b *bench) waitPodGone(ctx context.Context, name string) error {
	deadline := time.Now().Add(2 * time.Minute)
	for {
		_, err := b.cs.CoreV1().Pods(b.ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("pod %s is still there after 2 minutes (%v)", name, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (b *bench) cleanup() {
	ctx := context.Background()
	if b.cl != nil && b.daemon != nil {
		if l, err := b.cl.List(ctx); err == nil {
			for _, s := range l.Sessions {
				_ = b.cl.Remove(ctx, s.Name, true, true)
			}
		}
	}
	b.stopDaemon()
	if b.stopProvision != nil {
		b.stopProvision()
	}
	if b.nsMade {
		logf("deleting namespace %s", b.ns)
		if err := b.cs.CoreV1().Namespaces().Delete(ctx, b.ns, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
			logf("delete namespace %s: %v", b.ns, err)
		}
		// Its pods' end would take the CPU from whatever runs next.
		deadline := time.Now().Add(2 * time.Minute)
		for time.Now().Before(deadline) {
			if _, err := b.cs.CoreV1().Namespaces().Get(ctx, b.ns, metav1.GetOptions{}); apierrors.IsNotFound(err) {
				break
			}
			time.Sleep(500 * time.Millisecond)
		}
	}
	b.tb.cleanup()
	if b.fake != nil {
		b.fake.Close()
	}
	if b.tmp != "" {
		os.RemoveAll(b.tmp)
	}
}

// imageUID is the numeric user the image runs as, which a pod under the
// restricted Pod Security Standard must name for runAsNonRoot.
func imageUID(image string) (int64, error) {
	out, err := exec.Command("docker", "run", "--rm", "--network", "none", "--entrypoint", "id", image, "-u").Output()
	if err != nil {
		return 0, fmt.Errorf("the user of %s: %v", image, err)
	}
	return strconv.ParseInt(strings.TrimSpace(string(out)), 10, 64)
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// pct is the p-th percentile (nearest rank) of ds, in ms.
func pct(ds []time.Duration, p float64) float64 {
	if len(ds) == 0 {
		return 0
	}
	s := append([]time.Duration(nil), ds...)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	i := int(p/100*float64(len(s))+0.5) - 1
	i = min(max(i, 0), len(s)-1)
	return float64(s[i]) / float64(time.Millisecond)
}

func (b *bench) timeCmd(name string, args ...string) (time.Duration, error) {
	return benchutil.TimeCmd(b.home, name, args...)
}

func (b *bench) quiet(name string, args ...string) error {
	return benchutil.Quiet(b.home, name, args...)
}
