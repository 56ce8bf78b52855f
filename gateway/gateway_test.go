package gateway

import (
	"bufio"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		args    []string
		want    options
		wantErr string
	}{
		{"defaults", []string{"--", "claude", "-p"}, options{listen: ListenAddr, socket: Socket, cmd: []string{"claude", "-p"}}, ""},
		{"flags", []string{"--listen", "127.0.0.1:9", "--socket", "/s", "--", "x"}, options{listen: "127.0.0.1:9", socket: "/s", cmd: []string{"x"}}, ""},
		{"forward", []string{forwardFlag, "--socket", "/s"}, options{listen: ListenAddr, socket: "/s", forward: true}, ""},
		{"a command's flags are its own", []string{"--", "claude", "--socket", "x"}, options{listen: ListenAddr, socket: Socket, cmd: []string{"claude", "--socket", "x"}}, ""},
		{"missing value", []string{"--socket"}, options{}, "needs a value"},
		{"unknown", []string{"--evil"}, options{}, "unknown argument"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(tt.args)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.listen != tt.want.listen || got.socket != tt.want.socket || got.forward != tt.want.forward || strings.Join(got.cmd, " ") != strings.Join(tt.want.cmd, " ") {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMainNeedsACommand(t *testing.T) {
	if err := Main(nil); err == nil || !strings.Contains(err.Error(), "usage") {
		t.Fatalf("err %v, want usage", err)
	}
	if err := Main([]string{"--", "no-such-command-clauderon"}); err == nil || !strings.Contains(err.Error(), "not on the image's PATH") {
		t.Fatalf("err %v, want not on PATH", err)
	}
}

// startForward runs Forward from a loopback listener to socket.
func startForward(t *testing.T, socket string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go Forward(ln, socket)
	return ln.Addr().String()
}

func TestForwardCarriesBothWays(t *testing.T) {
	sock := filepath.Join(t.TempDir(), SocketName)
	up, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer up.Close()
	go func() {
		for {
			c, err := up.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				b, _ := io.ReadAll(c) // until the client's half-close
				c.Write([]byte("got " + string(b)))
			}()
		}
	}()
	addr := startForward(t, sock)
	for i := range 3 {
		c, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatal(err)
		}
		c.Write([]byte("CONNECT x:443"))
		c.(*net.TCPConn).CloseWrite()
		b, err := io.ReadAll(c)
		c.Close()
		if err != nil || string(b) != "got CONNECT x:443" {
			t.Fatalf("round %d: %q, %v", i, b, err)
		}
	}
}

func TestForwardWithoutDaemonAnswers503(t *testing.T) {
	addr := startForward(t, filepath.Join(t.TempDir(), "nothing-listens.sock"))
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("CONNECT api.anthropic.com:443 HTTP/1.1\r\nProxy-Authorization: Basic eDp5\r\n\r\n"))
	resp, err := io.ReadAll(bufio.NewReader(c))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(resp), "HTTP/1.1 503 ") || !strings.Contains(string(resp), "clauderon daemon") {
		t.Fatalf("answer %q, want a 503 that says to start the daemon", resp)
	}
}

func TestReadArgv(t *testing.T) {
	dir := t.TempDir()
	if got, err := ReadArgv(filepath.Join(dir, "none.json")); got != nil || err != nil {
		t.Fatalf("no file: %q, %v; want nil, nil", got, err)
	}
	write := func(name, body string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	got, err := ReadArgv(write("ok.json", `{"argv":["claude","--resume","x","--","next turn"]}`))
	if err != nil || strings.Join(got, "|") != "claude|--resume|x|--|next turn" {
		t.Fatalf("got %q, %v", got, err)
	}
	for name, body := range map[string]string{
		"empty.json":   `{"argv":[]}`,
		"noname.json":  `{"argv":[""]}`,
		"broken.json":  `{"argv":`,
		"toobig.json":  `{"argv":["` + strings.Repeat("a", MaxArgvBytes) + `"]}`,
		"notjson.json": "claude -p",
	} {
		if got, err := ReadArgv(write(name, body)); err == nil {
			t.Errorf("%s: got %q, want an error", name, got)
		}
	}
}

// TestReadArgvFresh: a command that continues a conversation is the file's
// only when there is one; the fresh one otherwise.
func TestReadArgvFresh(t *testing.T) {
	home := t.TempDir()
	t.Setenv("HOME", home)
	t.Setenv("CLAUDE_CONFIG_DIR", "")
	p := filepath.Join(t.TempDir(), ArgvName)
	if err := os.WriteFile(p, []byte(`{"argv":["claude","--continue"],"fresh":["claude"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadArgv(p); err != nil || strings.Join(got, " ") != "claude" {
		t.Errorf("no conversation: %q, %v; want the fresh command", got, err)
	}
	proj := filepath.Join(home, ".claude", "projects", "-workspace")
	if err := os.MkdirAll(proj, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(proj, "c0ffee.jsonl"), []byte("{}\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if got, err := ReadArgv(p); err != nil || strings.Join(got, " ") != "claude --continue" {
		t.Errorf("a conversation: %q, %v; want the continuing command", got, err)
	}
	if err := os.WriteFile(p, []byte(`{"argv":["claude"],"fresh":[""]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadArgv(p); err == nil {
		t.Error("a fresh command without a name was accepted")
	}
}

func TestMainBecomesTheArgvFilesCommand(t *testing.T) {
	p := filepath.Join(t.TempDir(), ArgvName)
	if err := os.WriteFile(p, []byte(`{"argv":["no-such-next-turn-clauderon"]}`), 0o644); err != nil {
		t.Fatal(err)
	}
	// The command given is on PATH; the file's is not, so the error shows
	// which one the gateway would have become.
	err := Main([]string{"--argv", p, "--", "sh"})
	if err == nil || !strings.Contains(err.Error(), "no-such-next-turn-clauderon") {
		t.Fatalf("err %v, want the argv file's command", err)
	}
	if err := os.WriteFile(p, []byte(`{"argv":`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Main([]string{"--argv", p, "--", "sh"}); err == nil || !strings.Contains(err.Error(), ArgvName) {
		t.Fatalf("err %v, want a broken argv file refused", err)
	}
}
