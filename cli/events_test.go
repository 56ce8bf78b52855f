package cli

import (
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/api"
)

func TestEventLine(t *testing.T) {
	at := time.Date(2026, 1, 2, 3, 4, 5, 0, time.Local)
	tests := []struct {
		name string
		e    api.Event
		want []string // substrings
		not  string
	}{
		{"snapshot", api.Event{Seq: 3, Kind: api.EventSnapshot, Time: at, Sessions: []api.Session{{Name: "a", Status: api.StatusRunning}}}, []string{"03:04:05 #3 snapshot 1 sessions", "  a running"}, ""},
		{"changed", api.Event{Seq: 4, Kind: api.EventChanged, Time: at, Name: "a", Session: &api.Session{Name: "a", Status: api.StatusStopped}}, []string{"#4 changed  a stopped"}, ""},
		{"audit escaped", api.Event{Seq: 5, Kind: api.EventAudit, Time: at, Name: "a", Audit: &api.AuditEntry{Method: "GET", Host: "h:443", Path: "/x\x1b[2J", Status: 200}}, []string{"a GET h:443/x?[2J 200"}, "\x1b"},
		{"activity", api.Event{Seq: 6, Kind: api.EventActivity, Time: at, Name: "a", Activity: []byte(`{ "state": "working\u001b" }`)}, []string{`a {"state":"working\u001b"}`}, "\x1b"},
		{"resync", api.Event{Seq: 7, Kind: api.EventResync, Time: at, Reason: "fell behind"}, []string{"#7 resync   fell behind; subscribing again"}, ""},
	}
	for _, tc := range tests {
		got := eventLine(tc.e)
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: eventLine = %q, want it to contain %q", tc.name, got, w)
			}
		}
		if tc.not != "" && strings.Contains(got, tc.not) {
			t.Errorf("%s: eventLine = %q holds %q", tc.name, got, tc.not)
		}
	}
}
