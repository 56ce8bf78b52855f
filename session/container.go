package session

import (
	"net"
	"net/url"
	"path"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"

	"github.com/clauderon/clauderon/backend"
	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/workspace"
)

// Paths inside the container.
const (
	ContainerWorkdir = "/workspace"
	ContainerBundle  = "/etc/clauderon/ca-bundle.pem"
	ContainerCA      = "/etc/clauderon/proxy-ca.pem"
	ProxyHost        = "host.docker.internal"
	// InternalMCPURL is clauderon's MCP server as a session that may
	// spawn children reaches it: through its proxy, which serves the name
	// itself (proxy.InternalHost), over plain http.
	InternalMCPURL = "http://" + proxy.InternalHost + "/mcp"
)

// Gateway gives each session's container its own way to the proxy (see
// package gateway); the daemon implements it.
type Gateway interface {
	// Open makes the proxy listen on session name's socket unless it
	// already does, and returns the host directory holding it, which the
	// container mounts at gateway.SocketDir.
	Open(name string) (dir string, err error)
	// Close stops listening for name for good and removes its directory.
	Close(name string)
	// Binary is the host path of the clauderon binary that containers
	// mount read-only and run as their gateway.
	Binary() string
}

// ContainerConfig is what every session container is given by the daemon.
type ContainerConfig struct {
	// Gateway, when set, makes new sessions' containers networkless, with
	// their gateway as the only way out; nil: they reach the proxy over the
	// bridge network at ProxyPort (Docker Desktop).
	Gateway Gateway
	// Bridge puts new sessions on the bridge network even with a Gateway,
	// which then serves only the sessions made with one.
	Bridge     bool
	ProxyPort  int    // the proxy's port on the host
	CAFile     string // host path of the proxy CA (PEM)
	BundleFile string // host path of system roots + the proxy CA (PEM)
	// Limits are a session's when it asks for none; DefaultLimits' fields
	// fill in the zero ones.
	Limits Limits
}

// DefaultLimits bound a session's container unless config.json or create
// says otherwise: enough for Claude Code, git and a build, not the host.
func DefaultLimits() Limits {
	return Limits{CPUs: float64(runtime.NumCPU()), MemoryBytes: 4 << 30, Pids: 2048}
}

// limitsFor fills the limits a session asked for with the defaults.
func (c ContainerConfig) limitsFor(o Options) Limits {
	l, d := c.Limits, DefaultLimits()
	if l.CPUs == 0 {
		l.CPUs = d.CPUs
	}
	if l.MemoryBytes == 0 {
		l.MemoryBytes = d.MemoryBytes
	}
	if l.Pids == 0 {
		l.Pids = d.Pids
	}
	if o.CPUs != 0 {
		l.CPUs = o.CPUs
	}
	if o.MemoryBytes != 0 {
		l.MemoryBytes = o.MemoryBytes
	}
	return l
}

// ProxyURL is the HTTPS_PROXY a session's container uses.
func ProxyURL(name string, s Secret, port int) string {
	u := url.URL{Scheme: "http", User: url.UserPassword(name, s.Reveal()), Host: net.JoinHostPort(ProxyHost, strconv.Itoa(port))}
	return u.String()
}

// ClaudeArgv is the command line of a session's container; the prompt is one
// argument after "--", so nothing is parsed by a shell or as a flag.
func ClaudeArgv(mode Mode, prompt string) []string {
	argv := []string{"claude", "--dangerously-skip-permissions"}
	if mode == ModePrint {
		argv = append(argv, "--print", "--verbose", "--output-format", "stream-json")
	}
	if prompt != "" {
		argv = append(argv, "--", prompt)
	}
	return argv
}

// claudeSessionRE is what a Claude Code session ID looks like (a UUID, or
// so): it comes from the container's output, so anything else (a flag, a
// huge string) is not passed on, and --continue is used instead.
var claudeSessionRE = regexp.MustCompile(`^[0-9A-Za-z][0-9A-Za-z_-]{0,127}$`)

// ResumeArgv is the command line of a further turn of a print session:
// Claude Code resumes the conversation claudeSession (its last turn's
// session_id), or the latest one in its directory when that is unknown.
func ResumeArgv(prompt, claudeSession string) []string {
	argv := ClaudeArgv(ModePrint, "")
	if claudeSessionRE.MatchString(claudeSession) {
		argv = append(argv, "--resume", claudeSession)
	} else {
		argv = append(argv, "--continue")
	}
	return append(argv, "--", prompt)
}

