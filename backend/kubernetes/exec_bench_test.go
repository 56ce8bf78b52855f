package kubernetes

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/clauderon/clauderon/workspace"
)

// BenchmarkWorkspaceThroughExec moves a 2000-file tree (about 15 MB) into a
// pod (WriteTar into tar -x) and back (tar -c into ReadTar), and reads it
// against the same round trip on the host alone. Needs the cluster, as the
// tests do.
func BenchmarkWorkspaceThroughExec(b *testing.B) {
	kc, image := os.Getenv("CLAUDERON_TEST_KUBECONFIG"), os.Getenv("CLAUDERON_TEST_K8S_IMAGE")
	if kc == "" || image == "" {
		b.Skip("CLAUDERON_TEST_KUBECONFIG and CLAUDERON_TEST_K8S_IMAGE are not set")
	}
	var rnd [4]byte
	rand.Read(rnd[:])
	ns := "clauderon-bench-" + hex.EncodeToString(rnd[:])
	be, err := New(Config{Kubeconfig: kc, Namespace: ns, ImagePullPolicy: corev1.PullNever})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	if _, err := be.cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		be.cs.CoreV1().Namespaces().Delete(context.Background(), ns, metav1.DeleteOptions{GracePeriodSeconds: ptr(int64(0))})
	})
	var id string
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		// Admission needs the namespace's default service account.
		if id, err = be.Create(ctx, testSpec("bench", image, "sleep", "infinity")); err == nil {
			break
		} else if time.Now().After(deadline) {
			b.Fatal(err)
		}
	}
	if err := be.Start(ctx, id); err != nil {
		b.Fatal(err)
	}

	src := b.TempDir()
	var total int64
	for i := range 2000 {
		p := filepath.Join(src, fmt.Sprintf("d%02d", i%40), fmt.Sprintf("f%04d.txt", i))
		body := strings.Repeat(fmt.Sprintf("line %d of a source file\n", i), 1+i%600)
		os.MkdirAll(filepath.Dir(p), 0o755)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			b.Fatal(err)
		}
		total += int64(len(body))
	}

	var push, pull, host time.Duration
	b.SetBytes(2 * total)
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		dir := fmt.Sprintf("/tmp/ws%d", i)
		t0 := time.Now()
		res, err := be.ExecWithInput(ctx, id, "", []string{"sh", "-c", `mkdir "$1" && exec tar -x -C "$1"`, "sh", dir}, func(w io.Writer) error {
			return workspace.WriteTar(ctx, src, w, workspace.TarOptions{})
		})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("push: %+v %v", res, err)
		}
		t1 := time.Now()
		dest := filepath.Join(b.TempDir(), "back")
		res, err = be.ExecWithOutput(ctx, id, "", []string{"tar", "-c", "--hard-dereference", "-C", dir, "."}, func(r io.Reader) error {
			_, err := workspace.ReadTar(ctx, r, dest, workspace.TarOptions{})
			return err
		})
		if err != nil || res.ExitCode != 0 {
			b.Fatalf("pull: %+v %v", res, err)
		}
		t2 := time.Now()
		push, pull = push+t1.Sub(t0), pull+t2.Sub(t1)

		b.StopTimer()
		be.Exec(ctx, id, "", []string{"rm", "-rf", dir}, nil, nil, nil)
		os.RemoveAll(dest)
		// The same out and back on the host alone, through a pipe.
		t3 := time.Now()
		pr, pw := io.Pipe()
		go func() { pw.CloseWithError(workspace.WriteTar(ctx, src, pw, workspace.TarOptions{})) }()
		hdest := filepath.Join(b.TempDir(), "host")
		if _, err := workspace.ReadTar(ctx, pr, hdest, workspace.TarOptions{}); err != nil {
			b.Fatal(err)
		}
		host += time.Since(t3)
		os.RemoveAll(hdest)
		b.StartTimer()
	}
	n := float64(b.N)
	mb := float64(total) / 1e6
	b.Logf("%.1f MB, 2000 files: push %.0f MB/s (%v), pull %.0f MB/s (%v); a host-only round trip takes %v, the pod's %.2fx that",
		mb, mb*n/push.Seconds(), (push / time.Duration(b.N)).Round(time.Millisecond),
		mb*n/pull.Seconds(), (pull / time.Duration(b.N)).Round(time.Millisecond),
		(host / time.Duration(b.N)).Round(time.Millisecond), (push+pull).Seconds()/host.Seconds())
}
