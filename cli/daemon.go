package cli

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/secret"
)

type daemonFlags struct {
	proxyPort    int
	proxyPortSet bool // --proxy-port was given
	logLevel     string
	logJSON      bool
}

func newDaemonCmd() *cobra.Command {
	var f daemonFlags
	cmd := &cobra.Command{
		Use:   "daemon",
		Short: "Run the clauderon daemon in the foreground (proxy + sessions + LocalAPI)",
		Long: `Runs the daemon that owns every session: the credential-injecting proxy,
the session manager and the LocalAPI on $CLAUDERON_HOME/clauderon.sock.
The proxy injects CLAUDE_CODE_OAUTH_TOKEN or ANTHROPIC_API_KEY from this
environment when set, otherwise the token stored with ` + "`clauderon token set`" + `,
read from the OS keychain at each request.
The first SIGINT or SIGTERM drains; a second one forces. Containers keep running.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f.proxyPortSet = cmd.Flags().Changed("proxy-port")
			return runDaemon(cmd.Context(), f)
		},
	}
	cmd.Flags().IntVar(&f.proxyPort, "proxy-port", 0, "port of the proxy; 0 picks a free one, shown in the log and by clauderon status (default: proxy.port in config.json, else 18080)")
	cmd.Flags().StringVar(&f.logLevel, "log-level", "info", "debug, info, warn or error")
	cmd.Flags().BoolVar(&f.logJSON, "log-json", false, "log JSON lines instead of text")
	return cmd
}

func runDaemon(ctx context.Context, f daemonFlags) error {
	var level slog.Level
	if err := level.UnmarshalText([]byte(f.logLevel)); err != nil {
		return fmt.Errorf("--log-level %q: use debug, info, warn or error", f.logLevel)
	}
	if f.proxyPort < 0 || f.proxyPort > 65535 {
		return fmt.Errorf("--proxy-port %d is not a port number", f.proxyPort)
	}
	proxyPort := 0 // config.json's, or the default
	if f.proxyPortSet {
		proxyPort = f.proxyPort
		if proxyPort == 0 {
			proxyPort = daemon.AnyProxyPort
		}
	}
	opts := &slog.HandlerOptions{Level: level}
	var h slog.Handler = slog.NewTextHandler(os.Stderr, opts)
	if f.logJSON {
		h = slog.NewJSONHandler(os.Stderr, opts)
	}
	log := slog.New(h)
	// The daemon holds the real token: keep same-user processes from
	// reading it through /proc (environ, mem) or ptrace. Only a warning
	// when that fails: the daemon's clients are containers, which cannot
	// see the host's /proc anyway; `exec`, whose client is a host process,
	// refuses to run instead.
	if err := secret.HideProcess(); err != nil {
		log.Warn("cannot hide the daemon's memory from other processes", "err", err)
	}
	home, err := config.Home()
	if err != nil {
		return err
	}

	// First signal drains (ctx), second forces; ctrl-c seen as both SIGINT
	// and a wrapper's SIGTERM is one.
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	force := make(chan struct{})
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	go drainThenForce(sigs, time.Now, cancel, func() { close(force) })

	d, err := daemon.New(ctx, daemon.Config{
		Home:      home,
		ProxyPort: proxyPort,
		Tokens:    secret.NewStore(keyringService()),
		Logger:    log,
	})
	if err != nil {
		return err
	}
	if err := d.Run(ctx, force); err != nil {
		return err
	}
	return nil
}
