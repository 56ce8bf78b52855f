package session

import (
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"time"
)

// Labels every session container carries, enough to rebuild the session
// from the engine alone. None of them is a secret.
const (
	LabelManaged = "dev.clauderon.managed" // "1"
	LabelHome    = "dev.clauderon.home"    // which CLAUDERON_HOME owns it
	LabelSession = "dev.clauderon.session" // session name
	LabelMode    = "dev.clauderon.mode"
	LabelPrompt  = "dev.clauderon.prompt-sha256"
	LabelImage   = "dev.clauderon.image"
	LabelWorkdir = "dev.clauderon.workdir"
	LabelCreated = "dev.clauderon.created"
	LabelNonce   = "dev.clauderon.credential-nonce"
	// LabelProxyPort is the host port the container's HTTPS_PROXY names.
	LabelProxyPort = "dev.clauderon.proxy-port"
)

// HomeID names a CLAUDERON_HOME in labels, so daemons of different homes on
// one engine never touch each other's containers.
func HomeID(home string) string {
	sum := sha256.Sum256([]byte(home))
	return hex.EncodeToString(sum[:8])
}

func labelsFor(r record, homeID string) map[string]string {
	l := map[string]string{
		LabelManaged: "1",
		LabelHome:    homeID,
		LabelSession: r.Name,
		LabelMode:    string(r.Mode),
		LabelPrompt:  r.PromptSHA256,
		LabelImage:   r.Image,
		LabelWorkdir: r.Workdir,
		LabelCreated: r.CreatedAt.UTC().Format(time.RFC3339Nano),
		LabelNonce:   r.Nonce,
	}
	if r.ProxyPort != 0 {
		l[LabelProxyPort] = strconv.Itoa(r.ProxyPort)
	}
	return l
}

// recordFromLabels rebuilds a session from its container's labels; ok is
// false when they are not enough.
func recordFromLabels(l map[string]string) (record, bool) {
	var r record
	r.Name = l[LabelSession]
	r.Nonce = l[LabelNonce]
	r.Mode = Mode(l[LabelMode])
	if ValidateName(r.Name) != nil || r.Nonce == "" || (r.Mode != ModeInteractive && r.Mode != ModePrint) {
		return record{}, false
	}
	r.PromptSHA256 = l[LabelPrompt]
	r.Image = l[LabelImage]
	r.Workdir = l[LabelWorkdir]
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, l[LabelCreated])
	if p, err := strconv.Atoi(l[LabelProxyPort]); err == nil && p > 0 && p < 65536 {
		r.ProxyPort = p
	}
	r.Container = ContainerName(r.Name)
	r.Rebuilt = true
	return r, true
}
