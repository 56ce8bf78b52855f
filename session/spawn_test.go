package session

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
)

// spawnParent makes a running top-level session that may start n children.
func spawnParent(t *testing.T, h *harness, name string, o Options) Session {
	t.Helper()
	o.Name, o.Prompt, o.Mode = name, "parent", ModePrint
	s, err := h.m.Create(context.Background(), o)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func child(name, parent string) Options {
	return Options{Name: name, Prompt: "child", Mode: ModePrint, Parent: parent}
}

// TestSpawnCaps: every request above one of a parent's caps is refused
// with ErrCap and a message naming the cap; what a child leaves out it
// inherits from its parent.
func TestSpawnCaps(t *testing.T) {
	h := newHarness(t)
	h.be.images["other:1"], h.be.images["extra:1"] = true, true
	ctx := context.Background()
	spawnParent(t, h, "p", Options{Spawn: 2, SpawnImages: []string{"extra:1"}, CPUs: 2, MemoryBytes: 1 << 30,
		Egress: Egress{Mode: EgressBalanced, Allow: []string{"*.example.com", "api.test", "a.b.test"}}})
	for _, tc := range []struct {
		name string
		o    Options
		cap  string
	}{
		{"wider egress mode", Options{Egress: Egress{Mode: EgressOpen}}, "egress"},
		{"a host the parent may not reach", Options{Egress: Egress{Mode: EgressLocked, Allow: []string{"evil.test"}}}, "egress"},
		{"a wider wildcard", Options{Egress: Egress{Mode: EgressLocked, Allow: []string{"*.b.test"}}}, "egress"},
		{"another image", Options{Image: "other:1"}, "image"},
		{"another image for its children", Options{Spawn: 1, SpawnImages: []string{"other:1"}}, "image"},
		{"more CPUs", Options{CPUs: 3}, "cpus"},
		{"more memory", Options{MemoryBytes: 2 << 30}, "memory"},
		{"more spawns than its parent", Options{Spawn: 3}, "spawn"},
		{"a host path", Options{Workdir: t.TempDir()}, "workdir"},
		{"a mount", Options{Mounts: []Mount{{Source: t.TempDir(), Target: "/x"}}}, "workdir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.o
			o.Name, o.Prompt, o.Mode, o.Parent = "c-bad", "child", ModePrint, "p"
			_, err := h.m.Create(ctx, o)
			if !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "the "+tc.cap+" cap") {
				t.Fatalf("got %v; want ErrCap naming the %s cap", err, tc.cap)
			}
		})
	}
	// No refused request used up a spawn.
	if p, _ := h.m.Get("p"); p.Spawned != 0 {
		t.Fatalf("spawned %d after refusals; want 0", p.Spawned)
	}

	c1, err := h.m.Create(ctx, child("c1", "p"))
	if err != nil {
		t.Fatal(err)
	}
	if c1.Parent != "p" || c1.Depth != 1 || c1.Image != DefaultImage || c1.Egress.Mode != EgressBalanced ||
		strings.Join(c1.Egress.Allow, ",") != "*.example.com,api.test,a.b.test" || c1.Limits.CPUs != 2 || c1.Limits.MemoryBytes != 1<<30 {
		t.Fatalf("child inherits: %+v", c1)
	}
	narrow := child("c2", "p")
	narrow.Image, narrow.CPUs = "extra:1", 1
	narrow.Egress = Egress{Mode: EgressLocked, Allow: []string{"a.b.example.com", "*.x.example.com", "github.com"}}
	c2, err := h.m.Create(ctx, narrow)
	if err != nil {
		t.Fatalf("a narrower child (its hosts below the parent's wildcard or balanced list): %v", err)
	}
	if c2.Limits.CPUs != 1 || c2.Image != "extra:1" {
		t.Fatalf("narrower child: %+v", c2)
	}
	_, err = h.m.Create(ctx, child("c3", "p"))
	if !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "the count cap") {
		t.Fatalf("third child of a --spawn 2 parent: %v", err)
	}
	// Removed children still count.
	if err := h.m.Remove(ctx, "c1", true, true); err != nil {
		t.Fatal(err)
	}
	if _, err := h.m.Create(ctx, child("c3", "p")); !errors.Is(err, ErrCap) {
		t.Fatalf("a child after one was removed: %v; want the count cap", err)
	}
	// A session without --spawn may start none.
	spawnParent(t, h, "plain", Options{})
	if _, err := h.m.Create(ctx, child("c4", "plain")); !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "the spawn cap") {
		t.Fatalf("child of a session without --spawn: %v", err)
	}
}

