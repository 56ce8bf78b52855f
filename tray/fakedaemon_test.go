package tray

import (
	"encoding/json"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"testing"

	"github.com/clauderon/clauderon/api"
	"github.com/clauderon/clauderon/client"
)

// fakeDaemon serves the two LocalAPI routes the tray reads: /status, and
// /events as a stream whose events the test sends. The tray's watch is the
// real client's; only the daemon is fake, so the tray test needs no engine.
type fakeDaemon struct {
	srv    *httptest.Server
	sock   string
	events chan api.Event
}

func newFakeDaemon(t *testing.T, snapshot []api.Session) *fakeDaemon {
	f := &fakeDaemon{events: make(chan api.Event, 16)}
	mux := http.NewServeMux()
	mux.HandleFunc("GET "+api.APIPrefix+"/status", func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(api.DaemonStatus{ProxyPort: 4443, ProxyAddrs: []string{"127.0.0.1:4443"}})
	})
	mux.HandleFunc("GET "+api.APIPrefix+"/events", func(w http.ResponseWriter, r *http.Request) {
		enc := json.NewEncoder(w)
		enc.Encode(api.Event{Seq: 1, Kind: api.EventSnapshot, Sessions: snapshot})
		w.(http.Flusher).Flush()
		for {
			select {
			case <-r.Context().Done():
				return
			case ev := <-f.events:
				enc.Encode(ev)
				w.(http.Flusher).Flush()
			}
		}
	})
	// A unix socket, as the real daemon's, so another process (the
	// tray's, in the D-Bus test) can reach it by its path.
	f.sock = filepath.Join(t.TempDir(), "clauderon.sock")
	l, err := net.Listen("unix", f.sock)
	if err != nil {
		t.Fatal(err)
	}
	f.srv = httptest.NewUnstartedServer(mux)
	f.srv.Listener = l
	f.srv.Start()
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeDaemon) client() *client.Client { return &client.Client{Socket: f.sock} }
