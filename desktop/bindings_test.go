package desktop

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
)

// recorder is the fake Emitter: it keeps every event and wakes waiters.
type recorder struct {
	mu   sync.Mutex
	evs  []emitted
	wake chan struct{}
}

type emitted struct {
	name string
	data any
}

func newRecorder() *recorder { return &recorder{wake: make(chan struct{}, 1)} }

func (r *recorder) Emit(event string, data any) {
	r.mu.Lock()
	r.evs = append(r.evs, emitted{event, data})
	r.mu.Unlock()
	select {
	case r.wake <- struct{}{}:
	default:
	}
}

// waitFor waits until ok holds for the events so far.
func (r *recorder) waitFor(t *testing.T, what string, ok func([]emitted) bool) []emitted {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		r.mu.Lock()
		evs := append([]emitted(nil), r.evs...)
		r.mu.Unlock()
		if ok(evs) {
			return evs
		}
		select {
		case <-r.wake:
		case <-deadline:
			t.Fatalf("waiting for %s; got %v", what, evs)
		}
	}
}

// fakeDaemon serves the LocalAPI routes the tests use on a unix socket and
// records each request, so a test sees what the binding sent.
type fakeDaemon struct {
	mu     sync.Mutex
	reqs   []string // "METHOD path?query body"
	events chan api.Event
	end    chan struct{} // closing it ends the current event stream
}

func startFake(t *testing.T) (*fakeDaemon, *client.Client) {
	t.Helper()
	f := &fakeDaemon{events: make(chan api.Event, 16), end: make(chan struct{})}
	sock := filepath.Join(t.TempDir(), "s")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.StripPrefix(api.APIPrefix, http.HandlerFunc(f.serve))}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return f, &client.Client{Socket: sock}
}

func (f *fakeDaemon) requests() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.reqs...)
}

func (f *fakeDaemon) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	line := r.Method + " " + r.URL.Path
	if r.URL.RawQuery != "" {
		line += "?" + r.URL.RawQuery
	}
	if len(b) > 0 {
		line += " " + strings.TrimSpace(string(b))
	}
	f.mu.Lock()
	f.reqs = append(f.reqs, line)
	f.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	switch {
	case r.URL.Path == "/events":
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		fl := w.(http.Flusher)
		enc.Encode(api.Event{Seq: 1, Kind: api.EventSnapshot, Sessions: []api.Session{{Name: "alpha"}}})
		fl.Flush()
		for {
			select {
			case ev := <-f.events:
				enc.Encode(ev)
				fl.Flush()
			case <-f.end:
				return
			case <-r.Context().Done():
				return
			}
		}
	case r.URL.Path == "/sessions" && r.Method == http.MethodGet:
		json.NewEncoder(w).Encode(api.SessionList{Sessions: []api.Session{{Name: "alpha"}, {Name: "beta"}}})
	case r.URL.Path == "/sessions" && r.Method == http.MethodPost:
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		enc.Encode(api.Progress{Line: "copying the workspace"})
		enc.Encode(api.Progress{Done: true, Session: &api.Session{Name: "new"}})
	case r.URL.Path == "/images/build":
		w.Header().Set("Content-Type", "application/x-ndjson")
		enc := json.NewEncoder(w)
		enc.Encode(api.Progress{Line: "Step 1/9"})
		enc.Encode(api.Progress{Done: true})
	case strings.HasPrefix(r.URL.Path, "/sessions/nosuch"):
		w.WriteHeader(http.StatusNotFound)
		fmt.Fprint(w, `{"error":"no session named \"nosuch\"","code":"not_found"}`)
	case r.URL.Path == "/sessions/huge/logs":
		// A hostile session's log: many times what the app keeps, its
		// last bytes recognisable.
		w.Header().Set("Content-Type", "text/plain")
		line := bytes.Repeat([]byte("x"), 1<<20)
		for range 16 * maxLogBytes >> 20 {
			w.Write(line)
		}
		fmt.Fprint(w, "THE END")
	case r.URL.Path == "/sessions/alpha/logs":
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "hello from alpha\n")
	case r.URL.Path == "/tokens/anthropic":
		json.NewEncoder(w).Encode(api.TokenStatus{Name: "anthropic", Configured: r.Method == http.MethodPut, Kind: api.KindOAuth, Fingerprint: "AAAA", Keychain: api.KeychainSet})
	case r.Method == http.MethodDelete:
		w.WriteHeader(http.StatusNoContent)
	default:
		json.NewEncoder(w).Encode(api.Session{Name: strings.Split(strings.TrimPrefix(r.URL.Path, "/sessions/"), "/")[0]})
	}
}

