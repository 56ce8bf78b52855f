package secret

import (
	"context"
	"errors"
	"os/exec"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/internal/testenv"
)

// These tests use the real OS keychain (gnome-keyring under `make test`),
// each under a service of its own. Outside a keyring session they skip,
// unless CLAUDERON_REQUIRE_E2E=1.

func TestRealKeychainSetGetOverwriteDelete(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)

	a := mustParse(t, canary("oauth"))
	if err := k.Set(ctx, Anthropic, a); err != nil {
		t.Fatalf("Set: %v", err)
	}
	tok, origin, err := k.Get(ctx, Anthropic)
	if err != nil || !tok.Equal(a) || origin != OriginKeychain {
		t.Fatalf("Get = %s, %q, %v; want %s from the keychain", tok.Fingerprint(), origin, err, a.Fingerprint())
	}

	// Hot change through the same object: the next Get has the new value.
	b := mustParse(t, canary("api"))
	if err := k.Set(ctx, Anthropic, b); err != nil {
		t.Fatalf("overwrite: %v", err)
	}
	if tok, _, _ := k.Get(ctx, Anthropic); !tok.Equal(b) {
		t.Fatalf("Get after overwrite = %s, want %s", tok.Fingerprint(), b.Fingerprint())
	}

	// A fresh Keychain (no memory) sees what is really stored: one entry,
	// the new value.
	fresh := &Keychain{Service: k.Service}
	if tok, _, err := fresh.Get(ctx, Anthropic); err != nil || !tok.Equal(b) {
		t.Fatalf("stored value = %s, %v; want %s", tok.Fingerprint(), err, b.Fingerprint())
	}
	if n := countItems(t, k.Service, Anthropic); n != 1 {
		t.Fatalf("the keychain holds %d entries for %s, want 1 after an overwrite", n, Anthropic)
	}

	if err := k.Delete(ctx, Anthropic); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v, want ErrNotFound", err)
	}
	if _, _, err := (&Keychain{Service: k.Service}).Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("entry still stored after Delete: %v", err)
	}
	if err := k.Delete(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Delete of a missing entry: %v, want ErrNotFound", err)
	}
}

func TestRealKeychainLargeToken(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)
	big := "sk-ant-oat01-CANARY-" + strings.Repeat("x", 4096-len("sk-ant-oat01-CANARY-")-4) + "tail"
	if len(big) != 4096 {
		t.Fatalf("len = %d", len(big))
	}
	if err := k.Set(ctx, Anthropic, mustParse(t, big)); err != nil {
		t.Fatalf("Set of a 4 KB token: %v", err)
	}
	tok, _, err := (&Keychain{Service: k.Service}).Get(ctx, Anthropic)
	if err != nil || tok.Reveal() != big {
		t.Fatalf("4 KB token did not round-trip: %v (len %d)", err, len(tok.Reveal()))
	}
}

func TestRealKeychainSecondName(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)
	a := mustParse(t, canary("oauth"))
	other := Wrap("second-" + canary("oauth"))
	if err := k.Set(ctx, Anthropic, a); err != nil {
		t.Fatal(err)
	}
	if err := k.Set(ctx, testName, other); err != nil {
		t.Fatal(err)
	}
	fresh := &Keychain{Service: k.Service}
	if tok, _, err := fresh.Get(ctx, Anthropic); err != nil || !tok.Equal(a) {
		t.Fatalf("anthropic = %s, %v", tok.Fingerprint(), err)
	}
	if tok, _, err := fresh.Get(ctx, testName); err != nil || !tok.Equal(other) {
		t.Fatalf("%s = %s, %v", testName, tok.Fingerprint(), err)
	}
	if err := k.Delete(ctx, testName); err != nil {
		t.Fatal(err)
	}
	if tok, _, err := (&Keychain{Service: k.Service}).Get(ctx, Anthropic); err != nil || !tok.Equal(a) {
		t.Fatalf("deleting %s touched anthropic: %v", testName, err)
	}
}

// TestRealKeychainOutsideChange: a change made by another program is seen
// by a Keychain without caching at once, and is really in the Secret Service.
func TestRealKeychainOutsideChange(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)
	k.TTL = -1
	tool, err := exec.LookPath("secret-tool")
	if err != nil {
		testenv.Unavailable(t, "secret-tool (libsecret-tools) is needed: %v", err)
	}
	v := canary("oauth")
	cmd := exec.Command(tool, "store", "--label=clauderon test", "service", k.Service, "username", Anthropic)
	cmd.Stdin = strings.NewReader(v)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("secret-tool store: %v: %s", err, out)
	}
	if tok, _, err := k.Get(ctx, Anthropic); err != nil || tok.Reveal() != v {
		t.Fatalf("value stored by secret-tool: %v", err)
	}
	w := mustParse(t, canary("api"))
	if err := k.Set(ctx, Anthropic, w); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "lookup", "service", k.Service, "username", Anthropic).Output()
	if err != nil || string(out) != w.Reveal() {
		t.Fatalf("secret-tool lookup after Set: %v (fingerprint %s)", err, Wrap(string(out)).Fingerprint())
	}
}

// countItems counts the Secret Service items for service and user.
func countItems(t *testing.T, service, user string) int {
	t.Helper()
	tool, err := exec.LookPath("secret-tool")
	if err != nil {
		testenv.Unavailable(t, "secret-tool, to count the keychain's items: %v", err)
	}
	// The output holds the secrets: count it, never print it.
	out, err := exec.Command(tool, "search", "--all", "service", service, "username", user).Output()
	if err != nil {
		t.Fatalf("secret-tool search: %v", err)
	}
	n := 0
	for _, line := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(line, "[/") {
			n++
		}
	}
	return n
}

// A value handed to Set untrimmed is stored trimmed: what the keychain holds
// is exactly what the proxy will send.
func TestRealKeychainStoresTrimmed(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)
	v := canary("oauth")
	if err := k.Set(ctx, Anthropic, Wrap("  "+v+"\r\n")); err != nil {
		t.Fatalf("Set: %v", err)
	}
	for _, kc := range []*Keychain{k, {Service: k.Service}} {
		tok, _, err := kc.Get(ctx, Anthropic)
		if err != nil || tok.Reveal() != v {
			t.Fatalf("stored value is not the trimmed token (len %d, err %v)", len(tok.Reveal()), err)
		}
	}
}
