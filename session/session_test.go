package session

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

type harness struct {
	home string
	be   *fakeBackend
	auth *fakeAuth
	m    *Manager
}

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{home: t.TempDir(), be: newFakeBackend(), auth: &fakeAuth{m: map[string]Secret{}}}
	h.open(t)
	// Before the home is removed: the usage writer may still be at work.
	t.Cleanup(func() { h.m.FlushUsage() })
	return h
}

// open (re)opens the manager on the same home and engine, as a restarted daemon does.
// What the old one counted is written first: its writes are as good as
// done once an answer's handler returns, which a crash test cannot wait on.
func (h *harness) open(t *testing.T) {
	t.Helper()
	if h.m != nil {
		h.m.FlushUsage()
	}
	m, err := Open(Config{Home: h.home, Backend: h.be, Auth: h.auth, Logger: slog.New(slog.DiscardHandler),
		Container: ContainerConfig{ProxyPort: 18080, CAFile: "/ca.pem", BundleFile: "/bundle.pem"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := m.Reconcile(context.Background()); err != nil {
		t.Fatal(err)
	}
	h.m = m
}

// run follows engine events until the test ends.
func (h *harness) run(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.m.Run(ctx); close(done) }()
	<-h.be.subscribed
	t.Cleanup(func() { cancel(); <-done })
}

func TestValidateName(t *testing.T) {
	tests := []struct {
		name string
		ok   bool
	}{
		{"a", true}, {"my-session-1", true}, {"0abc", true}, {strings.Repeat("a", 40), true},
		{"", false}, {"-a", false}, {"A", false}, {"a_b", false}, {"a.b", false}, {"a b", false},
		{strings.Repeat("a", 41), false}, {"é", false}, {"a/b", false}, {"../x", false},
	}
	for _, tc := range tests {
		err := ValidateName(tc.name)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateName(%q) = %v, want ok=%v", tc.name, err, tc.ok)
		}
		if err != nil && !errors.Is(err, ErrInvalid) {
			t.Errorf("ValidateName(%q) error does not wrap ErrInvalid", tc.name)
		}
	}
}

func TestNormalize(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "f")
	os.WriteFile(file, nil, 0o600)
	tests := []struct {
		name string
		o    Options
		want string // substring of the error; "" for success
	}{
		{"defaults", Options{Name: "a"}, ""},
		{"print needs prompt", Options{Name: "a", Mode: ModePrint}, "needs a prompt"},
		{"bad mode", Options{Name: "a", Mode: "x"}, "mode"},
		{"prompt too large", Options{Name: "a", Prompt: strings.Repeat("x", MaxPromptBytes+1)}, "fits on a command line"},
		{"prompt at the limit", Options{Name: "a", Prompt: strings.Repeat("x", MaxPromptBytes)}, ""},
		{"NUL", Options{Name: "a", Prompt: "a\x00b"}, "NUL"},
		{"relative workdir", Options{Name: "a", Workdir: "rel"}, "absolute"},
		{"missing workdir", Options{Name: "a", Workdir: "/nonexistent/x"}, "does not exist"},
		{"workdir is a file", Options{Name: "a", Workdir: file}, "not a directory"},
		{"workdir with colon", Options{Name: "a", Workdir: "/a:b"}, "cannot be mounted"},
		{"flag-like image", Options{Name: "a", Image: "--privileged"}, "image"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			o, err := normalize(tc.o, newMountGuard("/nonexistent/clauderon-home", "", nil))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				if o.Mode != ModeInteractive && tc.o.Mode == "" || o.Image == "" {
					t.Errorf("defaults not filled: %+v", o)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) || !errors.Is(err, ErrInvalid) {
				t.Errorf("err = %v, want ErrInvalid containing %q", err, tc.want)
			}
		})
	}
}

func TestClaudeArgv(t *testing.T) {
	got := ClaudeArgv(ModePrint, "--evil; rm -rf /")
	want := []string{"claude", "--dangerously-skip-permissions", "--print", "--verbose", "--output-format", "stream-json", "--", "--evil; rm -rf /"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %q\nwant %q", got, want)
	}
	if got := ClaudeArgv(ModeInteractive, ""); fmt.Sprint(got) != fmt.Sprint([]string{"claude", "--dangerously-skip-permissions"}) {
		t.Errorf("interactive without prompt: %q", got)
	}
}

