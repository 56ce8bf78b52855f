package secret

import (
	"context"
	"crypto/rand"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/testenv"

	"github.com/zalando/go-keyring"
)

// testName is a second credential name, so the tests show a new credential
// is one more entry in kinds.
const testName = "test-second"

func init() {
	kinds[testName] = credential{parse: func(s string) (Token, error) {
		s = strings.TrimSpace(s)
		if s == "" {
			return Token{}, errors.New("empty")
		}
		return Wrap(s), nil
	}}
}

// canary returns a fresh, well-formed fake credential that no real system holds.
func canary(kind string) string {
	if kind == "api" {
		return "sk-ant-api03-CANARY-" + rand.Text()
	}
	return "sk-ant-oat01-CANARY-" + rand.Text()
}

func mustParse(t testing.TB, s string) Token {
	t.Helper()
	tok, err := ParseToken(s)
	if err != nil {
		t.Fatalf("ParseToken: %v", err)
	}
	return tok
}

// fakeKeyring is an in-memory backend with the go-keyring error values.
type fakeKeyring struct {
	mu      sync.Mutex
	m       map[string]string
	gets    int
	err     error         // returned by every call when set
	block   chan struct{} // when set, Get waits for it to close
	entered chan struct{} // when set, Get reports here before waiting
}

func (f *fakeKeyring) Get(service, user string) (string, error) {
	f.mu.Lock()
	f.gets++
	v, ok := f.m[service+"/"+user]
	err, block, entered := f.err, f.block, f.entered
	f.mu.Unlock()
	if block != nil {
		// The value was read before blocking, as a slow keychain would.
		if entered != nil {
			entered <- struct{}{}
		}
		<-block
	}
	if err != nil {
		return "", err
	}
	if !ok {
		return "", keyring.ErrNotFound
	}
	return v, nil
}

// parkReads makes every Get read its value, report on the returned channel
// and wait until release is called.
func (f *fakeKeyring) parkReads() (entered <-chan struct{}, release func()) {
	gate, ch := make(chan struct{}), make(chan struct{}, 64)
	f.mu.Lock()
	f.block, f.entered = gate, ch
	f.mu.Unlock()
	return ch, func() {
		f.mu.Lock()
		f.block, f.entered = nil, nil
		f.mu.Unlock()
		close(gate)
	}
}

func (f *fakeKeyring) Set(service, user, pw string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if f.m == nil {
		f.m = map[string]string{}
	}
	f.m[service+"/"+user] = pw
	return nil
}

func (f *fakeKeyring) Delete(service, user string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.err != nil {
		return f.err
	}
	if _, ok := f.m[service+"/"+user]; !ok {
		return keyring.ErrNotFound
	}
	delete(f.m, service+"/"+user)
	return nil
}

func (f *fakeKeyring) getCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.gets
}

// clock is a manual clock for TTL tests.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// realKeychain returns a Keychain on the real OS keychain under a service of
// its own, removed when the test ends.
func realKeychain(t testing.TB) *Keychain {
	t.Helper()
	k := &Keychain{Service: "clauderon-test-" + rand.Text()}
	_, _, err := k.Get(context.Background(), Anthropic)
	if !errors.Is(err, ErrNotFound) {
		testenv.Unavailable(t, "no usable OS keychain (run inside `dbus-run-session -- ./scripts/with-keyring.sh`): %v", err)
	}
	t.Cleanup(func() {
		if err := keyring.DeleteAll(k.Service); err != nil {
			t.Errorf("cleaning up service %s: %v", k.Service, err)
		}
	})
	return k
}
