package daemon

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/gateway"
	"github.com/clauderon/clauderon/proxy"
)

// TestSandboxSockets: a session's socket is listened on in its own
// directory, even below a home too long for a socket path; the directory
// lets any uid search it and the socket lets any uid connect (the home
// above keeps other users out); a socket an earlier daemon left is
// replaced; Open is idempotent; Close removes the directory; bad names are
// refused.
func TestSandboxSockets(t *testing.T) {
	root := filepath.Join(t.TempDir(), strings.Repeat("long-", 20), sandboxDir)
	s := &sandboxes{root: root, binary: "/bin/true", pools: func(string) []*proxy.ConnPool { return []*proxy.ConnPool{proxy.NewConnPool(4)} }}
	served := make(chan string, 4)
	s.serveAll(func(name string, l net.Listener) {
		served <- name
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				fmt.Fprint(c, "hello "+name)
				c.Close()
			}
		}()
	})
	// What an earlier daemon left.
	if err := os.MkdirAll(s.Dir("a"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir("a"), gateway.SocketName), nil, 0o600); err != nil {
		t.Fatal(err)
	}
	dir, err := s.Open("a")
	if err != nil {
		t.Fatal(err)
	}
	if again, err := s.Open("a"); err != nil || again != dir {
		t.Fatalf("Open again: %q %v", again, err)
	}
	if len(served) != 1 || <-served != "a" {
		t.Fatal("the socket was not served once")
	}
	if fi, err := os.Stat(dir); err != nil || fi.Mode().Perm() != 0o711 {
		t.Errorf("socket directory mode %v %v, want 0711", fi.Mode(), err)
	}
	sock := filepath.Join(dir, gateway.SocketName)
	if fi, err := os.Stat(sock); err != nil || fi.Mode()&os.ModeSocket == 0 || fi.Mode().Perm() != 0o666 {
		t.Errorf("socket %v %v, want a socket open to every uid", fi.Mode(), err)
	}
	c, err := dialIn(dir)
	if err != nil {
		t.Fatal(err)
	}
	b := make([]byte, 16)
	n, _ := c.Read(b)
	c.Close()
	if string(b[:n]) != "hello a" {
		t.Errorf("read %q", b[:n])
	}
	s.Close("a")
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("after Close the directory is still there: %v", err)
	}
	for _, bad := range []string{"../x", "", "A"} {
		if _, err := s.Open(bad); err == nil {
			t.Errorf("Open(%q) was accepted", bad)
		}
	}
	s.closeAll()
	if _, err := s.Open("b"); err != nil {
		t.Errorf("Open after closeAll: %v", err)
	}
}

// dialIn connects to the socket in dir through the directory's descriptor.
func dialIn(dir string) (net.Conn, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return net.Dial("unix", fmt.Sprintf("/proc/self/fd/%d/%s", f.Fd(), gateway.SocketName))
}

// TestInstallGateway: the running binary is copied once, under a name of
// its hash, executable, into the home's bin.
func TestInstallGateway(t *testing.T) {
	home := t.TempDir()
	p, err := installGateway(home, "")
	if err != nil {
		t.Fatal(err)
	}
	if filepath.Dir(p) != filepath.Join(home, "bin") || !strings.HasPrefix(filepath.Base(p), "clauderon-") {
		t.Errorf("installed at %s", p)
	}
	fi, err := os.Stat(p)
	if err != nil || fi.Mode().Perm() != 0o755 {
		t.Fatalf("%v %v", fi, err)
	}
	again, err := installGateway(home, "")
	if err != nil || again != p {
		t.Errorf("second install %s %v", again, err)
	}
	entries, _ := os.ReadDir(filepath.Dir(p))
	if len(entries) != 1 {
		t.Errorf("bin holds %d entries, want 1", len(entries))
	}

	// Another binary named as the gateway (the desktop app's static CLI) is
	// what is installed, not the running one.
	other := filepath.Join(t.TempDir(), "clauderon-cli")
	if err := os.WriteFile(other, []byte("\x7fELF a static clauderon"), 0o755); err != nil {
		t.Fatal(err)
	}
	q, err := installGateway(home, other)
	if err != nil || q == p {
		t.Fatalf("install of %s: %s %v", other, q, err)
	}
	if b, _ := os.ReadFile(q); string(b) != "\x7fELF a static clauderon" {
		t.Errorf("installed %q, want the named binary", b)
	}
	cfg := testConfig(t, t.TempDir())
	cfg.GatewayBinary = other
	d := startDaemonWith(t, cfg)
	if b, _ := os.ReadFile(d.sandbox.binary); string(b) != "\x7fELF a static clauderon" {
		t.Errorf("the daemon's gateway is %q, want Config.GatewayBinary's", b)
	}
}

// TestStaticBinary tells a statically linked executable from one that
// needs an interpreter (the race-enabled test binary does).
func TestStaticBinary(t *testing.T) {
	self, _ := os.Executable()
	if static, err := staticBinary(self); err != nil || static {
		t.Errorf("the test binary: static=%v %v, want dynamic", static, err)
	}
	notELF := filepath.Join(t.TempDir(), "x")
	os.WriteFile(notELF, []byte("#!/bin/sh\n"), 0o755)
	if _, err := staticBinary(notELF); err == nil {
		t.Error("a script was read as an ELF binary")
	}
}
