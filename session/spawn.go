package session

import (
	"fmt"
	"slices"
	"strings"
)

// Nested sessions: a session created with Spawn > 0 may start that many
// children through clauderon's MCP server, which its container reaches at
// the proxy's reserved name (proxy.InternalHost). Every cap below is the
// parent's, checked here under the manager's lock, so a child can never
// raise one: not its own, not its parent's.

// DefaultMaxDepth is how deep sessions may nest unless config.json says: a
// top-level session is at depth 0, its children at 1, theirs at 2.
const DefaultMaxDepth = 2

// MaxSpawn bounds what --spawn may ask for.
const MaxSpawn = 64

// maxDepth is the configured depth cap; a negative MaxDepth turns nesting off.
func (m *Manager) maxDepth() int {
	switch d := m.cfg.MaxDepth; {
	case d < 0:
		return 0
	case d == 0:
		return DefaultMaxDepth
	default:
		return d
	}
}

// capErr is a refusal above one of a parent's caps; its text names the cap.
func capErr(cap, format string, args ...any) error {
	return Errorf(ErrCap, "over the %s cap: %s", cap, fmt.Sprintf(format, args...))
}

// checkSpawnOptions checks what any session (child or not) asks to spawn.
func (m *Manager) checkSpawnOptions(o Options, depth int) error {
	if o.Spawn < 0 || o.Spawn > MaxSpawn {
		return Errorf(ErrInvalid, "spawn %d is not from 0 to %d", o.Spawn, MaxSpawn)
	}
	if o.Spawn == 0 && len(o.SpawnImages) > 0 {
		return Errorf(ErrInvalid, "spawn images are the images a session's children may run; give --spawn too")
	}
	for _, im := range o.SpawnImages {
		if !ValidImageRef(im) {
			return Errorf(ErrInvalid, "spawn image %s is not a valid image reference", visibleArg(im))
		}
	}
	if o.Spawn > 0 && depth+1 > m.maxDepth() {
		return capErr("depth", "a session at depth %d may not start children (sessions nest at most %d deep; config.json spawn.max_depth)", depth, m.maxDepth())
	}
	return nil
}

// childLocked checks o, which session parent asks to create, against every
// cap parent sets, fills what a child inherits (image, egress, limits), and
// reserves one of parent's spawns. Call with mu held; release the
// reservation with unspawnLocked if the child is not made.
func (m *Manager) childLocked(parent string, o Options) (Options, Limits, error) {
	p, ok := m.sessions[parent]
	if !ok {
		return o, Limits{}, notFound(parent)
	}
	if p.Status != StatusRunning && p.Status != StatusCreating {
		return o, Limits{}, Errorf(ErrState, "session %s is %s and may start no children", parent, p.Status)
	}
	if p.Spawn == 0 {
		return o, Limits{}, capErr("spawn", "session %s may start no children (it was created without --spawn)", parent)
	}
	// A session rebuilt from its labels lost its count; its live children
	// still count.
	p.Spawned = max(p.Spawned, len(m.childrenLocked(parent)))
	if p.Spawned >= p.Spawn {
		return o, Limits{}, capErr("count", "session %s has started %d of the %d children it may (removed ones count too)", parent, p.Spawned, p.Spawn)
	}
	depth := p.Depth + 1
	if depth > m.maxDepth() {
		return o, Limits{}, capErr("depth", "a child of %s would be at depth %d; sessions nest at most %d deep", parent, depth, m.maxDepth())
	}
	if o.Spawn > p.Spawn {
		return o, Limits{}, capErr("spawn", "a child may start at most as many children as its parent (%d), not %d", p.Spawn, o.Spawn)
	}
	if o.Workdir != "" || len(o.Mounts) > 0 || o.From != "" || len(o.Includes) > 0 {
		return o, Limits{}, capErr("workdir", "a child session gets no host path: no workdir, from, include or mount")
	}
	// A child runs where its parent does: a cluster session's children
	// stay in the cluster, and a host session's on the host.
	if o.Backend != "" && o.Backend != p.BackendName() {
		return o, Limits{}, capErr("backend", "a child of %s runs on %s, as its parent does, not on %s", parent, p.BackendName(), visibleArg(o.Backend))
	}
	o.Backend = p.BackendName()
	images := p.childImages()
	if o.Image == "" {
		o.Image = p.Image
	}
	if !slices.Contains(images, o.Image) {
		return o, Limits{}, capErr("image", "a child of %s may run only %s, not %s", parent, strings.Join(images, ", "), visibleArg(o.Image))
	}
	for _, im := range o.SpawnImages {
		if !slices.Contains(images, im) {
			return o, Limits{}, capErr("image", "a child of %s may give its children only %s, not %s", parent, strings.Join(images, ", "), visibleArg(im))
		}
	}
	e, err := m.childEgress(p.Egress, o.Egress)
	if err != nil {
		return o, Limits{}, err
	}
	o.Egress = e
	switch pl := p.Limits; {
	case o.CPUs < 0 || o.MemoryBytes < 0:
		return o, Limits{}, Errorf(ErrInvalid, "limits must not be negative")
	case pl.CPUs > 0 && o.CPUs > pl.CPUs:
		return o, Limits{}, capErr("cpus", "a child of %s may use at most %g CPUs, not %g", parent, pl.CPUs, o.CPUs)
	case pl.MemoryBytes > 0 && o.MemoryBytes > pl.MemoryBytes:
		return o, Limits{}, capErr("memory", "a child of %s may use at most %d bytes of memory, not %d", parent, pl.MemoryBytes, o.MemoryBytes)
	}
	if o.CPUs == 0 {
		o.CPUs = p.Limits.CPUs
	}
	if o.MemoryBytes == 0 {
		o.MemoryBytes = p.Limits.MemoryBytes
	}
	if err := m.checkSpawnOptions(o, depth); err != nil {
		return o, Limits{}, err
	}
	p.Spawned++
	m.pending[parent]++
	m.saveLocked(p)
	return o, p.Limits, nil
}

