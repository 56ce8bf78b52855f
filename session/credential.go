package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
)

// Secret is a session's proxy credential. It redacts itself everywhere but
// Reveal, which is for the container's HTTPS_PROXY and the proxy's table.
type Secret struct{ v string }

// Reveal returns the credential's value.
func (s Secret) Reveal() string { return s.v }

// Equal compares in constant time.
func (s Secret) Equal(o Secret) bool {
	return subtle.ConstantTimeCompare([]byte(s.v), []byte(o.v)) == 1
}

func (Secret) String() string               { return "[REDACTED]" }
func (Secret) GoString() string             { return "[REDACTED]" }
func (Secret) MarshalJSON() ([]byte, error) { return []byte(`"[REDACTED]"`), nil }
func (Secret) LogValue() slog.Value         { return slog.StringValue("[REDACTED]") }

// keyFile holds the random key every session's credential is derived from,
// so a session rebuilt from its container's labels (name + nonce) gets the
// same credential its running container already carries.
const keyFile = "session-key"

func loadOrCreateKey(home string) ([]byte, error) {
	p := filepath.Join(home, keyFile)
	b, err := os.ReadFile(p)
	if err == nil {
		if len(b) != 32 {
			return nil, fmt.Errorf("%s is damaged (want 32 bytes, got %d); remove it (running sessions' proxy credentials will stop working)", p, len(b))
		}
		return b, nil
	}
	if !errors.Is(err, os.ErrNotExist) {
		return nil, err
	}
	b = make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, os.ErrExist) {
		return loadOrCreateKey(home) // another process won the race
	}
	if err != nil {
		return nil, err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return nil, err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return nil, err
	}
	return b, f.Close()
}

func newNonce() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// deriveSecret is HMAC-SHA256(key, name NUL nonce), 32 hex characters: safe
// in a URL's userinfo without escaping.
func deriveSecret(key []byte, name, nonce string) Secret {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("clauderon proxy credential\x00" + name + "\x00" + nonce))
	return Secret{v: hex.EncodeToString(m.Sum(nil)[:16])}
}
