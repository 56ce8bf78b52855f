package secret

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/zalando/go-keyring"
)

// DefaultService is the keychain service clauderon's entries live under; the
// entry's user is the credential name (Anthropic, …).
const DefaultService = "clauderon"

const (
	// DefaultTTL is how long a Keychain trusts a value it read.
	DefaultTTL = 5 * time.Second
	// DefaultTimeout bounds the wait for the keychain, which may be showing
	// an unlock prompt.
	DefaultTimeout = 10 * time.Second
)

// Keychain stores credentials in the OS keychain through go-keyring: the
// Secret Service on Linux, Keychain on macOS, Credential Manager on Windows.
// It never falls back to a file.
//
// A read costs several D-Bus round trips (about a millisecond) and the proxy
// asks on every request, so Get keeps what it read for TTL. Set and Delete
// through the same Keychain update that memory at once; a change made by
// another process (another clauderon, secret-tool) is seen within TTL.
// Concurrent reads of one name share a single keychain call. Only definite
// answers (a value, "no such entry") are kept; an unavailable keychain is
// asked again on the next Get.
//
// go-keyring calls cannot be cancelled: one that hangs (an unlock prompt
// nobody answers) is abandoned after Timeout or when ctx ends, with
// ErrKeychainUnavailable, and its goroutine ends when the keychain answers.
//
// The zero value is ready to use. Fields must not change after first use.
type Keychain struct {
	// Service the entries are stored under; "" means DefaultService. Tests
	// use their own so they never touch a user's entries.
	Service string
	// TTL is how long a read value is reused; 0 means DefaultTTL and a
	// negative value reads the keychain every time.
	TTL time.Duration
	// Timeout bounds each keychain call; 0 means DefaultTimeout.
	Timeout time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Holder is whose environment the errors tell the user to set a
	// variable in instead.
	Holder Holder

	kr backend // nil means go-keyring; tests substitute a fake

	mu      sync.Mutex
	entries map[string]*entry
}

// backend is the part of go-keyring the Keychain uses.
type backend interface {
	Get(service, user string) (string, error)
	Set(service, user, password string) error
	Delete(service, user string) error
}

type goKeyring struct{}

func (goKeyring) Get(s, u string) (string, error) {
	if err := preflight(); err != nil {
		return "", err
	}
	return keyring.Get(s, u)
}

func (goKeyring) Set(s, u, p string) error {
	if err := preflight(); err != nil {
		return err
	}
	return keyring.Set(s, u, p)
}

func (goKeyring) Delete(s, u string) error {
	if err := preflight(); err != nil {
		return err
	}
	return keyring.Delete(s, u)
}

// entry is the memory of one credential name.
type entry struct {
	gen    uint64    // bumped by every write, so an older read cannot be cached over it
	cached bool      // tok/missing hold a result read or written at time at
	at     time.Time //
	tok    Token     //
	miss   bool      // the keychain has no such entry
	read   *read     // the keychain call in flight, shared by concurrent Gets
}

type read struct {
	done    chan struct{}
	tok     Token
	err     error
	waiters int // Gets sharing this read; k.mu guards it
}

func (k *Keychain) service() string {
	if k.Service == "" {
		return DefaultService
	}
	return k.Service
}

func (k *Keychain) backend() backend {
	if k.kr == nil {
		return goKeyring{}
	}
	return k.kr
}

func (k *Keychain) now() time.Time {
	if k.Now == nil {
		return time.Now()
	}
	return k.Now()
}

func (k *Keychain) ttl() time.Duration {
	if k.TTL == 0 {
		return DefaultTTL
	}
	return k.TTL
}

func (k *Keychain) timeout() time.Duration {
	if k.Timeout <= 0 {
		return DefaultTimeout
	}
	return k.Timeout
}

// entry returns the memory of name; k.mu must be held.
func (k *Keychain) entry(name string) *entry {
	if k.entries == nil {
		k.entries = make(map[string]*entry)
	}
	e := k.entries[name]
	if e == nil {
		e = &entry{}
		k.entries[name] = e
	}
	return e
}

