package secret

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// These tests pin the Keychain's memory with an in-memory backend and a
// manual clock; keychain_test.go runs the same operations on the real one.

func newFakeKeychain() (*Keychain, *fakeKeyring, *clock) {
	fk := &fakeKeyring{}
	c := &clock{t: time.Unix(1_000_000, 0)}
	return &Keychain{Service: "svc", kr: fk, Now: c.Now}, fk, c
}

func TestKeychainCacheTTL(t *testing.T) {
	ctx := context.Background()
	k, fk, c := newFakeKeychain()
	first, second := canary("oauth"), canary("oauth")
	_ = fk.Set("svc", Anthropic, first)

	for range 3 {
		tok, _, err := k.Get(ctx, Anthropic)
		if err != nil || tok.Reveal() != first {
			t.Fatalf("Get = %v, %v", tok.Fingerprint(), err)
		}
	}
	if n := fk.getCount(); n != 1 {
		t.Fatalf("keychain read %d times for 3 Gets within the TTL, want 1", n)
	}

	// Another process changes the entry: seen once the TTL has passed.
	_ = fk.Set("svc", Anthropic, second)
	c.Advance(DefaultTTL - time.Millisecond)
	if tok, _, _ := k.Get(ctx, Anthropic); tok.Reveal() != first {
		t.Fatalf("value changed before the TTL passed")
	}
	c.Advance(time.Millisecond)
	if tok, _, _ := k.Get(ctx, Anthropic); tok.Reveal() != second {
		t.Fatalf("outside change not seen after the TTL: got %s", tok.Fingerprint())
	}
	if n := fk.getCount(); n != 2 {
		t.Fatalf("keychain read %d times, want 2", n)
	}
}

func TestKeychainNoCache(t *testing.T) {
	k, fk, _ := newFakeKeychain()
	k.TTL = -1
	_ = fk.Set("svc", Anthropic, canary("oauth"))
	for range 3 {
		if _, _, err := k.Get(context.Background(), Anthropic); err != nil {
			t.Fatal(err)
		}
	}
	if n := fk.getCount(); n != 3 {
		t.Fatalf("keychain read %d times with TTL < 0, want 3", n)
	}
}

func TestKeychainWriteThrough(t *testing.T) {
	ctx := context.Background()
	k, fk, _ := newFakeKeychain()
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get on empty keychain: %v, want ErrNotFound", err)
	}
	// "Not found" is remembered too.
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) || fk.getCount() != 1 {
		t.Fatalf("second Get: %v after %d reads", err, fk.getCount())
	}

	a := mustParse(t, canary("oauth"))
	if err := k.Set(ctx, Anthropic, a); err != nil {
		t.Fatal(err)
	}
	if tok, o, err := k.Get(ctx, Anthropic); err != nil || !tok.Equal(a) || o != OriginKeychain {
		t.Fatalf("Get after Set = %s %s %v", tok.Fingerprint(), o, err)
	}
	b := mustParse(t, canary("api"))
	if err := k.Set(ctx, Anthropic, b); err != nil {
		t.Fatal(err)
	}
	if tok, _, _ := k.Get(ctx, Anthropic); !tok.Equal(b) {
		t.Fatalf("Get after overwrite = %s, want %s", tok.Fingerprint(), b.Fingerprint())
	}
	if err := k.Delete(ctx, Anthropic); err != nil {
		t.Fatal(err)
	}
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get after Delete: %v", err)
	}
	if n := fk.getCount(); n != 1 {
		t.Fatalf("writes through the Keychain caused %d reads, want 1", n)
	}
	if err := k.Delete(ctx, Anthropic); !errors.Is(err, ErrNotFound) {
		t.Fatalf("second Delete: %v, want ErrNotFound", err)
	}
}

// TestKeychainWriteDuringRead: a read that began before a Set must neither
// be returned to a later Get nor be remembered over the new value.
func TestKeychainWriteDuringRead(t *testing.T) {
	ctx := context.Background()
	k, fk, _ := newFakeKeychain()
	old, fresh := mustParse(t, canary("oauth")), mustParse(t, canary("oauth"))
	_ = fk.Set("svc", Anthropic, old.Reveal())

	entered, release := fk.parkReads()
	var wg sync.WaitGroup
	wg.Go(func() {
		if tok, _, _ := k.Get(ctx, Anthropic); !tok.Equal(old) {
			t.Errorf("the Get that began first did not get the old value")
		}
	})
	<-entered // the read has the old value and is parked
	// Set's own backend call does not park; only reads do.
	if err := k.Set(ctx, Anthropic, fresh); err != nil {
		t.Fatal(err)
	}
	release()
	wg.Wait()

	if tok, _, _ := k.Get(ctx, Anthropic); !tok.Equal(fresh) {
		t.Fatalf("Get after Set returned the value read before it")
	}
}

