// Package backend defines how sessions' containers are run; backend/docker
// implements it on a Docker engine.
package backend

import (
	"context"
	"errors"
	"io"
	"io/fs"
	"time"
)

// Errors a Backend wraps so callers can tell them apart.
var (
	ErrNotFound          = errors.New("container not found")
	ErrImageNotFound     = errors.New("image not found")
	ErrEngineUnreachable = errors.New("container engine unreachable")
	ErrConflict          = errors.New("container name already in use")
	// ErrImageUser: the image's USER cannot be resolved (it names a user or
	// group its /etc/passwd or /etc/group lacks, or is malformed).
	ErrImageUser = errors.New("image user unusable")
)

// Mount binds a host path into the container.
type Mount struct {
	Source   string
	Target   string
	ReadOnly bool
}

// Spec describes a container to create. Cmd is argv: nothing goes through a shell.
type Spec struct {
	Name  string // container name, clauderon-<session>
	Image string
	Cmd   []string
	// Entrypoint replaces the image's when set.
	Entrypoint []string
	// Network is the container's network mode: "none" for no network but
	// loopback; the engine's default bridge when empty.
	Network    string
	Env        []string // KEY=VALUE
	Labels     map[string]string
	Mounts     []Mount
	User       string
	WorkingDir string
	TTY        bool
	OpenStdin  bool
	ExtraHosts []string // host:ip, e.g. host.docker.internal:host-gateway
	// Hardened drops every capability, sets no-new-privileges and runs an
	// init process as PID 1 (which reaps what the agent leaves behind).
	Hardened bool
	Limits   Limits
	// Dirs are made in the container's own filesystem when it is created,
	// before anything runs in it: a home for a user the image gives none.
	Dirs []Dir
	// Files are small files (certificates, settings) given to the
	// container where it cannot bind-mount the daemon's (a cluster): on
	// Docker use Mounts.
	Files []File
	// Seeds are directories (the workspace) a Seeder fills before the
	// command runs, where Mounts cannot reach (a cluster).
	Seeds []Seed
}

// Seed is a directory of a container that a Seeder fills from a tar
// stream at start and brings back (Harvest) as one.
type Seed struct {
	Path     string // absolute container path
	ReadOnly bool   // the container may not write it
}

// Seeder is a Backend whose containers' Seeds are copied in, not mounted.
type Seeder interface {
	// StartSeeded is Start for a container whose Spec had Seeds: before
	// its command runs, fill writes seed i's tar stream to w. A container
	// started again whose seeds were filled once does not ask again.
	StartSeeded(ctx context.Context, id string, fill func(i int, w io.Writer) error) error
	// Harvest writes seed i of container id as a tar stream to w, whether
	// the container runs or has ended. What it writes is the container's:
	// read it as hostile (workspace.ReadTar).
	Harvest(ctx context.Context, id string, i int, w io.Writer) error
}

// File is a file a Backend puts in a container before it starts.
type File struct {
	Path string // absolute container path
	Data []byte
	// Writable files are copied into place, which must be in one of the
	// Spec's Dirs; the others are mounted read-only.
	Writable bool
}

// Dir is a directory Create makes in a container.
type Dir struct {
	Path     string // absolute container path; missing parents are made 0755, owned by root
	UID, GID int
	Mode     fs.FileMode // permission bits
}

// ImageUser is who an image's containers run as unless told otherwise: its
// USER, resolved in its own /etc/passwd and /etc/group.
type ImageUser struct {
	Config string // the image's USER as written; "" when it names none (root)
	Name   string // the passwd name; "" when the user has no entry
	UID    int
	GID    int    // the group USER names, else the passwd entry's, else 0 (as the engine does)
	Home   string // the passwd home; "" when none, or not a clean absolute path
	// HomeWritable: Home is a directory in the image that UID or GID may write.
	HomeWritable bool
}

// Limits bound what a container may use; a zero field sets no bound.
type Limits struct {
	MemoryBytes int64 // memory (and, as the engine does by default, as much swap again)
	NanoCPUs    int64 // CPU time, in billionths of a CPU
	Pids        int64 // processes and threads
}

// Image is one of the engine's local images, under one of its tags.
type Image struct {
	Ref     string
	ID      string
	Created time.Time
	Size    int64
}

// Container is what the engine reports about one container.
type Container struct {
	ID         string
	Name       string
	Image      string
	Status     string // created, running, exited, dead, …
	ExitCode   int    // from Inspect only
	Error      string
	Labels     map[string]string
	StartedAt  time.Time
	FinishedAt time.Time
}

// Event is a container lifecycle event (start, die, destroy, …).
type Event struct {
	ID     string
	Action string
	Labels map[string]string
}

// Stream is an attached container's TTY: read its output, write its input.
type Stream interface {
	io.ReadWriteCloser
	CloseWrite() error
}

// Backend runs containers.
type Backend interface {
	Ping(ctx context.Context) error
	ImageExists(ctx context.Context, ref string) (bool, error)
	Create(ctx context.Context, spec Spec) (id string, err error)
	Start(ctx context.Context, id string) error
	Stop(ctx context.Context, id string, timeout time.Duration) error
	Remove(ctx context.Context, id string, force bool) error
	Inspect(ctx context.Context, id string) (Container, error)
	// List returns the containers carrying every label in labels.
	List(ctx context.Context, labels map[string]string) ([]Container, error)
	// Events streams lifecycle events of containers carrying labels until ctx ends.
	Events(ctx context.Context, labels map[string]string) (<-chan Event, <-chan error)
	// Logs returns the container's output; with follow, until it exits or ctx ends.
	Logs(ctx context.Context, id string, follow bool) (io.ReadCloser, error)
	// LogsSince returns the output written since since (by the engine's
	// clock): a container started again has its earlier runs' output too.
	LogsSince(ctx context.Context, id string, since time.Time) (io.ReadCloser, error)
	Attach(ctx context.Context, id string) (Stream, error)
	Resize(ctx context.Context, id string, rows, cols uint) error
	// Gateway is the address containers reach the host on (the bridge
	// network's gateway), or "" where loopback suffices (Docker Desktop).
	Gateway(ctx context.Context) (string, error)
	// BuildImage builds the Dockerfile at dockerfile (relative to contextDir,
	// "" for "Dockerfile") and tags it tag, sending output lines to progress.
	BuildImage(ctx context.Context, contextDir, dockerfile, tag string, progress func(line string)) error
	// PullImage pulls ref, sending status lines to progress.
	PullImage(ctx context.Context, ref string, progress func(line string)) error
	// ImageUser reads who the image ref runs as from its config and its
	// /etc/passwd, without running anything of it; ErrImageNotFound when
	// the engine lacks it, ErrImageUser when its USER cannot be resolved.
	ImageUser(ctx context.Context, ref string) (ImageUser, error)
}
