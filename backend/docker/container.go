package docker

import (
	"context"
	"fmt"
	"strings"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/mount"

	"github.com/clauderon/clauderon/backend"
)

// LogMaxSize bounds each of a container's two log files.
const LogMaxSize = "20m"

// Create creates (but does not start) the container spec describes. Mounts are
// bind mounts whose sources must exist: the engine does not create them.
func (b *Backend) Create(ctx context.Context, spec backend.Spec) (string, error) {
	cfg := &container.Config{
		Image:        spec.Image,
		Cmd:          spec.Cmd,
		Entrypoint:   spec.Entrypoint,
		Env:          spec.Env,
		Labels:       spec.Labels,
		User:         spec.User,
		WorkingDir:   spec.WorkingDir,
		Tty:          spec.TTY,
		OpenStdin:    spec.OpenStdin,
		AttachStdin:  spec.OpenStdin,
		AttachStdout: true,
		AttachStderr: true,
		// Stdin stays open across attaches: a client detaching must not end the session.
		StdinOnce: false,
	}
	host := &container.HostConfig{ExtraHosts: spec.ExtraHosts, NetworkMode: container.NetworkMode(spec.Network),
		// The container decides how much it prints; the engine keeps it on
		// the host's disk. Two files of LogMaxSize at most: a result is at
		// the end, and what a person reads is the tail.
		LogConfig: container.LogConfig{Type: "json-file", Config: map[string]string{"max-size": LogMaxSize, "max-file": "2"}}}
	if spec.Hardened {
		init := true
		host.CapDrop = []string{"ALL"}
		host.SecurityOpt = []string{"no-new-privileges:true"}
		host.Init = &init
	}
	if l := spec.Limits; l.MemoryBytes > 0 || l.NanoCPUs > 0 || l.Pids > 0 {
		host.Resources = container.Resources{Memory: l.MemoryBytes, NanoCPUs: l.NanoCPUs}
		if l.Pids > 0 {
			pids := l.Pids
			host.Resources.PidsLimit = &pids
		}
	}
	for _, m := range spec.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{
			Type:     mount.TypeBind,
			Source:   m.Source,
			Target:   m.Target,
			ReadOnly: m.ReadOnly,
		})
	}
	resp, err := b.cli.ContainerCreate(ctx, cfg, host, nil, nil, spec.Name)
	switch {
	case err == nil:
		return b.makeDirs(ctx, resp.ID, spec.Dirs)
	case unreachable(err):
		return "", b.wrap(err, "create")
	case cerrdefs.IsConflict(err):
		return "", fmt.Errorf("create %s: %w", spec.Name, backend.ErrConflict)
	case cerrdefs.IsNotFound(err):
		return "", fmt.Errorf("create %s: %w: %s", spec.Name, backend.ErrImageNotFound, spec.Image)
	}
	return "", b.wrap(err, "create "+spec.Name)
}

// Start starts a created or stopped container.
func (b *Backend) Start(ctx context.Context, id string) error {
	return b.wrapContainer(b.cli.ContainerStart(ctx, id, container.StartOptions{}), "start", id)
}

// Stop sends SIGTERM, then SIGKILL after timeout. Stopping a stopped container is not an error.
func (b *Backend) Stop(ctx context.Context, id string, timeout time.Duration) error {
	secs := int(timeout.Round(time.Second) / time.Second)
	return b.wrapContainer(b.cli.ContainerStop(ctx, id, container.StopOptions{Timeout: &secs}), "stop", id)
}

// Remove deletes the container and its anonymous volumes; force kills it first if it runs.
func (b *Backend) Remove(ctx context.Context, id string, force bool) error {
	err := b.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: force, RemoveVolumes: true})
	return b.wrapContainer(err, "remove", id)
}

// Inspect reports the container's state.
func (b *Backend) Inspect(ctx context.Context, id string) (backend.Container, error) {
	info, err := b.cli.ContainerInspect(ctx, id)
	if err != nil {
		return backend.Container{}, b.wrapContainer(err, "inspect", id)
	}
	c := backend.Container{ID: info.ID, Name: strings.TrimPrefix(info.Name, "/")}
	if info.Config != nil {
		c.Image = info.Config.Image
		c.Labels = info.Config.Labels
	}
	if s := info.State; s != nil {
		c.Status = string(s.Status)
		c.ExitCode = s.ExitCode
		c.Error = s.Error
		c.StartedAt = parseTime(s.StartedAt)
		c.FinishedAt = parseTime(s.FinishedAt)
	}
	return c, nil
}

// List returns every container (running or not) carrying all of labels. The
// engine's list does not report start and finish times: Inspect has them.
func (b *Backend) List(ctx context.Context, labels map[string]string) ([]backend.Container, error) {
	list, err := b.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: labelFilters(labels)})
	if err != nil {
		return nil, b.wrap(err, "list containers")
	}
	out := make([]backend.Container, 0, len(list))
	for _, s := range list {
		c := backend.Container{
			ID:     s.ID,
			Image:  s.Image,
			Status: string(s.State),
			Labels: s.Labels,
		}
		if len(s.Names) > 0 {
			c.Name = strings.TrimPrefix(s.Names[0], "/")
		}
		out = append(out, c)
	}
	return out, nil
}

func labelFilters(labels map[string]string) filters.Args {
	f := filters.NewArgs()
	for k, v := range labels {
		f.Add("label", k+"="+v)
	}
	return f
}

func parseTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil || t.Year() <= 1 {
		return time.Time{}
	}
	return t
}
