package cli

import (
	"context"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// TestUICommand: ui asks the daemon for the login URL and opens it, or
// prints it with --print or when no browser opens; a URL that is not the
// daemon's loopback one is never handed to the opener.
func TestUICommand(t *testing.T) {
	url := "http://127.0.0.1:18091/login?token=abc"
	mux := http.NewServeMux()
	mux.HandleFunc("POST /api/v0/ui/login", func(w http.ResponseWriter, r *http.Request) {
		answer(api.UILogin{URL: url})(w, r)
	})
	fakeDaemon(t, mux)
	home := t.TempDir()
	ctx := context.Background()
	var opened []string
	open := func(u string) error { opened = append(opened, u); return nil }

	var out strings.Builder
	if err := runUI(ctx, &out, &client.Client{}, home, true, open); err != nil || strings.TrimSpace(out.String()) != url || len(opened) != 0 {
		t.Errorf("--print: %v %q, opened %q", err, out.String(), opened)
	}
	out.Reset()
	// The opener gets a private page that sends the browser on: a
	// program's arguments are readable by every user (/proc), the token
	// must not be among them.
	if err := runUI(ctx, &out, &client.Client{}, home, false, open); err != nil || len(opened) != 1 || strings.Contains(opened[0], "token=") ||
		opened[0] != "file://"+filepath.Join(home, loginPageFile) || strings.Contains(out.String(), "token=") {
		t.Errorf("open: %v %q, opened %q", err, out.String(), opened)
	}
	fi, err := os.Stat(filepath.Join(home, loginPageFile))
	b, _ := os.ReadFile(filepath.Join(home, loginPageFile))
	if err != nil || fi.Mode().Perm() != 0o600 || !strings.Contains(string(b), `content="0;url=http://127.0.0.1:18091/login?token=abc"`) {
		t.Errorf("the login page (%v, %v): %s", fi, err, b)
	}
	out.Reset()
	fail := func(string) error { return errors.New("no xdg-open here") }
	if err := runUI(ctx, &out, &client.Client{}, home, false, fail); err != nil || !strings.Contains(out.String(), "no xdg-open here") || !strings.Contains(out.String(), url) {
		t.Errorf("no opener: %v %q; want the reason and the URL", err, out.String())
	}

	for _, bad := range []string{"--help", "http://evil.com/login", "file:///etc/passwd", "http://127.0.0.1.evil.com/"} {
		url = bad
		opened = nil
		out.Reset()
		if err := runUI(ctx, &out, &client.Client{}, home, false, open); err == nil || len(opened) != 0 {
			t.Errorf("daemon answered %q: %v, opened %q; want refused", bad, err, opened)
		}
	}
}
