//go:build desktop

package desktop

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"

	"github.com/wailsapp/wails/v2"
	"github.com/wailsapp/wails/v2/pkg/options"
	"github.com/wailsapp/wails/v2/pkg/options/assetserver"
	"github.com/wailsapp/wails/v2/pkg/options/linux"
	"github.com/wailsapp/wails/v2/pkg/runtime"

	"github.com/clauderon/clauderon/frontend"
	"github.com/clauderon/clauderon/tray"
)

//go:embed icon.png
var icon embed.FS

// wailsEmitter sends events through the Wails runtime, once it started.
type wailsEmitter struct {
	mu  sync.Mutex
	ctx context.Context
}

func (e *wailsEmitter) set(ctx context.Context) {
	e.mu.Lock()
	e.ctx = ctx
	e.mu.Unlock()
}

func (e *wailsEmitter) Emit(event string, data any) {
	e.mu.Lock()
	ctx := e.ctx
	e.mu.Unlock()
	if ctx != nil {
		runtime.EventsEmit(ctx, event, data)
	}
}

// wailsDialogs are the runtime's native dialogs.
type wailsDialogs struct{ ctx context.Context }

func (d wailsDialogs) ChooseDirectory(title string) (string, error) {
	return runtime.OpenDirectoryDialog(d.ctx, runtime.OpenDialogOptions{Title: title, CanCreateDirectories: true})
}

// Window is the running app, as the tray and the notifications see it.
type Window struct {
	App    *App
	Config Settings
	Logger *slog.Logger

	mu       sync.Mutex
	ctx      context.Context // the Wails runtime's, once started
	quitting bool            // Quit was chosen: closing must not hide
}

func (w *Window) runtimeCtx() context.Context {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ctx
}

// Show brings the window back from the tray.
func (w *Window) Show() {
	if ctx := w.runtimeCtx(); ctx != nil {
		runtime.WindowShow(ctx)
		runtime.WindowUnminimise(ctx)
	}
}

// Open shows the window on a route of the frontend (such as
// "#/sessions/NAME").
func (w *Window) Open(route string) {
	ctx := w.runtimeCtx()
	if ctx == nil {
		return
	}
	w.Show()
	runtime.EventsEmit(ctx, "clauderon:navigate", route)
}

// Quit ends the app; Run then stops an in-process daemon gracefully.
func (w *Window) Quit() {
	w.mu.Lock()
	w.quitting = true
	w.mu.Unlock()
	if ctx := w.runtimeCtx(); ctx != nil {
		runtime.Quit(ctx)
	}
}

// hideOnClose says whether closing the window should hide it (to a tray a
// panel shows) rather than end the app; Wails asks it on Quit too.
func (w *Window) hideOnClose() bool {
	w.mu.Lock()
	quitting := w.quitting
	w.mu.Unlock()
	return !quitting && tray.Visible()
}

// services start beside the window with it (the tray, the notifications:
// services.go), and end with ctx.
var services []func(ctx context.Context, w *Window) error

// Run opens the app: a client of the running daemon, or of one it runs
// in-process when none answers, which it drains when the window quits
// (sessions keep running, as after `clauderon daemon` stops). It returns
// when the user quits.
func Run(ctx context.Context, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	back, err := startBackend(ctx, log)
	if err != nil {
		return err
	}
	defer back.stop()

	settings, err := LoadSettings()
	if err != nil {
		return err
	}
	em := &wailsEmitter{}
	app := New(back.client, em)
	win := &Window{App: app, Config: settings, Logger: log}
	if path := os.Getenv(DumpEnv); path != "" {
		rep, err := newDumper(path)
		if err != nil {
			return err
		}
		defer rep.close()
		app.setReporter(rep.report)
	}

	assets := frontend.FS
	iconPNG, _ := icon.ReadFile("icon.png")
	var svcWG sync.WaitGroup
	err = wails.Run(&options.App{
		Title:     "clauderon",
		Width:     1200,
		Height:    800,
		MinWidth:  640,
		MinHeight: 420,
		// Closing the window hides it to the tray, when a panel shows the
		// tray at that moment; Quit ends the app. Without one, closing
		// quits: a hidden window could be neither reopened nor quit.
		OnBeforeClose: func(wctx context.Context) bool {
			if win.hideOnClose() {
				runtime.WindowHide(wctx)
				return true
			}
			return false
		},
		AssetServer: &assetserver.Options{Assets: assets},
		Linux: &linux.Options{Icon: iconPNG, ProgramName: "clauderon",
			// The UI is a table, forms and a terminal: WebKit's GPU
			// compositing buys it nothing, and under desktopbench costs
			// about 0.5 s of start, 85 MB and twice the update time.
			WebviewGpuPolicy: linux.WebviewGpuPolicyNever},
		OnStartup: func(rctx context.Context) {
			em.set(rctx)
			app.setContext(rctx)
			app.setDialogs(wailsDialogs{rctx})
			win.mu.Lock()
			win.ctx = rctx
			win.mu.Unlock()
			for _, s := range services {
				svcWG.Add(1)
				go func() {
					defer svcWG.Done()
					if err := s(ctx, win); err != nil && !errors.Is(err, context.Canceled) {
						log.Warn("a desktop service stopped", "err", err)
					}
				}()
			}
		},
		Bind: []any{app},
	})
	cancel()
	svcWG.Wait()
	if err != nil {
		return fmt.Errorf("the window: %w", err)
	}
	return nil
}
