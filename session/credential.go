package session

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/clauderon/clauderon/internal/atomicfile"
	"github.com/clauderon/clauderon/secret"
)

// Secret is a session's proxy credential. As a secret.Token it redacts
// itself everywhere but Reveal, which is for the container's HTTPS_PROXY and
// the proxy's table.
type Secret = secret.Token

// keyFile holds the random key every session's credential is derived from,
// so a session rebuilt from its container's labels (name + nonce) gets the
// same credential its running container already carries.
const keyFile = "session-key"

func loadOrCreateKey(home string) ([]byte, error) {
	p := filepath.Join(home, keyFile)
	for range 3 {
		b, err := os.ReadFile(p)
		switch {
		case err == nil && len(b) == 0:
			// An older clauderon killed between creating the file and
			// writing it: no credential was ever derived from it.
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				return nil, err
			}
			continue
		case err == nil && len(b) != 32:
			return nil, fmt.Errorf("%s is damaged (want 32 bytes, got %d); remove it (running sessions' proxy credentials will stop working)", p, len(b))
		case err == nil:
			return b, nil
		case !errors.Is(err, os.ErrNotExist):
			return nil, err
		}
		b = make([]byte, 32)
		if _, err := rand.Read(b); err != nil {
			return nil, err
		}
		err = linkNewFile(p, b)
		if errors.Is(err, os.ErrExist) {
			continue // another process won the race: use its key
		}
		if err != nil {
			return nil, err
		}
		return b, nil
	}
	return nil, fmt.Errorf("cannot create %s: it keeps changing under us", p)
}

// linkNewFile makes path hold data (0600) unless it exists (os.ErrExist),
// so that whenever path exists it is complete.
func linkNewFile(path string, data []byte) error {
	return atomicfile.Place(path, data, 0o600, os.Link)
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
	return secret.Wrap(hex.EncodeToString(m.Sum(nil)[:16]))
}