func TestParseResult(t *testing.T) {
	out := `{"type":"system","subtype":"init"}
not json at all
{"type":"assistant","message":{"content":[{"type":"text","text":"result"}]}}
{"type":"result","subtype":"success","is_error":false,"duration_ms":1234,"num_turns":2,"result":"the answer","session_id":"s1","total_cost_usd":0.5}
`
	r, ok := ParseResult(strings.NewReader(out))
	if !ok {
		t.Fatal("no result found")
	}
	want := Result{Text: "the answer", Subtype: "success", CostUSD: 0.5, NumTurns: 2, DurationMS: 1234, ClaudeSessID: "s1"}
	if *r != want {
		t.Errorf("got %+v\nwant %+v", *r, want)
	}
	if _, ok := ParseResult(strings.NewReader("{\"type\":\"assistant\"}\n")); ok {
		t.Error("found a result where there is none")
	}
	// A session that continued has each turn's output in its log: the
	// result is its last turn's, and none when that turn gave none.
	second := out + `{"type":"system","subtype":"init","session_id":"s1"}
{"type":"result","subtype":"success","result":"the second answer","session_id":"s1","total_cost_usd":0.25,"num_turns":1}
`
	if r, ok := ParseResult(strings.NewReader(second)); !ok || r.Text != "the second answer" || r.CostUSD != 0.25 {
		t.Errorf("two turns: got %+v, want the second's result", r)
	}
	if r, ok := ParseResult(strings.NewReader(out + `{"type":"system","subtype":"init","session_id":"s1"}` + "\n")); ok {
		t.Errorf("a last turn without a result: got %+v, want none", r)
	}
}

func TestSecretRedacts(t *testing.T) {
	s := deriveSecret([]byte("k"), "a", "n")
	for _, out := range []string{fmt.Sprint(s), fmt.Sprintf("%v %+v %#v %s", s, s, s, s)} {
		if strings.Contains(out, s.Reveal()) {
			t.Errorf("secret printed: %q", out)
		}
	}
	b, _ := json.Marshal(struct{ S Secret }{s})
	if strings.Contains(string(b), s.Reveal()) {
		t.Errorf("secret marshalled: %s", b)
	}
	if !s.Equal(deriveSecret([]byte("k"), "a", "n")) || s.Equal(deriveSecret([]byte("k"), "b", "n")) || s.Equal(deriveSecret([]byte("k"), "a", "m")) {
		t.Error("derivation must depend on exactly key, name and nonce")
	}
}