// unspawnLocked gives parent back the spawn a child that was never made
// had reserved. Call with mu held.
func (m *Manager) unspawnLocked(parent string) {
	m.pending[parent]--
	if m.pending[parent] <= 0 {
		delete(m.pending, parent)
	}
	if p, ok := m.sessions[parent]; ok && p.Spawned > 0 {
		p.Spawned--
		m.saveLocked(p)
	}
}

// childImages are the images a session's children may run.
func (r *record) childImages() []string {
	out := []string{r.Image}
	for _, im := range r.SpawnImages {
		if !slices.Contains(out, im) {
			out = append(out, im)
		}
	}
	return out
}

// egressRank orders the modes from narrowest to widest.
func egressRank(m EgressMode) int {
	switch m {
	case EgressLocked:
		return 0
	case EgressBalanced:
		return 1
	}
	return 2 // open, and "" (an older session's, which had no policy)
}

// childEgress is the policy a child asking for want gets under its
// parent's: the parent's when it asks for none, and never wider. want's
// hosts must be ones the parent may reach.
func (m *Manager) childEgress(parent, want Egress) (Egress, error) {
	if want.Mode == "" && len(want.Allow) == 0 {
		return Egress{Mode: parent.Mode, Allow: slices.Clone(parent.Allow)}, nil
	}
	if want.Mode == "" {
		want.Mode = parent.Mode
	}
	if err := checkMode(want); err != nil {
		return want, err
	}
	if egressRank(want.Mode) > egressRank(parent.Mode) {
		return want, capErr("egress", "the parent's egress is %s; a child may not have %s", modeName(parent.Mode), want.Mode)
	}
	hosts, err := normalizeHosts(want.Allow)
	if err != nil {
		return want, err
	}
	if egressRank(parent.Mode) < 2 {
		reach := parent.Allow
		if parent.Mode == EgressBalanced {
			reach = append(slices.Clone(reach), m.balancedHosts()...)
		}
		for _, h := range hosts {
			if !covered(h, reach) {
				return want, capErr("egress", "the parent may not reach %s, so its child may not either", h)
			}
		}
	}
	want.Allow = hosts
	return want, nil
}

func modeName(m EgressMode) string {
	if m == "" {
		return string(EgressOpen)
	}
	return string(m)
}

// covered reports whether allow-list entry h (a host, or "*." and a
// domain) reaches nothing the patterns do not.
func covered(h string, patterns []string) bool {
	if slices.Contains(patterns, h) {
		return true
	}
	// "*.a.example.com" is covered by "*.example.com", since every name
	// below a.example.com is below example.com.
	return matchAny(wildcardPatterns(patterns), strings.TrimPrefix(h, "*."))
}

func wildcardPatterns(ps []string) []string {
	var out []string
	for _, p := range ps {
		if strings.HasPrefix(p, "*.") {
			out = append(out, p)
		}
	}
	return out
}

// Children are the live sessions whose parent is name, by name.
func (m *Manager) Children(name string) []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.childrenLocked(name)
}

func (m *Manager) childrenLocked(name string) []string {
	var out []string
	for n, r := range m.sessions {
		if r.Parent == name {
			out = append(out, n)
		}
	}
	slices.Sort(out)
	return out
}

// IsChild reports whether session child was started by session parent.
func (m *Manager) IsChild(parent, child string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[child]
	return ok && parent != "" && r.Parent == parent
}

// CanSpawn reports whether session name may start children: it was
// created with a spawn cap and its container may run.
func (m *Manager) CanSpawn(name string) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	return ok && r.Spawn > 0 && (r.Status == StatusRunning || r.Status == StatusCreating)
}

// balancedHosts are the hosts balanced allows besides the rule hosts.
func (m *Manager) balancedHosts() []string {
	if b := m.cfg.Egress.Balanced; b != nil {
		return b
	}
	return DefaultBalancedHosts
}
