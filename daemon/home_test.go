package daemon

import (
	"context"
	"log/slog"
	"os"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/internal/syncbuf"
)

// TestHomeMadePrivate: a daemon on a home other users can enter makes it
// 0700 before it writes anything there, and says so once.
func TestHomeMadePrivate(t *testing.T) {
	home := t.TempDir()
	if err := os.Chmod(home, 0o755); err != nil {
		t.Fatal(err)
	}
	var logs syncbuf.Buffer
	cfg := testConfig(t, home)
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	d, err := New(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer d.close()
	if fi, _ := os.Stat(home); fi.Mode().Perm() != 0o700 {
		t.Errorf("home mode after start: %v, want 0700", fi.Mode().Perm())
	}
	if n := strings.Count(logs.String(), "was open to other users"); n != 1 {
		t.Errorf("warnings: %d in\n%s", n, logs.String())
	}
}
