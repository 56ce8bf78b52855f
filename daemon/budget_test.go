package daemon

import (
	"context"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/clauderon/clauderon/client"
	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/session"
)

// TestBudgetIsUserOnly: no agent (the MCP server's in-process client) and
// no session's child client may change a budget; the user's socket may.
func TestBudgetIsUserOnly(t *testing.T) {
	const r = "POST /sessions/{name}/budget"
	if agentRoutes[r] || childRoutes[r] {
		t.Errorf("%s is open to agents (%v) or children (%v)", r, agentRoutes[r], childRoutes[r])
	}
	d := &Daemon{}
	found := false
	for _, rt := range d.routes() {
		if rt.method+" "+rt.pattern == r {
			found = true
		}
	}
	if !found {
		t.Errorf("%s is not in the route table", r)
	}
}

// TestDailyBudgetRoute: the day's budget changes at once through the
// LocalAPI, is saved in config.json beside every other setting, outlives
// the daemon, and is refused when it is not a number of dollars.
func TestDailyBudgetRoute(t *testing.T) {
	home := t.TempDir()
	conf := `{"mcp":{"port":-1},"budget":{"daily_usd":1},"prices":{"cheap":{"input":1000,"output":0,"cache_write":0,"cache_read":0}}}`
	if err := os.WriteFile(filepath.Join(home, config.FileName), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	// Today's spending so far: $0.02 (the day file the ledger keeps).
	if err := os.MkdirAll(filepath.Join(home, "usage"), 0o700); err != nil {
		t.Fatal(err)
	}
	day := time.Now().Format("2006-01-02")
	if err := os.WriteFile(filepath.Join(home, "usage", day+".json"), []byte(`{"cheap":{"input_tokens":20,"requests":1}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	d := startDaemonWith(t, testConfig(t, home))
	c := &client.Client{Socket: d.Socket()}
	ctx := context.Background()

	if b, err := c.DailyBudget(ctx); err != nil || b.USD != 1 || b.SpentUSD != 0.02 || b.Day != day {
		t.Fatalf("daily budget from config.json: %+v %v", b, err)
	}
	if err := d.sessions.CheckBudget("a"); err != nil {
		t.Fatalf("under the day's budget: %v", err)
	}
	b, err := c.SetDailyBudget(ctx, 0.01)
	if err != nil || b.USD != 0.01 || b.SpentUSD != 0.02 {
		t.Fatalf("set to $0.01: %+v %v", b, err)
	}
	err = d.sessions.CheckBudget("a")
	if !errors.Is(err, session.ErrBudgetSpent) || !strings.Contains(err.Error(), "clauderon budget --daily") {
		t.Errorf("after lowering the day's budget: %v; want spent, naming clauderon budget --daily", err)
	}
	got, err := config.Load(home)
	if err != nil || got.Budget.DailyUSD != 0.01 || got.MCP.Port != -1 || got.Prices["cheap"].Input != 1000 {
		t.Errorf("config.json after the change: %+v %v; want daily_usd 0.01 and the rest kept", got, err)
	}
	if _, err := c.SetDailyBudget(ctx, 0); err != nil {
		t.Fatal(err)
	}
	if err := d.sessions.CheckBudget("a"); err != nil {
		t.Errorf("with no daily budget: %v", err)
	}
	if raw, _ := os.ReadFile(filepath.Join(home, config.FileName)); strings.Contains(string(raw), "daily_usd") {
		t.Errorf("a removed daily budget is still in config.json: %s", raw)
	}
	hc := &http.Client{Transport: &http.Transport{DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", d.Socket())
	}}}
	for _, body := range []string{`{"usd":-1}`, `{}`, `{"usd":"5"}`} {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPut, "http://clauderon/api/v0/budget", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusBadRequest {
			t.Errorf("PUT /budget %s: %d, want 400", body, resp.StatusCode)
		}
	}
	if r := "PUT /budget"; agentRoutes[r] || childRoutes[r] {
		t.Errorf("%s is open to agents or children", r)
	}
}
