package e2e

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/chromedp/chromedp"

	"github.com/clauderon/clauderon/internal/testenv"
)

// The browser is one headless chromium per test binary: starting one costs
// about a second and a few hundred MB, so the tests share it and each gets
// its own browser context (cookies and storage of its own) and tab.
var (
	browserMu     sync.Mutex
	browserRoot   context.Context
	browserCancel context.CancelFunc
	browserErr    error
	browserLog    strings.Builder
)

// chromiumPath finds the browser `make test` installs (Debian's chromium).
func chromiumPath() (string, error) {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("no chromium on PATH (make test installs the Debian package chromium)")
}

// sharedBrowser starts the browser on first use and answers its root
// context; closeBrowser (from TestMain) ends it.
func sharedBrowser(t testing.TB) context.Context {
	t.Helper()
	browserMu.Lock()
	defer browserMu.Unlock()
	if browserRoot == nil && browserErr == nil {
		browserRoot, browserCancel, browserErr = startBrowser()
	}
	if browserErr != nil {
		testenv.Unavailable(t, "chromium: %v\n%s", browserErr, browserLog.String())
	}
	return browserRoot
}

func startBrowser() (context.Context, context.CancelFunc, error) {
	path, err := chromiumPath()
	if err != nil {
		return nil, nil, err
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.WindowSize(1280, 900),
		chromedp.CombinedOutput(&lockedWriter{w: &browserLog}),
	)
	if os.Geteuid() == 0 {
		// Chromium refuses to start its sandbox as root (CI runs as root).
		opts = append(opts, chromedp.NoSandbox)
	}
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancelCtx := chromedp.NewContext(alloc)
	// The first Run starts the browser, on a context without a deadline: a
	// deadline there would end the whole browser.
	if err := chromedp.Do(ctx); err != nil {
		cancelCtx()
		cancelAlloc()
		return nil, nil, err
	}
	return ctx, func() { cancelCtx(); cancelAlloc() }, nil
}

// closeBrowser ends the shared browser, if one was started.
func closeBrowser() {
	browserMu.Lock()
	defer browserMu.Unlock()
	if browserCancel != nil {
		browserCancel()
		browserCancel = nil
	}
}

// lockedWriter serialises the browser's output into browserLog.
type lockedWriter struct {
	mu sync.Mutex
	w  *strings.Builder
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// newTab opens a tab in a browser context of its own (no cookies shared
// with other tests), closed at the test's cleanup.
func newTab(t testing.TB) context.Context {
	t.Helper()
	ctx, cancel := chromedp.NewContext(sharedBrowser(t), chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("opening a tab: %v", err)
	}
	return ctx
}

// screenshotDir is where the views' screenshots go: CLAUDERON_TEST_ARTIFACTS
// if set (CI keeps it), else a fixed directory under the temporary one, so
// they outlive the test's own temporary directories.
func screenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("CLAUDERON_TEST_ARTIFACTS")
	if dir == "" {
		dir = filepath.Join(os.TempDir(), "clauderon-screens")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// screenshot saves a full-page PNG of the tab as NAME.png in screenshotDir
// and in the test's artifact directory (kept with go test -artifacts).
func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Errorf("screenshot %s: %v", name, err)
		return
	}
	for _, dir := range []string{screenshotDir(t), t.ArtifactDir()} {
		p := filepath.Join(dir, name+".png")
		if err := os.WriteFile(p, png, 0o644); err != nil {
			t.Errorf("saving screenshot: %v", err)
			continue
		}
		t.Logf("screenshot: %s", p)
	}
}

// TestBrowser: the shared headless chromium starts and runs a page's
// script, so the web UI tests' failures are the UI's, not the browser's.
func TestBrowser(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, `<!doctype html><p id="p">static</p><script>document.getElementById("p").textContent = "scripted"</script>`)
	}))
	defer srv.Close()
	ctx := newTab(t)
	if err := chromedp.Do(ctx, chromedp.Navigate(srv.URL)); err != nil {
		t.Fatal(err)
	}
	got, err := chromedp.Run(ctx, chromedp.Text(chromedp.ID("p")))
	if err != nil || got != "scripted" {
		t.Fatalf("text %q, %v; want the script's", got, err)
	}
}
