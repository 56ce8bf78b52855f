package daemon

import "testing"

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
