package docker_test

import (
	"context"
	"os/exec"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/backend/docker"
	"github.com/clauderon/clauderon/internal/testimage"
)

// BenchmarkCreateStart is a container's create and start through the
// backend; BenchmarkDockerRun the same through `docker run -d`, the baseline
// session creation is compared with. Both remove the container untimed.
func BenchmarkCreateStart(b *testing.B) {
	be, err := docker.New()
	if err != nil {
		b.Fatal(err)
	}
	defer be.Close()
	ctx := context.Background()
	image := testimage.Ensure(b)
	for b.Loop() {
		id, err := be.Create(ctx, backend.Spec{Image: image, Cmd: []string{"sleep", "60"}, Labels: map[string]string{"clauderon.bench": "1"}})
		if err != nil {
			b.Fatal(err)
		}
		if err := be.Start(ctx, id); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		be.Remove(ctx, id, true)
		b.StartTimer()
	}
}

func BenchmarkDockerRun(b *testing.B) {
	image := testimage.Ensure(b)
	if _, err := exec.LookPath("docker"); err != nil {
		b.Skip("no docker CLI")
	}
	for b.Loop() {
		out, err := exec.Command("docker", "run", "-d", "--label", "clauderon.bench=1", image, "sleep", "60").Output()
		if err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		exec.Command("docker", "rm", "-f", strings.TrimSpace(string(out))).Run()
		b.StartTimer()
	}
}
