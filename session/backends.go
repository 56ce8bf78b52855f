package session

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

// LabelBackend names the backend a session runs on, so a session rebuilt
// from its container's labels is looked for where it is.
const LabelBackend = "dev.clauderon.backend"

// KubeConfig is what sessions on a Kubernetes cluster need beyond the
// Backend: their pods reach the proxy through the cluster's gateway.
type KubeConfig struct {
	Backend backend.Backend
	// ProxyAddr is host:port of the cluster's gateway Service, which the
	// pods' HTTPS_PROXY names.
	ProxyAddr func(ctx context.Context) (string, error)
	// Limits are a pod's unless create names its own; a zero field is the
	// Container config's.
	Limits Limits
}

// backendOf is what runs r's container.
func (m *Manager) backendOf(r *record) backend.Backend {
	if r.Backend == api.BackendKubernetes && m.cfg.Kubernetes != nil {
		return m.cfg.Kubernetes.Backend
	}
	return m.cfg.Backend
}

// beOf is backendOf for a session's view.
func (m *Manager) beOf(s Session) backend.Backend {
	return m.backendOf(&record{Session: s})
}

// chooseBackend resolves a create's backend name.
func (m *Manager) chooseBackend(name string) (string, backend.Backend, error) {
	if name == "" {
		name = m.cfg.DefaultBackend
	}
	switch name {
	case "", api.BackendDocker:
		return "", m.cfg.Backend, nil
	case api.BackendKubernetes:
		if m.cfg.Kubernetes == nil {
			return "", nil, Errorf(ErrInvalid, "the Kubernetes backend is not configured; add a kubernetes section to config.json (see the README's Kubernetes section) and run `clauderon k8s setup --apply`")
		}
		return api.BackendKubernetes, m.cfg.Kubernetes.Backend, nil
	}
	return "", nil, Errorf(ErrInvalid, "unknown backend %q: want docker or kubernetes", name)
}

// engines are the backends this manager follows, by name.
func (m *Manager) engines() map[string]backend.Backend {
	out := map[string]backend.Backend{"": m.cfg.Backend}
	if m.cfg.Kubernetes != nil {
		out[api.BackendKubernetes] = m.cfg.Kubernetes.Backend
	}
	return out
}

// reach remembers which backends could not be reached at their last
// reconcile, so their live sessions read as unknown, not as failed.
type reach struct {
	mu  sync.Mutex
	err map[string]string // backend name → why it cannot be reached
}

func (r *reach) set(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.err == nil {
		r.err = map[string]string{}
	}
	if err == nil {
		delete(r.err, name)
	} else {
		r.err[name] = err.Error()
	}
}

func (r *reach) get(name string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.err[name]
}

// Unreachable lists the backends the manager cannot reach, with why.
func (m *Manager) Unreachable() map[string]string {
	m.reach.mu.Lock()
	defer m.reach.mu.Unlock()
	out := make(map[string]string, len(m.reach.err))
	for k, v := range m.reach.err {
		out[k] = v
	}
	return out
}

