// Package session holds the session model, name and input validation, the
// persistent store, the container lifecycle and reconciliation with the engine.
package session

import (
	"crypto/sha256"
	"encoding/hex"

	"github.com/clauderon/clauderon/api"
)

// The session model is the LocalAPI's (package api); these names keep the
// session code reading as it did.
type (
	Session = api.Session
	Status  = api.SessionStatus
	Mode    = api.Mode
	Options = api.CreateSession
	Changes = api.Changes
	Mount   = api.Mount
	Result  = api.Result
	Limits  = api.Limits
	User    = api.User
	Orphan  = api.Orphan
)

const (
	StatusCreating = api.StatusCreating
	StatusRunning  = api.StatusRunning
	StatusExited   = api.StatusExited
	StatusStopped  = api.StatusStopped
	StatusFailed   = api.StatusFailed
	StatusDeleted  = api.StatusDeleted

	ModeInteractive = api.ModeInteractive
	ModePrint       = api.ModePrint
)

// DefaultImage is the agent image sessions run when none is named.
const DefaultImage = api.DefaultImage

// ContainerName is the engine's name for a session's container.
func ContainerName(name string) string { return "clauderon-" + name }

func promptHash(p string) string {
	sum := sha256.Sum256([]byte(p))
	return hex.EncodeToString(sum[:])
}
