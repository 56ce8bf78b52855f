// Package gateway is a session container's only way out. The container has
// no network but its loopback; `clauderon gateway` runs first in it,
// listens on the loopback at ListenAddr, and carries every connection made
// there, unread, to the daemon's proxy through a unix socket that the
// daemon bind-mounts (read-only) from CLAUDERON_HOME. Then it becomes the
// session's own command.
//
// Nothing here holds a credential or reads a byte of what it carries: the
// proxy authenticates every request as it does on any listener, and it
// knows from the socket which session is calling.
package gateway

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Where things are inside a session's container.
const (
	// ListenAddr is where the container's HTTPS_PROXY points.
	ListenAddr = "127.0.0.1:3128"
	// SocketDir is where the daemon's per-session socket directory is
	// mounted, and Socket the socket in it.
	SocketDir = "/run/clauderon"
	Socket    = SocketDir + "/" + SocketName
	// SocketName is the socket's name in its directory on the host too.
	SocketName = "proxy.sock"
	// Binary is where the daemon mounts the clauderon binary that runs as
	// the gateway.
	Binary = "/opt/clauderon/bin/clauderon"
	// ArgvName is the file in the socket directory that, when present,
	// holds the command the gateway becomes instead of the one it was
	// given: the daemon writes it before it starts a finished container
	// again (a further turn), since an engine keeps a container's command.
	ArgvName = "argv.json"
	ArgvFile = SocketDir + "/" + ArgvName
)

// MaxArgvBytes bounds the argv file.
const MaxArgvBytes = 1 << 20

// Argv is the content of the argv file.
type Argv struct {
	Argv []string `json:"argv"`
	// Fresh, when set, is the command instead when Claude Code has no
	// conversation in the container yet (see HasConversation): Argv
	// continues one (claude --continue), which fails when there is none.
	Fresh []string `json:"fresh,omitempty"`
}

// HasConversation reports whether Claude Code keeps a conversation under
// home (in $CLAUDE_CONFIG_DIR, or home/.claude): a transcript in projects/.
// The container runs in one directory, so any transcript is its own.
func HasConversation(home string) bool {
	dir := os.Getenv("CLAUDE_CONFIG_DIR")
	if dir == "" {
		dir = filepath.Join(home, ".claude")
	}
	m, _ := filepath.Glob(filepath.Join(dir, "projects", "*", "*.jsonl"))
	return len(m) > 0
}

// unreachable is the answer to a client when the daemon does not listen on
// the socket (it is stopped or restarting): nothing is forwarded, and no
// credential is read.
const unreachable = "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain; charset=utf-8\r\nConnection: close\r\n\r\n" +
	"clauderon: the daemon's proxy is not running; start it with `clauderon daemon` and retry\n"

// ErrNotOnPath: the command the gateway should become is not in the image.
var ErrNotOnPath = errors.New("is not on the image's PATH")

// forwardFlag marks the background process that forwards connections.
const forwardFlag = "--forward"

