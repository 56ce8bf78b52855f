package daemon

import (
	"net/http"
	"strconv"

	"github.com/clauderon/clauderon/api"
)

// MCPInfo is where the MCP endpoint listens and its bearer token, for the
// user to configure a client with. Only user routes offer it: a session
// holding the token could drive every other session.
func (d *Daemon) MCPInfo() api.MCPInfo {
	info := api.MCPInfo{Enabled: d.mcpLn != nil}
	if d.mcpLn != nil {
		info.URL = "http://127.0.0.1:" + strconv.Itoa(d.mcpPort) + "/mcp"
		info.Token = d.mcpToken
	}
	if d.mcpErr != nil {
		info.Error = d.mcpErr.Error()
	}
	return info
}

// getMCP serves GET /mcp.
func (d *Daemon) getMCP(w http.ResponseWriter, r *http.Request) error {
	writeJSON(w, http.StatusOK, d.MCPInfo())
	return nil
}
