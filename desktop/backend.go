package desktop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/daemon"
	"github.com/clauderon/clauderon/secret"
)

// keyringServiceEnv names the keychain service, as for `clauderon daemon`
// (cli/token.go): tests keep their entries apart with it.
const keyringServiceEnv = "CLAUDERON_KEYRING_SERVICE"

// backend is the daemon the app talks to, and how to stop it if the app
// runs it.
type backend struct {
	client *client.Client
	// InProcess says the app runs the daemon itself.
	InProcess bool
	stop      func()
}

// startBackend answers a client of the running daemon or, when none
// answers, starts one in this process: the same daemon.New and Run as
// `clauderon daemon`. Its stop drains that daemon (sessions keep running,
// their containers untouched) and waits for it.
func startBackend(ctx context.Context, log *slog.Logger) (*backend, error) {
	c := &client.Client{}
	pctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	_, err := c.Status(pctx)
	cancel()
	if err == nil {
		log.Info("the desktop app is a client of the running daemon")
		return &backend{client: c, stop: func() {}}, nil
	}
	var unreachable *client.DaemonUnreachableError
	if !errors.As(err, &unreachable) {
		return nil, fmt.Errorf("the clauderon daemon: %w", err)
	}
	if err := secret.HideProcess(); err != nil {
		log.Warn("cannot hide the app's memory from other processes", "err", err)
	}
	home, err := config.Home()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(home, 0o700); err != nil {
		return nil, err
	}
	if _, err := config.EnsurePrivate(home); err != nil {
		return nil, err
	}
	gw, err := gatewayBinary()
	if err != nil {
		return nil, err
	}
	dctx, drain := context.WithCancel(context.WithoutCancel(ctx))
	ready := make(chan struct{})
	d, err := daemon.New(dctx, daemon.Config{
		Home:          home,
		GatewayBinary: gw,
		Tokens:        secret.NewStore(os.Getenv(keyringServiceEnv)),
		Logger:        log,
		Ready:         func() { close(ready) },
	})
	if err != nil {
		drain()
		return nil, err
	}
	done := make(chan error, 1)
	go func() { done <- d.Run(dctx, nil) }()
	select {
	case <-ready:
	case err := <-done:
		drain()
		return nil, fmt.Errorf("the in-process daemon: %w", err)
	}
	log.Info("the desktop app runs the daemon in-process")
	return &backend{client: &client.Client{}, InProcess: true, stop: func() {
		drain()
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			log.Warn("the in-process daemon stopped", "err", err)
		}
	}}, nil
}

// cliName is the static CLI the desktop build ships beside itself (make
// build, make package): session containers run it as their gateway, since
// this binary is linked to GTK and WebKit, which no image has.
const cliName = "clauderon-cli"

// gatewayBinary is the static CLI beside this executable.
func gatewayBinary() (string, error) {
	self, err := os.Executable()
	if err != nil {
		return "", err
	}
	p := filepath.Join(filepath.Dir(self), cliName)
	if fi, err := os.Stat(p); err != nil || !fi.Mode().IsRegular() {
		return "", fmt.Errorf("the desktop app runs sessions with the static clauderon CLI, which should be at %s (make build and make package put it there); or start `clauderon daemon` from the CLI build first and the app will be its client", p)
	}
	return p, nil
}