func TestKeychainSharesConcurrentReads(t *testing.T) {
	ctx := context.Background()
	k, fk, _ := newFakeKeychain()
	k.TTL = -1 // so only sharing, not memory, can save a read
	want := mustParse(t, canary("oauth"))
	_ = fk.Set("svc", Anthropic, want.Reveal())
	entered, release := fk.parkReads()

	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for range 8 {
		wg.Go(func() {
			tok, _, err := k.Get(ctx, Anthropic)
			if err == nil && !tok.Equal(want) {
				err = errors.New("wrong token")
			}
			errs <- err
		})
	}
	<-entered
	// Every Get has joined the parked read or is about to; none may start
	// another. Release only once all eight wait on the result.
	waitForWaiters(t, k, Anthropic, 8)
	release()
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := fk.getCount(); n != 1 {
		t.Fatalf("8 concurrent Gets read the keychain %d times, want 1", n)
	}
}

func TestKeychainTimeoutAndCancel(t *testing.T) {
	k, fk, _ := newFakeKeychain()
	_, release := fk.parkReads()
	defer release()
	k.Timeout = time.Millisecond

	_, _, err := k.Get(context.Background(), Anthropic)
	if !errors.Is(err, ErrKeychainUnavailable) {
		t.Fatalf("Get of a hung keychain: %v, want ErrKeychainUnavailable", err)
	}
	for _, want := range []string{"did not answer", "unlock", "CLAUDE_CODE_OAUTH_TOKEN"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	k.Timeout = time.Hour
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v", err)
	}
}

func TestKeychainErrorsAreNotRemembered(t *testing.T) {
	ctx := context.Background()
	k, fk, _ := newFakeKeychain()
	fk.err = errors.New("org.freedesktop.DBus.Error.ServiceUnknown")
	if _, _, err := k.Get(ctx, Anthropic); !errors.Is(err, ErrKeychainUnavailable) {
		t.Fatalf("Get: %v, want ErrKeychainUnavailable", err)
	}
	if err := k.Set(ctx, Anthropic, mustParse(t, canary("oauth"))); !errors.Is(err, ErrKeychainUnavailable) {
		t.Fatalf("Set: %v, want ErrKeychainUnavailable", err)
	}
	fk.mu.Lock()
	fk.err = nil
	fk.mu.Unlock()
	want := mustParse(t, canary("oauth"))
	_ = fk.Set("svc", Anthropic, want.Reveal())
	if tok, _, err := k.Get(ctx, Anthropic); err != nil || !tok.Equal(want) {
		t.Fatalf("Get once the keychain is back: %v", err)
	}
}

func TestKeychainValidates(t *testing.T) {
	ctx := context.Background()
	k, fk, _ := newFakeKeychain()
	if err := k.Set(ctx, Anthropic, Wrap("not-a-token")); !errors.Is(err, ErrBadToken) {
		t.Errorf("Set of an invalid token: %v, want ErrBadToken", err)
	}
	if err := k.Set(ctx, Anthropic, Token{}); !errors.Is(err, ErrBadToken) {
		t.Errorf("Set of the zero token: %v, want ErrBadToken", err)
	}
	for _, op := range []func() error{
		func() error { _, _, err := k.Get(ctx, "githubb"); return err },
		func() error { return k.Set(ctx, "githubb", Wrap("x")) },
		func() error { return k.Delete(ctx, "githubb") },
	} {
		if err := op(); !errors.Is(err, ErrUnknownName) {
			t.Errorf("unknown name: %v, want ErrUnknownName", err)
		}
	}
	// A stored value with a trailing newline (secret-tool store adds none,
	// a hand edit may) is trimmed like a typed one.
	want := canary("oauth")
	_ = fk.Set("svc", Anthropic, want+"\n")
	if tok, _, err := k.Get(ctx, Anthropic); err != nil || tok.Reveal() != want {
		t.Fatalf("Get of a value with a newline: %v", err)
	}
}

// waitForWaiters waits until n Gets share the read of name in flight.
func waitForWaiters(t *testing.T, k *Keychain, name string, n int) {
	t.Helper()
	for {
		k.mu.Lock()
		r := k.entries[name].read
		got := 0
		if r != nil {
			got = r.waiters
		}
		k.mu.Unlock()
		if got >= n {
			return
		}
		runtime.Gosched()
	}
}
