package daemon

import (
	"fmt"
	"io"
	"net/http"
	"sync"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/session"
)

// attachSession upgrades the request to a raw byte stream joined to the
// session's TTY. Detaching (closing the connection) leaves the session running.
func (d *Daemon) attachSession(w http.ResponseWriter, r *http.Request) error {
	if !validUpgrade(r) {
		return session.Errorf(errBody, "attach needs `Connection: Upgrade` and `Upgrade: %s`", api.UpgradeProto)
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		return fmt.Errorf("attach: connection cannot be hijacked")
	}
	// The stream outlives the request: it ends when either side closes or
	// the daemon drains.
	ctx, cancel := d.drainContext()
	st, err := d.sessions.Attach(ctx, r.PathValue("name"))
	if err != nil {
		cancel()
		return err
	}
	conn, bufrw, err := hj.Hijack()
	if err != nil {
		cancel()
		st.Close()
		return err
	}
	if _, err := io.WriteString(conn, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: "+api.UpgradeProto+"\r\n\r\n"); err != nil {
		cancel()
		st.Close()
		conn.Close()
		return nil
	}
	d.wg.Add(1)
	go func() {
		defer d.wg.Done()
		defer cancel()
		var once sync.Once
		closeAll := func() { once.Do(func() { st.Close(); conn.Close() }) }
		stop := make(chan struct{})
		go func() {
			select {
			case <-ctx.Done():
				closeAll()
			case <-stop:
			}
		}()
		done := make(chan struct{}, 2)
		go func() { _, _ = io.Copy(st, bufrw.Reader); done <- struct{}{} }()
		go func() { _, _ = io.Copy(conn, st); done <- struct{}{} }()
		<-done
		closeAll()
		<-done
		close(stop)
	}()
	return nil
}