// ContainerEnv is the environment shared by session and doctor containers.
func ContainerEnv(proxyURL string) []string {
	return append(proxy.ClientEnv(proxyURL, ContainerCA, ContainerBundle),
		"CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC=1",
		"DISABLE_AUTOUPDATER=1",
	)
}

// CAMounts mounts the proxy CA and the trust bundle read-only.
func (c ContainerConfig) CAMounts() []backend.Mount {
	return []backend.Mount{
		{Source: c.BundleFile, Target: ContainerBundle, ReadOnly: true},
		{Source: c.CAFile, Target: ContainerCA, ReadOnly: true},
	}
}

func (c ContainerConfig) spec(r record, sec Secret, homeID, claudeJSON, sockDir string) backend.Spec {
	proxyURL := ProxyURL(r.Name, sec, c.ProxyPort)
	if r.Gateway {
		proxyURL = GatewayProxyURL(r.Name, sec)
	}
	env := ContainerEnv(proxyURL)
	env = append(env, r.User.Env()...)
	if r.Mode == ModeInteractive {
		env = append(env, "TERM=xterm-256color")
	}
	if r.Spawn > 0 {
		// clauderon's tools in every request, not deferred behind Claude
		// Code's tool search: a session started to spawn should see them.
		env = append(env, "ENABLE_TOOL_SEARCH=false")
	}
	mounts := append(c.CAMounts(), backend.Mount{Source: claudeJSON, Target: r.User.ClaudeCfg()})
	if w := r.Workspace; w != nil {
		mounts = append(mounts, backend.Mount{Source: w.Dir, Target: ContainerWorkdir})
		if w.ObjectsDir != "" {
			mounts = append(mounts, backend.Mount{Source: w.ObjectsDir, Target: workspace.ContainerObjects, ReadOnly: true})
		}
	}
	for _, m := range r.Mounts {
		mounts = append(mounts, backend.Mount{Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	spec := backend.Spec{
		Name:       ContainerName(r.Name),
		Image:      r.Image,
		Cmd:        ClaudeArgv(r.Mode, r.Prompt),
		Env:        env,
		Labels:     labelsFor(r, homeID),
		Mounts:     mounts,
		User:       r.User.SpecUser(),
		Dirs:       UserDirs(r.User),
		WorkingDir: r.containerWorkdir(),
		TTY:        r.Mode == ModeInteractive,
		OpenStdin:  r.Mode == ModeInteractive,
		ExtraHosts: []string{ProxyHost + ":host-gateway"},
		Hardened:   true,
		Limits: backend.Limits{
			MemoryBytes: r.Limits.MemoryBytes,
			NanoCPUs:    int64(r.Limits.CPUs * 1e9),
			Pids:        r.Limits.Pids,
		},
	}
	if r.Gateway {
		c.WithGateway(&spec, sockDir)
		spec.Mounts = append(spec.Mounts, hookSettingsMount(filepath.Dir(claudeJSON)))
	}
	return spec
}

// WithGateway gives a container no network but its loopback, where the
// gateway it runs first listens and carries connections to the proxy's
// socket in sockDir (package gateway).
func (c ContainerConfig) WithGateway(spec *backend.Spec, sockDir string) {
	spec.Network = "none"
	spec.ExtraHosts = nil
	spec.Entrypoint = []string{gateway.Binary, "gateway", "--"}
	spec.Mounts = append(spec.Mounts,
		backend.Mount{Source: c.Gateway.Binary(), Target: gateway.Binary, ReadOnly: true},
		backend.Mount{Source: sockDir, Target: gateway.SocketDir, ReadOnly: true},
	)
}

// GatewayProxyURL is the HTTPS_PROXY of a container whose way out is its
// gateway.
func GatewayProxyURL(name string, s Secret) string {
	u := url.URL{Scheme: "http", User: url.UserPassword(name, s.Reveal()), Host: gateway.ListenAddr}
	return u.String()
}

// containerWorkdir is where Claude Code starts: the workdir's place in the
// workspace (a subdirectory when the workdir was inside a repository).
func (r *record) containerWorkdir() string {
	if w := r.Workspace; w != nil && w.Subdir != "" {
		return path.Join(ContainerWorkdir, filepath.ToSlash(w.Subdir))
	}
	return ContainerWorkdir
}
