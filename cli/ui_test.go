package cli

import (
	"context"
	"errors"
	"net/http"
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
	ctx := context.Background()
	var opened []string
	open := func(u string) error { opened = append(opened, u); return nil }

	var out strings.Builder
	if err := runUI(ctx, &out, &client.Client{}, true, open); err != nil || strings.TrimSpace(out.String()) != url || len(opened) != 0 {
		t.Errorf("--print: %v %q, opened %q", err, out.String(), opened)
	}
	out.Reset()
	if err := runUI(ctx, &out, &client.Client{}, false, open); err != nil || len(opened) != 1 || opened[0] != url || strings.Contains(out.String(), "token=") {
		t.Errorf("open: %v %q, opened %q", err, out.String(), opened)
	}
	out.Reset()
	fail := func(string) error { return errors.New("no xdg-open here") }
	if err := runUI(ctx, &out, &client.Client{}, false, fail); err != nil || !strings.Contains(out.String(), "no xdg-open here") || !strings.Contains(out.String(), url) {
		t.Errorf("no opener: %v %q; want the reason and the URL", err, out.String())
	}

	for _, bad := range []string{"--help", "http://evil.com/login", "file:///etc/passwd", "http://127.0.0.1.evil.com/"} {
		url = bad
		opened = nil
		out.Reset()
		if err := runUI(ctx, &out, &client.Client{}, false, open); err == nil || len(opened) != 0 {
			t.Errorf("daemon answered %q: %v, opened %q; want refused", bad, err, opened)
		}
	}
}
