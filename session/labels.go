package session

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"path/filepath"
	"strconv"
	"time"

	"github.com/clauderon/clauderon/api"
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
	// LabelGateway is "1" when the container's only way out is its gateway.
	LabelGateway = "dev.clauderon.gateway"
	// LabelEgress is the egress policy the session started with (JSON); a
	// later `egress allow` is in the session's state.
	LabelEgress = "dev.clauderon.egress"
	// LabelWorkspace is the workspace's description (JSON, without what was
	// landed or applied), and LabelMounts the direct mounts (JSON).
	LabelWorkspace = "dev.clauderon.workspace"
	LabelMounts    = "dev.clauderon.mounts"
	// LabelNest is a nested session's parent, depth, spawn cap and spawn
	// images (JSON); always set, "" for a session with none of them.
	LabelNest = "dev.clauderon.nest"
)

// nestLabel is LabelNest's content.
type nestLabel struct {
	Parent      string   `json:"parent,omitempty"`
	Depth       int      `json:"depth,omitempty"`
	Spawn       int      `json:"spawn,omitempty"`
	SpawnImages []string `json:"spawn_images,omitempty"`
}

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
	l[LabelBackend] = r.BackendName()
	l[LabelGateway] = ""
	if r.Gateway {
		l[LabelGateway] = "1"
	}
	b, _ := json.Marshal(r.Egress)
	l[LabelEgress] = string(b)
	// Both are always set, empty for none, so an image's own labels of the
	// same names (which the engine would otherwise merge in) are not believed.
	l[LabelWorkspace], l[LabelMounts] = "", ""
	if w := r.Workspace; w != nil {
		c := *w
		c.Landed, c.Applied = nil, nil
		b, _ := json.Marshal(c)
		l[LabelWorkspace] = string(b)
	}
	if len(r.Mounts) > 0 {
		b, _ := json.Marshal(r.Mounts)
		l[LabelMounts] = string(b)
	}
	l[LabelNest] = ""
	if n := (nestLabel{r.Parent, r.Depth, r.Spawn, r.SpawnImages}); n.Parent != "" || n.Spawn > 0 {
		b, _ := json.Marshal(n)
		l[LabelNest] = string(b)
	}
	return l
}

// recordFromLabels rebuilds a session from its container's labels; ok is
// false when they are not enough. wsRoot is where this home keeps workspaces:
// a workspace label naming another place is not believed.
func recordFromLabels(l map[string]string, wsRoot string) (record, bool) {
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
	r.Gateway = l[LabelGateway] == "1"
	// No label: a session of an older clauderon, which had no policy. A
	// policy that cannot be read becomes the strictest one.
	if v := l[LabelEgress]; v != "" {
		r.Egress = Egress{Mode: EgressLocked}
		var e Egress
		if json.Unmarshal([]byte(v), &e) == nil && checkEgress(e) == nil {
			r.Egress = e
		}
	}
	if v := l[LabelWorkspace]; v != "" {
		var w api.Workspace
		if json.Unmarshal([]byte(v), &w) != nil || w.Dir != filepath.Join(wsRoot, r.Name) || !filepath.IsAbs(w.Source) {
			return record{}, false
		}
		r.Workspace = &w
	}
	if v := l[LabelMounts]; v != "" {
		if json.Unmarshal([]byte(v), &r.Mounts) != nil {
			return record{}, false
		}
	}
	if v := l[LabelNest]; v != "" {
		// What a rebuilt session may spawn is what it was given; how
		// many it had spawned is lost, so it counts its live children.
		var n nestLabel
		if json.Unmarshal([]byte(v), &n) != nil || n.Depth < 0 || n.Spawn < 0 || n.Spawn > MaxSpawn ||
			(n.Parent != "" && ValidateName(n.Parent) != nil) || (n.Parent == "") != (n.Depth == 0) {
			return record{}, false
		}
		for _, im := range n.SpawnImages {
			if !ValidImageRef(im) {
				return record{}, false
			}
		}
		r.Parent, r.Depth, r.Spawn, r.SpawnImages = n.Parent, n.Depth, n.Spawn, n.SpawnImages
	}
	r.Container = ContainerName(r.Name)
	r.Rebuilt = true
	return r, true
}
