package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"syscall"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/proxy"
	"github.com/clauderon/clauderon/secret"
)

const execHelp = `Runs CMD on this host behind an in-process proxy that injects your real
Anthropic credential, so CMD itself only ever sees a placeholder.

CMD gets HTTPS_PROXY/HTTP_PROXY with a fresh per-run credential, NO_PROXY for
loopback, CLAUDE_CODE_OAUTH_TOKEN set to a placeholder, ANTHROPIC_API_KEY
removed, NODE_EXTRA_CA_CERTS pointing at clauderon's CA, and SSL_CERT_FILE,
CURL_CA_BUNDLE, REQUESTS_CA_BUNDLE and GIT_SSL_CAINFO pointing at a bundle of
the system roots plus that CA. Stdin, stdout, stderr, signals and the exit
code pass through. Requests are recorded in the audit log under the run's
session name (exec-…).

Example:
  clauderon exec -- claude --print "hello"`

func newExecCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "exec -- CMD [ARGS...]",
		Short: "Run a host command behind the credential-injecting proxy",
		Long:  execHelp,
		// Everything after exec belongs to CMD, flags included.
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
				return cmd.Help()
			}
			if len(args) > 0 && args[0] == "--" {
				args = args[1:]
			}
			if len(args) == 0 {
				return errors.New("exec needs a command: clauderon exec -- CMD [ARGS...]")
			}
			return runExec(cmd.Context(), args)
		},
	}
}

func runExec(ctx context.Context, args []string) error {
	// This process only proxies one command's API calls: one P is ample
	// (one core moves ~500 MB/s of intercepted TLS), and it spares every
	// request the hand-offs between OS threads and the spinning of idle
	// ones. On two cores, measured side by side (make bench): ~15% less
	// proxy CPU per request, 0.01-0.09 ms less added latency, 0.08-0.13 ms
	// less to the first SSE event, the same 50 MB throughput. The runtime's
	// setting only: the command's environment is not touched.
	if os.Getenv("GOMAXPROCS") == "" {
		runtime.GOMAXPROCS(1)
	}
	// The real token may be in this process's environment, and is in its
	// memory: keep the command (same user) from reading either through /proc.
	if err := secret.HideProcess(); err != nil {
		return fmt.Errorf("cannot hide this process's memory from the command: %w", err)
	}
	path, err := exec.LookPath(args[0])
	if err != nil {
		// The shell's codes: 127 not found, 126 found but not executable.
		code := 127
		if errors.Is(err, fs.ErrPermission) {
			code = 126
		}
		return codedError{code, fmt.Errorf("cannot run %q: %w", args[0], err)}
	}
	home, err := config.Home()
	if err != nil {
		return err
	}
	cfg, err := config.Load(home)
	if err != nil {
		return err
	}
	ca, err := proxy.LoadOrCreateCA(home)
	if err != nil {
		return err
	}
	bundle := filepath.Join(home, proxy.TrustBundleFile)
	if err := ca.WriteTrustBundle(bundle); err != nil {
		return err
	}
	rules, err := proxy.DefaultRules().WithUpstreams(cfg.Proxy.Upstreams)
	if err != nil {
		return err
	}
	creds := credentialSource()
	if err := checkCredentials(ctx, creds, rules); err != nil {
		return fmt.Errorf("%s was not started: %w", args[0], err)
	}
	audit, err := proxy.OpenAudit(filepath.Join(home, proxy.AuditFile), cfg.Proxy.AuditMaxBytes)
	if err != nil {
		return err
	}
	defer audit.Close()
	logFile, err := os.OpenFile(filepath.Join(home, "exec.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	defer logFile.Close()

	id, err := proxy.NewSecret()
	if err != nil {
		return err
	}
	pass, err := proxy.NewSecret()
	if err != nil {
		return err
	}
	name := "exec-" + id[:8]
	auth := proxy.NewSessions()
	if err := auth.Set(name, pass); err != nil {
		return err
	}
	p, err := proxy.New(proxy.Config{
		CA:          ca,
		Rules:       rules,
		Auth:        auth,
		Credentials: creds,
		Audit:       audit,
		Logger:      slog.New(slog.NewTextHandler(logFile, nil)),
		// The child already runs on this host: refusing it the host's own
		// addresses would protect nothing and break names like 127.0.1.1.
		AllowDial: proxy.AllowAllDials,
	})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	pctx, stopProxy := context.WithCancel(context.WithoutCancel(ctx))
	served := make(chan error, 1)
	go func() { served <- p.Serve(pctx, ln) }()
	defer func() { stopProxy(); <-served }()

	proxyURL := (&url.URL{Scheme: "http", User: url.UserPassword(name, pass), Host: ln.Addr().String()}).String()
	child := exec.Command(path, args[1:]...)
	child.Args[0] = args[0]
	child.Env = execEnv(os.Environ(), proxyURL, ca.CertPath(), bundle)
	child.Stdin, child.Stdout, child.Stderr = os.Stdin, os.Stdout, os.Stderr
	stopSignals, err := startForwardingSignals(child)
	if err != nil {
		return fmt.Errorf("cannot start %s: %w", args[0], err)
	}
	err = child.Wait()
	stopSignals()
	return exitCode(err)
}

// credentialSource is where exec finds the real token: its own environment,
// then the keychain.
func credentialSource() secret.Source {
	return secret.NewStoreFor(keyringService(), secret.HolderExec)
}

// checkCredentials asks creds for every credential the rules inject, before
// CMD starts: without one, the proxy could only answer each request with an
// error, which a client like Claude Code retries for minutes, silently.
func checkCredentials(ctx context.Context, creds secret.Source, rules proxy.Rules) error {
	seen := map[string]bool{}
	for _, r := range rules {
		if seen[r.Credential] {
			continue
		}
		seen[r.Credential] = true
		if _, _, err := creds.Get(ctx, r.Credential); err != nil {
			return fmt.Errorf("%s needs it: %w", r.Host, err)
		}
	}
	return nil
}

// startForwardingSignals starts the child and passes signals sent to
// clauderon on to it. They are caught before the child starts, so one that
// arrives meanwhile is passed on instead of ending clauderon and leaving the
// child without its proxy. Keys typed at a terminal (ctrl-c, ctrl-\)
// already reach the whole foreground process group, so those are not sent
// twice.
func startForwardingSignals(child *exec.Cmd) (stop func(), err error) {
	sigs := []os.Signal{syscall.SIGTERM, syscall.SIGHUP, syscall.SIGUSR1, syscall.SIGUSR2, syscall.SIGWINCH}
	interactive := term.IsTerminal(int(os.Stdin.Fd()))
	ch := make(chan os.Signal, 8)
	signal.Notify(ch, append(sigs, os.Interrupt, syscall.SIGQUIT)...)
	if err := child.Start(); err != nil {
		signal.Stop(ch)
		return nil, err
	}
	p := child.Process
	done := make(chan struct{})
	go func() {
		for {
			select {
			case s := <-ch:
				if interactive && (s == os.Interrupt || s == syscall.SIGQUIT) {
					continue
				}
				_ = p.Signal(s)
			case <-done:
				return
			}
		}
	}()
	return func() { signal.Stop(ch); close(done) }, nil
}

// exitCode turns the child's end into ours: its exit status, or 128+signal.
func exitCode(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) {
		return err
	}
	if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return exitError{code: 128 + int(ws.Signal())}
	}
	return exitError{code: ee.ExitCode()}
}
