package cli

import (
	"context"
	"errors"
	"fmt"
	"html/template"
	"io"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/atomicfile"
)

func newUICmd() *cobra.Command {
	var printOnly bool
	cmd := &cobra.Command{
		Use:   "ui",
		Short: "Open the web UI in your browser, logged in",
		Long: `Asks the daemon for a one-time login URL to its web UI (on
http://127.0.0.1:18091, ui.port in config.json) and opens it in the default
browser. The URL works once, for 2 minutes; the browser then holds a session
cookie until the daemon restarts. With --print, or where no browser can be
opened, the URL is printed instead.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			var c client.Client
			home, err := config.Home()
			if err != nil {
				return err
			}
			return runUI(cmd.Context(), cmd.OutOrStdout(), &c, home, printOnly, openBrowser)
		},
	}
	cmd.Flags().BoolVar(&printOnly, "print", false, "print the login URL instead of opening a browser")
	return cmd
}

func runUI(ctx context.Context, w io.Writer, c *client.Client, home string, printOnly bool, open func(string) error) error {
	l, err := c.UILogin(ctx)
	if err != nil {
		return err
	}
	// The URL goes to a program as an argument: it must be the daemon's
	// own loopback URL, nothing an opener could read as an option.
	if !strings.HasPrefix(l.URL, "http://127.0.0.1:") {
		return fmt.Errorf("the daemon answered an unexpected login URL %q", printable(l.URL))
	}
	if printOnly {
		_, err := fmt.Fprintln(w, l.URL)
		return err
	}
	// The URL holds the one-time token, and a program's arguments are in
	// /proc for every user to read: the opener gets a private file that
	// sends the browser on, never the URL.
	page, err := writeLoginPage(home, l.URL)
	if err != nil {
		return err
	}
	if err := open(page); err != nil {
		_, err = fmt.Fprintf(w, "cannot open a browser (%v); open this URL in one (it works once, for 2 minutes):\n%s\n", err, l.URL)
		return err
	}
	_, err = fmt.Fprintln(w, "opened the clauderon web UI in your browser; if it did not appear, run `clauderon ui --print` and open the URL yourself")
	return err
}

// openBrowser runs the platform's opener directly (no shell: the URL is an
// argument, never a command line).
func openBrowser(u string) error {
	var name string
	var args []string
	switch runtime.GOOS {
	case "darwin":
		name, args = "open", []string{u}
	case "windows":
		name, args = "rundll32", []string{"url.dll,FileProtocolHandler", u}
	default:
		name, args = "xdg-open", []string{u}
	}
	path, err := exec.LookPath(name)
	if err != nil {
		return fmt.Errorf("no %s here", name)
	}
	cmd := exec.Command(path, args...)
	if err := cmd.Start(); err != nil {
		return err
	}
	// Openers usually hand the URL over and exit; one that stays (a
	// browser started in the foreground) has opened it.
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return fmt.Errorf("%s failed: %v", name, err)
		}
		return err
	case <-time.After(5 * time.Second):
		return nil
	}
}

// loginPageFile is the page `clauderon ui` hands the browser; it is
// rewritten at each run, and its token works once, for 2 minutes.
const loginPageFile = "ui-login.html"

// writeLoginPage writes a page, readable by the user alone, that sends
// the browser to u, and returns its file:// URL.
func writeLoginPage(home, u string) (string, error) {
	var b strings.Builder
	b.WriteString(`<!doctype html><meta charset="utf-8"><meta name="referrer" content="no-referrer"><meta http-equiv="refresh" content="0;url=`)
	template.HTMLEscape(&b, []byte(u))
	b.WriteString(`"><title>clauderon</title><p>Opening the clauderon web UI…</p>`)
	p := filepath.Join(home, loginPageFile)
	if err := atomicfile.Write(p, []byte(b.String()), 0o600); err != nil {
		return "", fmt.Errorf("cannot write the login page %s: %w", p, err)
	}
	return (&url.URL{Scheme: "file", Path: p}).String(), nil
}