func TestBindingsAdaptTheClient(t *testing.T) {
	f, c := startFake(t)
	rec := newRecorder()
	a := New(c, rec)

	l, err := a.ListSessions()
	if err != nil || len(l.Sessions) != 2 {
		t.Fatalf("ListSessions = %+v, %v", l, err)
	}
	if s, err := a.GetSession("beta", true); err != nil || s.Name != "beta" {
		t.Errorf("GetSession(beta, changes) = %+v, %v; want the listed beta", s, err)
	}
	s, err := a.CreateSession(api.CreateSession{Name: "new", Prompt: "hi"})
	if err != nil || s.Name != "new" {
		t.Fatalf("CreateSession = %+v, %v", s, err)
	}
	rec.waitFor(t, "the create's progress line", func(evs []emitted) bool {
		return len(evs) > 0 && evs[0].name == EventProgress && evs[0].data == "copying the workspace"
	})
	if _, err := a.StopSession("alpha"); err != nil {
		t.Error(err)
	}
	if err := a.DeleteSession("alpha", true, false, true); err != nil {
		t.Error(err)
	}
	if logs, err := a.SessionLogs("alpha"); err != nil || logs != "hello from alpha\n" {
		t.Errorf("SessionLogs = %q, %v", logs, err)
	}
	if st, err := a.PutToken("anthropic", api.TokenValue{Token: "sk-ant-oat01-CANARY-bindings"}); err != nil || !st.Configured {
		t.Errorf("PutToken = %+v, %v", st, err)
	}
	if err := a.BuildImage(); err != nil {
		t.Error(err)
	}
	rec.waitFor(t, "the build's progress line", func(evs []emitted) bool {
		for _, e := range evs {
			if e.name == EventBuild && e.data == "Step 1/9" {
				return true
			}
		}
		return false
	})

	// The daemon's own message reaches the frontend as the error.
	if _, err := a.StopSession("nosuch"); err == nil || !strings.Contains(err.Error(), `no session named "nosuch"`) {
		t.Errorf("StopSession(nosuch) = %v; want the daemon's message", err)
	}
	if _, err := a.ChooseDirectory(); err != ErrNoWindow {
		t.Errorf("ChooseDirectory without a window = %v, want ErrNoWindow", err)
	}

	want := []string{
		"GET /sessions",
		"GET /sessions",
		`POST /sessions?progress=1 {"name":"new","prompt":"hi"`,
		"POST /sessions/alpha/stop",
		"DELETE /sessions/alpha?force=1&recursive=1",
		"GET /sessions/alpha/logs",
		`PUT /tokens/anthropic {"token":"sk-ant-oat01-CANARY-bindings"}`,
		"POST /images/build",
		"POST /sessions/nosuch/stop",
	}
	got := f.requests()
	if len(got) != len(want) {
		t.Fatalf("requests:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("request %d = %q, want %q…", i, got[i], want[i])
		}
	}
}

func TestWatchEventsForwardsAndResyncs(t *testing.T) {
	f, c := startFake(t)
	rec := newRecorder()
	a := New(c, rec)
	if err := a.WatchEvents(false); err != nil {
		t.Fatal(err)
	}
	f.events <- api.Event{Seq: 2, Kind: api.EventChanged, Name: "alpha", Session: &api.Session{Name: "alpha", Status: "exited"}}
	rec.waitFor(t, "the snapshot and the change", func(evs []emitted) bool {
		return len(evs) == 2 && evs[0].data.(api.Event).Kind == api.EventSnapshot &&
			evs[1].data.(api.Event).Kind == api.EventChanged && evs[1].data.(api.Event).Session.Status == "exited"
	})
	// The daemon ends the stream: the frontend must hear a resync, its cue
	// to watch again, rather than show stale states as live.
	close(f.end)
	evs := rec.waitFor(t, "a resync", func(evs []emitted) bool { return len(evs) == 3 })
	if e := evs[2]; e.name != EventDaemon || e.data.(api.Event).Kind != api.EventResync {
		t.Errorf("after the stream ended: %+v, want a resync", e)
	}
}