// backendNames is engines' names in order, docker ("") first.
func backendNames(es map[string]backend.Backend) []string {
	names := make([]string, 0, len(es))
	for n := range es {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// kubeSpec is the pod of a session on Kubernetes: no host path is
// mounted, so the CA, the settings and the claude.json are Files; its
// HTTPS_PROXY names the cluster's gateway, with the session's own
// credential, as the Docker gateway's does.
func (c ContainerConfig) kubeSpec(r record, sec Secret, homeID, proxyAddr string, ca, bundle []byte) backend.Spec {
	proxyURL := (&url.URL{Scheme: "http", User: url.UserPassword(r.Name, sec.Reveal()), Host: proxyAddr}).String()
	env := ContainerEnv(proxyURL)
	env = append(env, r.User.Env()...)
	if r.Mode == ModeInteractive {
		env = append(env, "TERM=xterm-256color")
	}
	if r.Spawn > 0 {
		env = append(env, "ENABLE_TOOL_SEARCH=false")
	}
	seeds, _ := kubeSeeds(r)
	dirs := UserDirs(r.User)
	if len(seeds) == 0 {
		dirs = append(dirs, backend.Dir{Path: ContainerWorkdir, UID: r.User.UID, GID: r.User.GID, Mode: 0o755})
	}
	return backend.Spec{
		Seeds: seeds,
		Name:  ContainerName(r.Name),
		Image: r.Image,
		// The whole command, so an image's ENTRYPOINT never runs in front
		// of it, as on Docker, where the gateway replaces it.
		Entrypoint: ClaudeArgv(r.Mode, r.Prompt),
		Env:        env,
		Labels:     labelsFor(r, homeID),
		Files: []backend.File{
			{Path: ContainerCA, Data: ca},
			{Path: ContainerBundle, Data: bundle},
			{Path: ContainerHookFile, Data: hookSettings()},
			{Path: r.User.ClaudeCfg(), Data: claudeJSON(r.containerWorkdir(), r.Spawn > 0), Writable: true},
		},
		User:       r.User.SpecUser(),
		Dirs:       dirs,
		WorkingDir: r.containerWorkdir(),
		TTY:        r.Mode == ModeInteractive,
		OpenStdin:  r.Mode == ModeInteractive,
		Hardened:   true,
		Limits: backend.Limits{
			MemoryBytes: r.Limits.MemoryBytes,
			NanoCPUs:    int64(r.Limits.CPUs * 1e9),
		},
	}
}

// kubeSpecFor reads the CA and trust bundle the pod is given.
func (c ContainerConfig) kubeSpecFor(r record, sec Secret, homeID, proxyAddr string) (backend.Spec, error) {
	ca, err := os.ReadFile(c.CAFile)
	if err != nil {
		return backend.Spec{}, fmt.Errorf("cannot read the proxy CA: %w", err)
	}
	bundle, err := os.ReadFile(c.BundleFile)
	if err != nil {
		return backend.Spec{}, fmt.Errorf("cannot read the trust bundle: %w", err)
	}
	return c.kubeSpec(r, sec, homeID, proxyAddr, ca, bundle), nil
}

// kubeRefuses says what a session on Kubernetes cannot have: the daemon's
// host paths do not exist in the cluster.
func kubeRefuses(o Options) error {
	switch {
	case len(o.Mounts) > 0:
		return Errorf(ErrInvalid, "--mount binds host paths, which a pod on Kubernetes cannot reach; drop --mount, or use --backend docker")
	}
	return nil
}

// LabelSig is an HMAC of a cluster session's other labels by this home's
// key: anyone who may create pods in the namespace can copy a session's
// labels, and a pod whose labels this home did not sign is never adopted
// as a session (it would choose its workspace's land target, its egress
// and its spawn rights).
const LabelSig = "dev.clauderon.sig"

// signLabels is LabelSig's value for pod's labels: bound to the pod's
// name, so one pod's signed labels do not vouch for another.
func signLabels(key []byte, pod string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != LabelSig {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "clauderon pod labels\x00%d:%s\n", len(pod), pod)
	for _, k := range keys {
		fmt.Fprintf(mac, "%d:%s=%d:%s\n", len(k), k, len(labels[k]), labels[k])
	}
	return hex.EncodeToString(mac.Sum(nil))
}

// signedLabels reports whether a cluster container's labels carry this
// home's LabelSig for its name, which must be its session's pod name.
func signedLabels(key []byte, c backend.Container) bool {
	if c.Name != ContainerName(c.Labels[LabelSession]) {
		return false
	}
	return hmac.Equal([]byte(c.Labels[LabelSig]), []byte(signLabels(key, c.Name, c.Labels)))
}

// removedFile lists the credential nonces of cluster sessions that were
// removed: a pod carrying one of them (its labels copied before the rm)
// is never rebuilt into the session, which would bring its credential back.
const removedFile = "removed-nonces"

// maxRemoved bounds removedFile's nonces (the newest are kept).
const maxRemoved = 10000

func (m *Manager) removedNonces() map[string]bool {
	b, _ := os.ReadFile(filepath.Join(m.cfg.Home, removedFile))
	out := map[string]bool{}
	for _, l := range strings.Split(string(b), "\n") {
		if l != "" {
			out[l] = true
		}
	}
	return out
}

// tombstone records that the cluster session with nonce was removed.
func (m *Manager) tombstone(nonce string) error {
	m.tombMu.Lock()
	defer m.tombMu.Unlock()
	p := filepath.Join(m.cfg.Home, removedFile)
	b, _ := os.ReadFile(p)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) >= maxRemoved {
		lines = lines[len(lines)-maxRemoved+1:]
	}
	lines = append(lines, nonce)
	return atomicfile.Write(p, []byte(strings.TrimSpace(strings.Join(lines, "\n"))+"\n"), 0o600)
}
