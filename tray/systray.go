//go:build !nosystray

package tray

import (
	"context"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"fyne.io/systray"
)

// claimed is fyne.io/systray's one tray per process, made an error rather
// than a second tray that silently never shows.
var claimed atomic.Bool

// Run shows the tray until ctx ends. On Linux it needs a D-Bus session bus
// and, to be seen, a StatusNotifierWatcher on it (KDE, Xfce, Cinnamon, a
// GNOME with the AppIndicator extension); without a watcher it logs so
// and runs unseen. It may be called from any goroutine on Linux and
// Windows; on macOS it must run on the main thread, which Wails owns: use
// RunExternal there. It returns ErrStarted when this process had a tray.
func Run(ctx context.Context, cfg Config) error {
	start, end, err := register(ctx, cfg)
	if err != nil {
		return err
	}
	start()
	<-ctx.Done()
	end()
	return nil
}

// RunExternal registers the tray for a GUI toolkit that runs its own loop
// (fyne's RunWithExternalLoop): call start once the toolkit's loop runs
// (Wails's OnStartup) and end before it stops (OnShutdown); the tray
// watches the daemon between the two, or until ctx ends. end is safe to
// call more than once, and without start. An error (no session bus, a
// second tray) is logged, and start and end do nothing.
func RunExternal(ctx context.Context, cfg Config) (start, end func()) {
	start, end, err := register(ctx, cfg)
	if err != nil {
		cfg.withDefaults().Logger.Error("tray: not shown", "err", err)
		return func() {}, func() {}
	}
	return start, end
}

func register(ctx context.Context, cfg Config) (start, end func(), err error) {
	cfg = cfg.withDefaults()
	if err := checkBus(cfg.Logger); err != nil {
		return nil, nil, err
	}
	if !claimed.CompareAndSwap(false, true) {
		return nil, nil, ErrStarted
	}
	ctx, cancel := context.WithCancel(ctx)
	s := &shown{cfg: cfg, goos: runtime.GOOS}
	systray.SetTitle("clauderon")
	systray.SetIcon(iconIdle)
	systray.SetTooltip("clauderon")
	done := make(chan struct{})
	onReady := func() {
		// The menu is there before fyne answers GetLayout (it waits for
		// onReady), so a panel never reads an empty one.
		s.make()
		s.show(build(link{}, nil))
		go func() {
			defer close(done)
			watch(ctx, cfg.Client, cfg.Logger, s.show)
		}()
	}
	fstart, fend := systray.RunWithExternalLoop(onReady, nil)
	var started atomic.Bool
	var once sync.Once
	start = func() {
		if started.CompareAndSwap(false, true) {
			fstart()
		}
	}
	end = func() {
		once.Do(func() {
			cancel()
			if !started.Load() {
				return
			}
			<-done
			// fyne's end closes its D-Bus connection (the shared
			// dbus.SessionBus) and, on Linux, its quit channel for good.
			fend()
		})
	}
	return start, end, nil
}

// shown is the menu on screen. Its items are made once, when the tray
// starts: a slot per session up to maxItems, hidden while unused, between
// the status line and the fixed entries. fyne can only append items, and
// building the menu again would re-arm fyne's first-GetLayout workaround
// (whose delayed refresh races with GetLayout) and drop clicks on items
// whose goroutine did not wait on them yet.
type shown struct {
	cfg  Config
	goos string

	status, none, more *systray.MenuItem
	slots              []*systray.MenuItem

	mu        sync.Mutex // guards what the click goroutines read
	last      menu
	visible   []bool // per slot; none is shown when no slot is
	attention bool
	ready     bool
	// renamed is when each slot last came to show another session: a
	// click that soon after may be meant for the one it showed before.
	renamed map[int]time.Time
}

// settle is how long a slot that changed sessions ignores clicks.
const settle = 400 * time.Millisecond

// target is the item slot i shows, unless it changed sessions within
// settle of now (an agent creating and removing sessions moved the rows
// under the pointer). Call with mu held.
func (s *shown) targetLocked(i int, now time.Time) (item, bool) {
	if i >= len(s.last.items) {
		return item{}, false
	}
	if at, ok := s.renamed[i]; ok && now.Sub(at) < settle {
		return item{}, false
	}
	return s.last.items[i], true
}