// TestSpawnDepth: a child of a child is at depth 2; no session at the
// maximum depth may spawn, and a child cannot raise its parent's count.
func TestSpawnDepth(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	spawnParent(t, h, "p", Options{Spawn: 1})
	o := child("c", "p")
	o.Spawn = 1
	if _, err := h.m.Create(ctx, o); err != nil {
		t.Fatal(err)
	}
	o = child("g", "c")
	o.Spawn = 1 // g would be at depth 2, the maximum: it may not spawn
	if _, err := h.m.Create(ctx, o); !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "the depth cap") {
		t.Fatalf("grandchild asking to spawn: %v", err)
	}
	g, err := h.m.Create(ctx, child("g", "c"))
	if err != nil || g.Depth != 2 {
		t.Fatalf("grandchild: %+v, %v", g, err)
	}
	if _, err := h.m.Create(ctx, child("g2", "g")); !errors.Is(err, ErrCap) {
		t.Fatalf("a child of a session without spawn: %v", err)
	}
	// A top-level session may not ask for more depth than configured.
	h.m.cfg.MaxDepth = -1
	if _, err := h.m.Create(ctx, Options{Name: "q", Prompt: "x", Mode: ModePrint, Spawn: 1}); !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "depth") {
		t.Fatalf("--spawn with nesting off: %v", err)
	}
}

// TestSpawnRemoveAndRebuild: rm refuses a parent with children unless
// recursive; parent, depth and spawn survive a rebuild from labels, and a
// rebuilt parent still counts its live children.
func TestSpawnRemoveAndRebuild(t *testing.T) {
	h := newHarness(t)
	ctx := context.Background()
	p := spawnParent(t, h, "p", Options{Spawn: 1})
	o := child("c", "p")
	if _, err := h.m.Create(ctx, o); err != nil {
		t.Fatal(err)
	}
	var cfg struct {
		MCPServers map[string]struct{ Type, URL string } `json:"mcpServers"`
	}
	b, err := os.ReadFile(h.m.st.sessionDir("p") + "/claude.json")
	if err == nil {
		err = json.Unmarshal(b, &cfg)
	}
	if err != nil || cfg.MCPServers["clauderon"].URL != "http://clauderon.internal/mcp" || cfg.MCPServers["clauderon"].Type != "http" {
		t.Fatalf("a spawn session's claude.json: %s (%v)", b, err)
	}
	if env := strings.Join(h.be.specs[p.ContainerID].Env, "\n"); !strings.Contains(env, "ENABLE_TOOL_SEARCH=false") {
		t.Errorf("a spawn session's env lacks ENABLE_TOOL_SEARCH=false")
	}
	if b, _ := os.ReadFile(h.m.st.sessionDir("c") + "/claude.json"); strings.Contains(string(b), "mcpServers") {
		t.Errorf("a child without spawn got the MCP server: %s", b)
	}

	// Rebuild both from labels alone.
	for _, n := range []string{"p", "c"} {
		if err := os.RemoveAll(h.m.st.sessionDir(n)); err != nil {
			t.Fatal(err)
		}
	}
	h.open(t)
	c, err := h.m.Get("c")
	if err != nil || c.Parent != "p" || c.Depth != 1 || !c.Rebuilt {
		t.Fatalf("rebuilt child: %+v, %v", c, err)
	}
	if rp, _ := h.m.Get("p"); rp.Spawn != 1 {
		t.Fatalf("rebuilt parent: %+v", rp)
	}
	if _, err := h.m.Create(ctx, child("c2", "p")); !errors.Is(err, ErrCap) || !strings.Contains(err.Error(), "count") {
		t.Fatalf("a rebuilt parent's second child: %v", err)
	}

	err = h.m.Remove(ctx, "p", true, true)
	if !errors.Is(err, ErrState) || !strings.Contains(err.Error(), "children (c)") || !strings.Contains(err.Error(), "--recursive") {
		t.Fatalf("rm of a parent with children: %v", err)
	}
	if err := h.m.RemoveTree(ctx, "p", true, true); err != nil {
		t.Fatal(err)
	}
	if len(h.m.List()) != 0 {
		t.Fatalf("left after RemoveTree: %+v", h.m.List())
	}
}

// TestCovered: a child's allow-list entry must reach nothing its parent's
// patterns do not.
func TestCovered(t *testing.T) {
	ps := []string{"*.example.com", "api.test"}
	for _, tc := range []struct {
		h    string
		want bool
	}{
		{"api.test", true}, {"x.example.com", true}, {"*.a.example.com", true}, {"*.example.com", true},
		{"example.com", false}, {"*.test", false}, {"other.test", false}, {"x.api.test", false},
	} {
		if got := covered(tc.h, ps); got != tc.want {
			t.Errorf("covered(%q) = %v; want %v", tc.h, got, tc.want)
		}
	}
}
