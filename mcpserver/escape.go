package mcpserver

import "github.com/clauderon/clauderon/termsafe"

// visible renders text a container may have written, as the CLI does:
// every string a tool returns goes through it (see termsafe).
var visible = termsafe.Visible