// make adds every item; called once, from fyne's onReady.
func (s *shown) make() {
	s.status = systray.AddMenuItem("clauderon", "")
	s.status.Disable()
	systray.AddSeparator()
	s.none = systray.AddMenuItem("No sessions", "")
	s.none.Disable()
	for i := range maxItems {
		mi := systray.AddMenuItem("", "")
		mi.Hide()
		s.slots = append(s.slots, mi)
		s.visible = append(s.visible, false)
		s.onClick(mi, func() { s.clickSlot(i) })
	}
	s.more = systray.AddMenuItem("", "")
	s.more.Hide()
	s.onClick(s.more, s.cfg.OpenWindow)
	systray.AddSeparator()
	s.onClick(systray.AddMenuItem("New session...", ""), s.cfg.NewSession)
	s.onClick(systray.AddMenuItem("Open window", ""), s.cfg.OpenWindow)
	s.onClick(systray.AddMenuItem("Quit", "Quit the app; sessions keep running"), s.cfg.Quit)
}

func (s *shown) title(label string) string { return mnemonic(s.goos, label) }

// show puts m on screen, changing only what differs from the last menu.
func (s *shown) show(m menu) {
	s.mu.Lock()
	old, first := s.last, !s.ready
	s.last, s.ready = m, true
	if s.renamed == nil {
		s.renamed = map[int]time.Time{}
	}
	for i := range m.items {
		// A slot that showed another session (not one that was hidden).
		if !first && i < len(old.items) && old.items[i].name != m.items[i].name {
			s.renamed[i] = time.Now()
		}
	}
	s.mu.Unlock()

	systray.SetTooltip(m.tooltip)
	if m.attention != s.attention || first {
		s.attention = m.attention
		if m.attention {
			systray.SetIcon(iconAttention)
		} else {
			systray.SetIcon(iconIdle)
		}
	}
	if first || old.status != m.status {
		s.status.SetTitle(s.title(m.status))
	}
	for i, mi := range s.slots {
		if i >= len(m.items) {
			if s.visible[i] {
				mi.Hide()
				s.visible[i] = false
			}
			continue
		}
		it := m.items[i]
		if first || i >= len(old.items) || old.items[i] != it {
			mi.SetTitle(s.title(it.label))
			if it.action == actOpen {
				mi.SetTooltip("Open its result in the window")
			} else {
				mi.SetTooltip("Attach in a terminal")
			}
		}
		if !s.visible[i] {
			mi.Show()
			s.visible[i] = true
		}
	}
	switch {
	case len(m.items) == 0 && (first || len(old.items) > 0):
		s.none.Show()
	case len(m.items) > 0 && (first || len(old.items) == 0):
		s.none.Hide()
	}
	switch {
	case m.more > 0 && s.cfg.OpenWindow != nil:
		if first || old.more != m.more {
			s.more.SetTitle(s.title(moreLabel(m.more)))
		}
		if first || old.more == 0 {
			s.more.Show()
		}
	case !first && old.more > 0:
		s.more.Hide()
	}
}

func moreLabel(n int) string { return fmt.Sprintf("%d more: Open window", n) }

// clickSlot does what clicking slot i does now: the slot shows whichever
// session sorts i-th, so the session is looked up at the click, and a
// slot that has just changed sessions ignores it.
func (s *shown) clickSlot(i int) {
	s.mu.Lock()
	it, ok := s.targetLocked(i, time.Now())
	s.mu.Unlock()
	if !ok {
		return // hidden, or showing another session, a moment ago
	}
	if it.action == actOpen {
		if f := s.cfg.OpenSession; f != nil {
			f(it.name)
		}
		return
	}
	if err := s.cfg.Attach(it.name); err != nil {
		s.cfg.Logger.Error("tray: attach", "session", it.name, "err", err)
	}
}

// onClick runs f on every click of mi; a nil f disables mi. fyne drops a
// click when nobody waits on ClickedCh, so one goroutine per item waits
// there for the tray's life.
func (s *shown) onClick(mi *systray.MenuItem, f func()) {
	if f == nil {
		mi.Disable()
		return
	}
	ch := mi.ClickedCh
	go func() {
		for range ch {
			f()
		}
	}()
}