// Get implements Source. It returns an error wrapping ErrNotFound when the
// keychain has no such entry and ErrKeychainUnavailable when the keychain
// cannot be asked.
func (k *Keychain) Get(ctx context.Context, name string) (Token, Origin, error) {
	if _, err := lookup(name); err != nil {
		return Token{}, "", err
	}
	k.mu.Lock()
	e := k.entry(name)
	if e.cached && k.ttl() > 0 && k.now().Sub(e.at) < k.ttl() {
		tok, miss := e.tok, e.miss
		k.mu.Unlock()
		if miss {
			return Token{}, "", k.notFound(name)
		}
		return tok, OriginKeychain, nil
	}
	r := e.read
	if r == nil {
		r = &read{done: make(chan struct{})}
		e.read = r
		go k.fetch(name, e, e.gen, r)
	}
	r.waiters++
	k.mu.Unlock()

	if err := k.wait(ctx, name, r.done); err != nil {
		return Token{}, "", err
	}
	if r.err != nil {
		return Token{}, "", r.err
	}
	return r.tok, OriginKeychain, nil
}

// fetch reads name from the keychain for every Get waiting on r.
func (k *Keychain) fetch(name string, e *entry, gen uint64, r *read) {
	at := k.now()
	v, err := k.backend().Get(k.service(), name)
	miss := errors.Is(err, keyring.ErrNotFound)
	switch {
	case err != nil:
		r.err = k.wrap(name, err)
	default:
		c, _ := lookup(name) // Get checked the name
		r.tok, r.err = c.parse(v)
		if r.err != nil {
			r.err = fmt.Errorf("the keychain entry %q (service %q) is not usable: %w; replace it with `clauderon token set`", name, k.service(), r.err)
		}
	}

	k.mu.Lock()
	if e.read == r {
		e.read = nil
	}
	// Only a definite answer is kept, and only if no write came in between:
	// an unavailable keychain is asked again next time.
	if e.gen == gen && (r.err == nil || miss) {
		e.cached, e.at, e.tok, e.miss = true, at, r.tok, miss
	}
	k.mu.Unlock()
	close(r.done)
}

// Set stores tok under name, replacing any value, and is what the next Get
// through this Keychain returns.
func (k *Keychain) Set(ctx context.Context, name string, tok Token) error {
	c, err := lookup(name)
	if err != nil {
		return err
	}
	// Store what parsing made of it (trimmed), not what the caller passed.
	tok, err = c.parse(tok.Reveal())
	if err != nil {
		return err
	}
	return k.write(ctx, name, tok, func(kr backend) error {
		return kr.Set(k.service(), name, tok.Reveal())
	})
}

// Delete removes name from the keychain. It returns an error wrapping
// ErrNotFound when there was no such entry.
func (k *Keychain) Delete(ctx context.Context, name string) error {
	if _, err := lookup(name); err != nil {
		return err
	}
	return k.write(ctx, name, Token{}, func(kr backend) error {
		return kr.Delete(k.service(), name)
	})
}

// write runs a keychain change and leaves the memory of name holding the
// result: tok after a Set, "missing" after a Delete, nothing if it failed or
// raced another write.
func (k *Keychain) write(ctx context.Context, name string, tok Token, op func(backend) error) error {
	k.mu.Lock()
	e := k.entry(name)
	e.gen++
	gen := e.gen
	e.cached, e.read = false, nil // a Get from now on must not see an older read
	k.mu.Unlock()

	done := make(chan struct{})
	var opErr error
	go func() { opErr = op(k.backend()); close(done) }()
	err := k.wait(ctx, name, done)
	if err == nil && opErr != nil {
		err = k.wrap(name, opErr)
	}

	k.mu.Lock()
	if e.gen == gen && (err == nil || errors.Is(err, ErrNotFound)) {
		e.cached, e.at, e.tok, e.miss = true, k.now(), tok, tok.IsZero()
	}
	e.gen++ // a read that began during the write may hold the old value
	k.mu.Unlock()
	return err
}

// wait waits for done, the caller's context or the timeout.
func (k *Keychain) wait(ctx context.Context, name string, done <-chan struct{}) error {
	t := time.NewTimer(k.timeout())
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return k.timedOut(name)
	}
}

func (k *Keychain) timedOut(name string) error {
	return unavailable(name, fmt.Sprintf("it did not answer within %v (is it waiting for you to unlock it?)", k.timeout()), nil, k.Holder)
}

func (k *Keychain) notFound(name string) error {
	return fmt.Errorf("no %s credential in the keychain (service %q): %w", name, k.service(), ErrNotFound)
}

// wrap turns a go-keyring error into one of ours.
func (k *Keychain) wrap(name string, err error) error {
	switch {
	case errors.Is(err, keyring.ErrNotFound):
		return k.notFound(name)
	case errors.Is(err, keyring.ErrSetDataTooBig):
		return fmt.Errorf("%w: this keychain refuses a %s credential that long", ErrTooBig, name)
	}
	return unavailable(name, cause(err), err, k.Holder)
}