func TestCreateRunExitRemove(t *testing.T) {
	h := newHarness(t)
	h.run(t)
	ctx := context.Background()
	s, err := h.m.Create(ctx, Options{Name: "p", Prompt: "hi", Mode: ModePrint, Workdir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusRunning || s.Container != "clauderon-p" || s.ContainerID == "" {
		t.Fatalf("after create: %+v", s)
	}
	spec := h.be.specs[s.ContainerID]
	sec, ok := h.auth.get("p")
	if !ok {
		t.Fatal("no proxy credential registered")
	}
	env := strings.Join(spec.Env, "\n")
	for _, want := range []string{"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-clauderon-proxy-placeholder", "HTTPS_PROXY=http://p:" + sec.Reveal() + "@host.docker.internal:18080",
		"NO_PROXY=localhost,127.0.0.1", "NODE_EXTRA_CA_CERTS=/etc/clauderon/proxy-ca.pem", "SSL_CERT_FILE=/etc/clauderon/ca-bundle.pem"} {
		if !strings.Contains(env, want) {
			t.Errorf("env lacks %q", want)
		}
	}
	for k, v := range spec.Labels {
		if strings.Contains(v, sec.Reveal()) {
			t.Errorf("label %s carries the proxy secret", k)
		}
	}
	if spec.User != "1234:1235" || spec.TTY || spec.ExtraHosts[0] != "host.docker.internal:host-gateway" {
		t.Errorf("spec: user %q tty %v hosts %v", spec.User, spec.TTY, spec.ExtraHosts)
	}
	if d := DefaultLimits(); !spec.Hardened || spec.Limits.MemoryBytes != d.MemoryBytes || spec.Limits.Pids != d.Pids || spec.Limits.NanoCPUs != int64(d.CPUs*1e9) {
		t.Errorf("spec: hardened %v, limits %+v; want hardened with the default limits", spec.Hardened, spec.Limits)
	}
	var claudeJSON bool
	for _, m := range spec.Mounts {
		if m.Target == "/home/agent/.claude.json" {
			claudeJSON = !m.ReadOnly && strings.HasPrefix(m.Source, h.home)
		}
	}
	if !claudeJSON {
		t.Errorf("claude.json not mounted writable from the home: %+v", spec.Mounts)
	}

	h.be.mu.Lock()
	h.be.logs[s.ContainerID] = `{"type":"result","result":"done","num_turns":1}` + "\n"
	h.be.mu.Unlock()
	h.be.exit(s.ContainerID, 0)
	s, err = h.m.Wait(ctx, "p")
	if err != nil {
		t.Fatal(err)
	}
	if s.Status != StatusExited || *s.ExitCode != 0 || s.Result == nil || s.Result.Text != "done" {
		t.Fatalf("after exit: %+v", s)
	}

	if err := h.m.Remove(ctx, "p", false, false); err != nil {
		t.Fatal(err)
	}
	if _, ok := h.auth.get("p"); ok {
		t.Error("credential survives rm")
	}
	if _, err := h.m.Get("p"); !errors.Is(err, ErrNotFound) {
		t.Errorf("Get after rm: %v", err)
	}
	if _, err := os.Stat(filepath.Join(h.home, "sessions", "p")); !os.IsNotExist(err) {
		t.Errorf("state survives rm: %v", err)
	}
	if len(h.be.cs) != 0 {
		t.Errorf("containers after rm: %v", h.be.cs)
	}
}

func TestCreateFailuresLeaveNothing(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	if _, err := h.m.Create(ctx, Options{Name: "a"}); err != nil {
		t.Fatal(err)
	}
	check := func(t *testing.T, name string) {
		t.Helper()
		if _, err := h.m.Get(name); err == nil {
			t.Error("session left behind")
		}
		if _, ok := h.auth.get(name); ok {
			t.Error("credential left behind")
		}
		if _, err := h.be.find(ContainerName(name)); err == nil {
			t.Error("container left behind")
		}
		if _, err := os.Stat(filepath.Join(h.home, "sessions", name)); err == nil {
			t.Error("state left behind")
		}
	}
	t.Run("duplicate", func(t *testing.T) {
		_, err := h.m.Create(ctx, Options{Name: "a"})
		if !errors.Is(err, ErrExists) {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("missing image", func(t *testing.T) {
		_, err := h.m.Create(ctx, Options{Name: "b", Image: "nope:1"})
		if !errors.Is(err, ErrImage) || !strings.Contains(err.Error(), "clauderon image build") {
			t.Fatalf("err %v", err)
		}
		check(t, "b")
	})
	t.Run("start fails", func(t *testing.T) {
		h.be.failStart = true
		defer func() { h.be.failStart = false }()
		if _, err := h.m.Create(ctx, Options{Name: "c"}); err == nil {
			t.Fatal("no error")
		}
		check(t, "c")
	})
	t.Run("engine down", func(t *testing.T) {
		h.be.down = true
		defer func() { h.be.down = false }()
		_, err := h.m.Create(ctx, Options{Name: "d"})
		if !errors.Is(err, ErrEngine) {
			t.Fatalf("err %v", err)
		}
		check(t, "d")
	})
	t.Run("foreign container with the name", func(t *testing.T) {
		h.be.Create(ctx, backendSpec("clauderon-e"))
		_, err := h.m.Create(ctx, Options{Name: "e"})
		if !errors.Is(err, ErrExists) || !strings.Contains(err.Error(), "docker rm") {
			t.Fatalf("err %v", err)
		}
	})
	t.Run("running needs force", func(t *testing.T) {
		err := h.m.Remove(ctx, "a", false, false)
		if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "--force") {
			t.Fatalf("err %v", err)
		}
		if err := h.m.Remove(ctx, "a", true, false); err != nil {
			t.Fatal(err)
		}
	})
}

// TestRestartKeepsSessions: a new manager on the same home finds every
// session, with the same credential, and follows exits that happened while
// no daemon ran.
func TestRestartKeepsSessions(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, _ := h.m.Create(ctx, Options{Name: "a"})
	b, _ := h.m.Create(ctx, Options{Name: "b", Mode: ModePrint, Prompt: "x"})
	secA, _ := h.auth.get("a")
	// The "daemon" dies; b exits meanwhile; its die event is lost.
	h.be.exit(b.ContainerID, 3)
	for len(h.be.events) > 0 {
		<-h.be.events
	}
	h.auth = &fakeAuth{m: map[string]Secret{}}
	h.open(t)
	ga, err := h.m.Get("a")
	if err != nil || ga.Status != StatusRunning {
		t.Errorf("a after restart: %+v %v", ga, err)
	}
	gb, err := h.m.Get("b")
	if err != nil || gb.Status != StatusExited || gb.ExitCode == nil || *gb.ExitCode != 3 {
		t.Errorf("b after restart: %+v %v", gb, err)
	}
	if s, ok := h.auth.get("a"); !ok || !s.Equal(secA) {
		t.Error("a's credential changed across the restart")
	}
	_ = a

	// Without its state file, a is rebuilt from labels with the same credential.
	os.Remove(filepath.Join(h.home, "sessions", "a", stateFile))
	h.auth = &fakeAuth{m: map[string]Secret{}}
	h.open(t)
	ga, err = h.m.Get("a")
	if err != nil || !ga.Rebuilt || ga.Status != StatusRunning || ga.Mode != ModeInteractive {
		t.Errorf("a rebuilt: %+v %v", ga, err)
	}
	if s, ok := h.auth.get("a"); !ok || !s.Equal(secA) {
		t.Error("a's rebuilt credential differs from its container's")
	}
}

func TestReconcileMarksVanishedAndListsOrphans(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	a, _ := h.m.Create(ctx, Options{Name: "a"})
	h.be.Remove(ctx, a.ContainerID, true)
	// A container of this home whose labels cannot be rebuilt.
	spec := backendSpec("clauderon-weird")
	spec.Labels = map[string]string{LabelManaged: "1", LabelHome: HomeID(h.home), LabelSession: "Not Valid"}
	h.be.Create(ctx, spec)
	if err := h.m.Reconcile(ctx); err != nil {
		t.Fatal(err)
	}
	if s, _ := h.m.Get("a"); s.Status != StatusFailed || s.Reason == "" {
		t.Errorf("a after its container vanished: %+v", s)
	}
	if o := h.m.Orphans(); len(o) != 1 || o[0].Name != "clauderon-weird" {
		t.Errorf("orphans: %+v", o)
	}
	if _, err := h.be.find("clauderon-weird"); err != nil {
		t.Error("an orphan was deleted")
	}
}

func TestStoreWritesAtomically(t *testing.T) {
	dir := t.TempDir()
	st := store{dir: dir}
	r := record{Session: Session{Name: "x", Status: StatusRunning, CreatedAt: time.Now()}, Nonce: "n"}
	if err := st.save(r); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "x", stateFile))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("state file: %v %v", fi, err)
	}
	ents, _ := os.ReadDir(filepath.Join(dir, "x"))
	if len(ents) != 1 {
		t.Errorf("temp files left: %v", ents)
	}
	os.WriteFile(filepath.Join(dir, "y"), nil, 0o600) // not a session dir
	os.MkdirAll(filepath.Join(dir, "z"), 0o700)
	os.WriteFile(filepath.Join(dir, "z", stateFile), []byte("{broken"), 0o600)
	recs, errs := st.load()
	if len(recs) != 1 || recs[0].Name != "x" || recs[0].Nonce != "n" || len(errs) != 1 {
		t.Errorf("load: %+v %v", recs, errs)
	}
}

// TestParseResultSkipsLongLines: one huge line of an earlier turn does not
// hide the results after it.
func TestParseResultSkipsLongLines(t *testing.T) {
	huge := `{"type":"assistant","text":"` + strings.Repeat("x", maxResultLine+10) + `"}`
	out := `{"type":"result","result":"one"}` + "\n" + huge + "\n" + `{"type":"result","result":"two"}` + "\n"
	if r, ok := ParseResult(strings.NewReader(out)); !ok || r.Text != "two" {
		t.Errorf("got %+v, want the result after the long line", r)
	}
	if r, ok := ParseResult(strings.NewReader(`{"type":"result","result":"last, no newline"}`)); !ok || r.Text != "last, no newline" {
		t.Errorf("a last line without a newline: %+v", r)
	}
}
