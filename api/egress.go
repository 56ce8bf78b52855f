package api

import "time"

// EgressMode says which hosts a session's blind tunnels may reach. The
// proxy's rule hosts (api.anthropic.com, where the credential is injected)
// are always reachable.
type EgressMode string

const (
	// EgressOpen allows any host (a session of an older clauderon, which
	// had no policy, has this one).
	EgressOpen EgressMode = "open"
	// EgressBalanced allows the rule hosts, the daemon's development hosts
	// (config.json's egress.balanced_hosts), and the session's own allow
	// list. It is the default.
	EgressBalanced EgressMode = "balanced"
	// EgressLocked allows the rule hosts and the session's allow list only.
	EgressLocked EgressMode = "locked"
)

// Egress is a session's policy for the hosts it tunnels to.
type Egress struct {
	Mode  EgressMode `json:"mode,omitempty"`  // "" is EgressOpen
	Allow []string   `json:"allow,omitempty"` // more hosts; "*.example.com" wildcards
}

// Denial is a host the egress policy refused: when last, and how often.
type Denial struct {
	Time  time.Time `json:"time"`
	Host  string    `json:"host"`
	Count int       `json:"count"`
}

// EgressReport is a session's egress policy and its latest denials: the
// answer of GET and POST /sessions/{name}/egress.
type EgressReport struct {
	Session  string   `json:"session"`
	Mode     string   `json:"mode"`
	Allow    []string `json:"allow"`
	Balanced []string `json:"balanced,omitempty"` // the development hosts balanced adds
	// Denials are the latest refused tunnels since the daemon started,
	// oldest first; the audit log keeps every one.
	Denials []Denial `json:"denials"`
}

// EgressChange is the body of POST /sessions/{name}/egress: hosts to add
// to the session's allow list, and a mode to switch to (when not empty).
type EgressChange struct {
	Mode  string   `json:"mode,omitempty"`
	Allow []string `json:"allow,omitempty"`
}