// Main runs `clauderon gateway [--listen ADDR] [--socket PATH] [--argv FILE] -- CMD…`:
// it listens on ADDR, starts the forwarder in the background, and replaces
// itself with CMD (looked up on PATH), which thus keeps the process's
// place, terminal and signals. When FILE (ArgvFile by default) exists, the
// command it holds replaces CMD. It returns only on failure.
func Main(args []string) error {
	o, err := parse(args)
	if err != nil {
		return err
	}
	if o.forward {
		ln, err := net.FileListener(os.NewFile(3, "gateway-listener"))
		if err != nil {
			return fmt.Errorf("gateway: the listener was not passed: %w", err)
		}
		return Forward(ln, o.socket)
	}
	if len(o.cmd) == 0 {
		return errors.New("gateway: usage: clauderon gateway [--listen ADDR] [--socket PATH] [--argv FILE] -- CMD [ARG…]")
	}
	if o.argv != "" {
		cmd, err := ReadArgv(o.argv)
		if err != nil {
			return fmt.Errorf("gateway: %w", err)
		}
		if cmd != nil {
			o.cmd = cmd
		}
	}
	argv0, err := exec.LookPath(o.cmd[0])
	if err != nil {
		return fmt.Errorf("gateway: %s %w: %v", o.cmd[0], ErrNotOnPath, err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	f, err := ln.(*net.TCPListener).File()
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	self, err := os.Executable()
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	// The forwarder gets its own session, so the terminal's signals (^C)
	// reach only the command, and the listener, so that the command's
	// first connection cannot come before it.
	fw := exec.Command(self, "gateway", forwardFlag, "--socket", o.socket)
	fw.ExtraFiles = []*os.File{f}
	fw.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := fw.Start(); err != nil {
		return fmt.Errorf("gateway: cannot start the forwarder: %w", err)
	}
	f.Close()
	ln.Close()
	return syscall.Exec(argv0, o.cmd, os.Environ())
}

type options struct {
	listen, socket, argv string
	forward              bool
	cmd                  []string
}

// ReadArgv reads the argv file at path: nil when there is none. It is the
// file's Fresh command when that is set and there is no conversation under
// $HOME.
func ReadArgv(path string) ([]string, error) {
	a, err := readArgvFile(path)
	if err != nil || a == nil {
		return nil, err
	}
	if len(a.Fresh) > 0 && !HasConversation(os.Getenv("HOME")) {
		return a.Fresh, nil
	}
	return a.Argv, nil
}

func readArgvFile(path string) (*Argv, error) {
	f, err := os.Open(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	b, err := io.ReadAll(io.LimitReader(f, MaxArgvBytes+1))
	if err != nil {
		return nil, err
	}
	if len(b) > MaxArgvBytes {
		return nil, fmt.Errorf("%s is larger than %d bytes", path, MaxArgvBytes)
	}
	var a Argv
	if err := json.Unmarshal(b, &a); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(a.Argv) == 0 || a.Argv[0] == "" || (len(a.Fresh) > 0 && a.Fresh[0] == "") {
		return nil, fmt.Errorf("%s names no command", path)
	}
	return &a, nil
}

func parse(args []string) (options, error) {
	o := options{listen: ListenAddr, socket: Socket, argv: ArgvFile}
	for i := 0; i < len(args); i++ {
		switch a := args[i]; a {
		case "--":
			o.cmd = args[i+1:]
			return o, nil
		case forwardFlag:
			o.forward = true
		case "--listen", "--socket", "--argv":
			if i+1 == len(args) {
				return o, fmt.Errorf("gateway: %s needs a value", a)
			}
			i++
			switch a {
			case "--listen":
				o.listen = args[i]
			case "--socket":
				o.socket = args[i]
			default:
				o.argv = args[i]
			}
		default:
			return o, fmt.Errorf("gateway: unknown argument %q", a)
		}
	}
	return o, nil
}

// Forward accepts connections on ln and carries each to the unix socket at
// socket until ln fails.
func Forward(ln net.Listener, socket string) error {
	for {
		c, err := ln.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		go carry(c, socket)
	}
}

func carry(c net.Conn, socket string) {
	defer c.Close()
	up, err := net.DialTimeout("unix", socket, 5*time.Second)
	if err != nil {
		_, _ = io.WriteString(c, unreachable)
		// Read a little of what the client sent, so that closing does not
		// reset the connection before it reads the answer.
		if tc, ok := c.(*net.TCPConn); ok {
			_ = tc.CloseWrite()
		}
		_ = c.SetReadDeadline(time.Now().Add(time.Second))
		_, _ = io.CopyN(io.Discard, c, 64<<10)
		return
	}
	defer up.Close()
	done := make(chan struct{})
	go func() {
		_, _ = io.Copy(up, c)
		_ = up.(*net.UnixConn).CloseWrite()
		close(done)
	}()
	_, _ = io.Copy(c, up)
	if tc, ok := c.(*net.TCPConn); ok {
		_ = tc.CloseWrite()
	}
	// The proxy has said all it will; a client that never closes must not
	// hold the connection forever.
	_ = c.SetReadDeadline(time.Now().Add(halfCloseGrace))
	<-done
}

// halfCloseGrace is how long the client may go on sending after the proxy
// closed its side, as the proxy's own tunnels allow.
const halfCloseGrace = time.Minute