func TestStopEventsSendsNoResync(t *testing.T) {
	_, c := startFake(t)
	rec := newRecorder()
	a := New(c, rec)
	if err := a.WatchEvents(true); err != nil {
		t.Fatal(err)
	}
	rec.waitFor(t, "the snapshot", func(evs []emitted) bool { return len(evs) == 1 })
	a.StopEvents()
	// A second stream's snapshot proves the first one's goroutine has had
	// every chance to send a resync it should not.
	if err := a.WatchEvents(false); err != nil {
		t.Fatal(err)
	}
	evs := rec.waitFor(t, "the second snapshot", func(evs []emitted) bool { return len(evs) >= 2 })
	for _, e := range evs {
		if e.data.(api.Event).Kind == api.EventResync {
			t.Errorf("StopEvents was followed by a resync: %+v", evs)
		}
	}
}

func TestWatchEventsReportsAnUnreachableDaemon(t *testing.T) {
	a := New(&client.Client{Socket: filepath.Join(t.TempDir(), "none")}, newRecorder())
	var du *client.DaemonUnreachableError
	if err := a.WatchEvents(false); err == nil || !errors.As(err, &du) {
		t.Errorf("WatchEvents without a daemon = %v, want DaemonUnreachableError", err)
	}
}

func TestReportReadyOnlyWhenListened(t *testing.T) {
	a := New(&client.Client{}, newRecorder())
	if a.Reporting() {
		t.Fatal("Reporting with no reporter set")
	}
	var got []Report
	a.setReporter(func(r Report) { got = append(got, r) })
	if !a.Reporting() {
		t.Fatal("not Reporting with a reporter set")
	}
	a.ReportReady(Report{View: "sessions", Rows: []Row{{Name: "alpha", Text: "alpha running"}}})
	if len(got) != 1 || got[0].Rows[0].Name != "alpha" {
		t.Errorf("reports = %+v", got)
	}
}

func TestDumperWritesLines(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dump")
	d, err := newDumper(p)
	if err != nil {
		t.Fatal(err)
	}
	d.report(Report{View: "setup", Setup: map[string]string{"token": "missing"}})
	d.close()
	b, _ := os.ReadFile(p)
	var got Dumped
	if err := json.Unmarshal(b, &got); err != nil || got.Report.Setup["token"] != "missing" || got.Time == 0 {
		t.Errorf("dump = %q (%v)", b, err)
	}
}

