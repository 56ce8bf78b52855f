package session

import (
	"context"
	"fmt"
	"io"
	"os"
	"sync"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/workspace"
)

// A session on Kubernetes has its workspace in the cluster: the host's
// copy (made as on Docker) is sent into the pod's volume at start, and
// brought back, as the agent left it, over the host's copy before diff,
// land, apply and rm read it. What comes back is read by workspace.ReadTar,
// which trusts none of it, into a fresh directory, so nothing the agent
// wrote is merged into, run in or followed out of a tree on the host; the
// diff, land and apply that read it then are Docker's, built for a
// workspace the agent wrote.

// How long bringing a workspace back waits: for the pod's first bytes
// (harvestFirst), for each next ones (harvestIdle), and in all (harvestMax).
var (
	harvestFirst = 5 * time.Minute
	harvestIdle  = time.Minute
	harvestMax   = 15 * time.Minute
)

type readFunc func([]byte) (int, error)

func (f readFunc) Read(b []byte) (int, error) { return f(b) }

// wsLock is session name's workspace lock.
func (m *Manager) wsLock(name string) *sync.RWMutex {
	m.mu.Lock()
	defer m.mu.Unlock()
	l, ok := m.wsLocks[name]
	if !ok {
		l = &sync.RWMutex{}
		m.wsLocks[name] = l
	}
	return l
}

// maxObjectsBytes bounds the object store sent with a workspace: it is the
// user's repository's, already on disk, and may be large.
const maxObjectsBytes = 64 << 30

// kubeSeeds are the directories of r's pod that its workspace fills, and
// the host directories they come from.
func kubeSeeds(r record) ([]backend.Seed, []string) {
	w := r.Workspace
	if w == nil {
		return nil, nil
	}
	seeds, dirs := []backend.Seed{{Path: ContainerWorkdir}}, []string{w.Dir}
	if w.ObjectsDir != "" {
		seeds = append(seeds, backend.Seed{Path: workspace.ContainerObjects, ReadOnly: true})
		dirs = append(dirs, w.ObjectsDir)
	}
	return seeds, dirs
}

// startSeeded starts r's pod once its workspace is in it.
func (m *Manager) startSeeded(ctx context.Context, be backend.Backend, r record, id string, progress func(string)) error {
	_, dirs := kubeSeeds(r)
	sd, ok := be.(backend.Seeder)
	if r.Backend != api.BackendKubernetes || len(dirs) == 0 {
		return be.Start(ctx, id) // Docker mounts the workspace
	}
	if !ok {
		return fmt.Errorf("the %s backend cannot copy a workspace in", r.BackendName())
	}
	progress("copying the workspace into the pod")
	return sd.StartSeeded(ctx, id, func(i int, w io.Writer) error {
		o := workspace.TarOptions{MaxBytes: m.cfg.MaxCopyBytes}
		if i > 0 {
			o.MaxBytes = maxObjectsBytes
		}
		return workspace.WriteTar(ctx, dirs[i], w, o)
	})
}

// syncBack brings a Kubernetes session's workspace back over the host's
// copy; a Docker session's is the host's already.
func (m *Manager) syncBack(ctx context.Context, name string) error {
	m.mu.Lock()
	r, ok := m.sessions[name]
	if !ok || r.Backend != api.BackendKubernetes || r.Workspace == nil || r.ContainerID == "" {
		m.mu.Unlock()
		return nil
	}
	id, dir, be := r.ContainerID, r.Workspace.Dir, m.backendOf(r)
	m.mu.Unlock()
	sd, ok := be.(backend.Seeder)
	if !ok {
		return nil
	}
	l := m.wsLock(name)
	l.Lock()
	defer l.Unlock()
	fresh, old := dir+".incoming", dir+".previous"
	if err := os.RemoveAll(fresh); err != nil {
		return err
	}
	// The agent can stop, or slow to a trickle, what writes the stream (it
	// runs in its pod): a stream silent for harvestIdle once it began (or
	// for harvestFirst before: a pod may have to be scheduled to lend the
	// volume), or not done within harvestMax, is given up.
	// Read once: the timers' callbacks run after this returns.
	first, idle, maxDur := harvestFirst, harvestIdle, harvestMax
	hctx, cancel := context.WithTimeout(ctx, maxDur)
	defer cancel()
	pr, pw := io.Pipe()
	go func() { pw.CloseWithError(sd.Harvest(hctx, id, 0, pw)) }()
	stop := context.AfterFunc(hctx, func() {
		pw.CloseWithError(fmt.Errorf("bringing the workspace back took longer than %s: %w", maxDur, context.Cause(hctx)))
	})
	defer stop()
	stall := time.AfterFunc(first, func() {
		pw.CloseWithError(fmt.Errorf("the pod sent nothing for %s", first))
		cancel()
	})
	defer stall.Stop()
	_, err := workspace.ReadTar(hctx, readFunc(func(b []byte) (int, error) {
		n, err := pr.Read(b)
		if n > 0 {
			stall.Reset(idle)
		}
		return n, err
	}), fresh, workspace.TarOptions{MaxBytes: m.cfg.MaxCopyBytes})
	pr.CloseWithError(io.ErrClosedPipe)
	if err != nil {
		os.RemoveAll(fresh)
		return Errorf(ErrUnavailable, "cannot bring session %q's workspace back from the cluster: %v", name, err)
	}
	if err := os.RemoveAll(old); err != nil {
		return err
	}
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		os.RemoveAll(fresh)
		return fmt.Errorf("cannot replace the host's copy of the workspace: %w", err)
	}
	if err := os.Rename(fresh, dir); err != nil {
		os.Rename(old, dir)
		return fmt.Errorf("cannot replace the host's copy of the workspace: %w", err)
	}
	m.mu.Lock()
	delete(m.caches, name) // every file is new
	m.mu.Unlock()
	return os.RemoveAll(old)
}