func TestSettings(t *testing.T) {
	home := t.TempDir()
	t.Setenv("CLAUDERON_HOME", home)
	s, err := LoadSettings()
	if err != nil {
		t.Fatal(err)
	}
	if s.Terminal != config.TerminalExternal || len(s.Notifications) != 4 || !s.Notifications["budget_spent"] {
		t.Errorf("defaults = %+v", s)
	}
	write := func(body string) {
		if err := os.WriteFile(filepath.Join(home, config.FileName), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"desktop": {"terminal": "window", "notifications": {"finished": false}}}`)
	s, err = LoadSettings()
	if err != nil || s.Terminal != "window" || s.Notifications["finished"] || !s.Notifications["waiting_for_input"] {
		t.Errorf("settings = %+v, %v", s, err)
	}
	write(`{"desktop": {"notifications": {"waiting": false}}}`)
	if _, err := LoadSettings(); err == nil || !strings.Contains(err.Error(), `"waiting"`) {
		t.Errorf("a misspelt kind: %v, want it named", err)
	}
	write(`{"desktop": {"terminal": "tmux"}}`)
	if _, err := LoadSettings(); err == nil || !strings.Contains(err.Error(), "desktop.terminal") {
		t.Errorf("an unknown terminal: %v", err)
	}
}

// TestGatewayBinary: an in-process daemon runs sessions with the static
// CLI beside the app, and without one the app says where it should be
// rather than handing containers a GTK-linked binary.
func TestGatewayBinary(t *testing.T) {
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	want := filepath.Join(filepath.Dir(self), cliName)
	if _, err := os.Stat(want); err == nil {
		t.Skipf("%s exists beside the test binary", want)
	}
	if _, err := gatewayBinary(); err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "clauderon daemon") {
		t.Errorf("without %s: %v; want an error naming it and the way out", want, err)
	}
	if err := os.WriteFile(want, []byte("static"), 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(want)
	if got, err := gatewayBinary(); err != nil || got != want {
		t.Errorf("with it: %q %v", got, err)
	}
}

// TestSessionLogsKeepsTheTail: a log many times the app's cap is read
// through and only its tail kept, never held whole.
func TestSessionLogsKeepsTheTail(t *testing.T) {
	_, c := startFake(t)
	a := New(c, newRecorder())
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	out, err := a.SessionLogs("huge")
	runtime.ReadMemStats(&after)
	if err != nil || len(out) != maxLogBytes || !strings.HasSuffix(out, "THE END") {
		t.Fatalf("SessionLogs: %d bytes, %v; want the last %d, ending the log", len(out), err, maxLogBytes)
	}
	// 64 MiB read through a 64 KiB chunk and a buffer of twice the cap,
	// reused (about 50 MiB in all, with the fake server in this process);
	// a ReadAll would allocate the whole log, twice over.
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 100<<20 {
		t.Errorf("reading allocated %d MiB", grew>>20)
	}
}

// TestBoundMethodsTakeNoNil: Wails binds every exported method of App to
// the page and passes a JavaScript null as a nil value; a parameter that
// can be nil (an interface, func, chan, pointer or map) would panic in
// reflect and take the app, and an in-process daemon, down with it.
func TestBoundMethodsTakeNoNil(t *testing.T) {
	typ := reflect.TypeOf(&App{})
	for i := range typ.NumMethod() {
		m := typ.Method(i)
		for j := 1; j < m.Type.NumIn(); j++ {
			switch k := m.Type.In(j).Kind(); k {
			case reflect.Interface, reflect.Func, reflect.Chan, reflect.Pointer, reflect.UnsafePointer:
				t.Errorf("App.%s takes a %s (%s): the page could pass null", m.Name, k, m.Type.In(j))
			}
		}
	}
}

// endless is a session that floods its terminal.
type endless struct {
	once   sync.Once
	closed chan struct{}
}

func (e *endless) Read(p []byte) (int, error) {
	select {
	case <-e.closed:
		return 0, io.EOF
	default:
	}
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}
func (e *endless) Write(p []byte) (int, error) { return len(p), nil }
func (e *endless) Close() error                { e.once.Do(func() { close(e.closed) }); return nil }

// TestAttachFlowControl: a flooding session's output stops a megabyte
// ahead of what the page acknowledged, goes on when it acknowledges, and
// a detach ends a pump that waits.
func TestAttachFlowControl(t *testing.T) {
	_, c := startFake(t)
	rec := newRecorder()
	a := New(c, rec)
	conn := &endless{closed: make(chan struct{})}
	at := newAttachment(conn, func() {})
	a.mu.Lock()
	a.attach["flood"] = at
	a.mu.Unlock()
	done := make(chan struct{})
	go func() { a.pump("flood", at); close(done) }()
	sent := func() int {
		rec.mu.Lock()
		defer rec.mu.Unlock()
		n := 0
		for _, e := range rec.evs {
			if e.name == "clauderon:attach:flood" {
				b, _ := base64.StdEncoding.DecodeString(e.data.(string))
				n += len(b)
			}
		}
		return n
	}
	waiting := func() bool { at.mu.Lock(); defer at.mu.Unlock(); return at.waiting }
	deadline := time.Now().Add(30 * time.Second)
	for !waiting() {
		if time.Now().After(deadline) {
			t.Fatalf("the pump never waited for the page; %d bytes sent", sent())
		}
		time.Sleep(time.Millisecond)
	}
	first := sent()
	if first < maxUnacked || first > maxUnacked+32<<10 {
		t.Errorf("%d bytes went out before the pump waited, want about %d", first, maxUnacked)
	}
	if err := a.AttachAck("flood", first); err != nil {
		t.Fatal(err)
	}
	for sent() <= first {
		if time.Now().After(deadline) {
			t.Fatal("an acknowledgement let no more through")
		}
		time.Sleep(time.Millisecond)
	}
	for !waiting() {
		if time.Now().After(deadline) {
			t.Fatal("the pump did not wait again")
		}
		time.Sleep(time.Millisecond)
	}
	if err := a.AttachClose("flood"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("a detach did not end a waiting pump")
	}
}
