package cli

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/clauderon/clauderon/secret"
)

// readSpy fails a read and remembers that one was tried.
type readSpy struct{ read bool }

func (r *readSpy) Read([]byte) (int, error) {
	r.read = true
	return 0, errors.New("read")
}

// TestTokenSetChecksKeychainFirst: with no keychain, `token set` says so
// before it reads (or prompts for) the token.
func TestTokenSetChecksKeychainFirst(t *testing.T) {
	t.Setenv("CLAUDERON_HOME", t.TempDir()) // no daemon there
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path=/nonexistent/bus")
	t.Setenv(keyringServiceEnv, "clauderon-cli-test-nokeychain")
	in := &readSpy{}
	var out, errOut bytes.Buffer
	err := runTokenSet(context.Background(), in, &out, &errOut, secret.Anthropic)
	if !errors.Is(err, secret.ErrKeychainUnavailable) || !strings.Contains(err.Error(), "nothing can be stored") {
		t.Errorf("token set = %v, want the keychain's error", err)
	}
	if in.read || errOut.Len() > 0 {
		t.Errorf("token set read stdin (%v) or prompted (%q) before finding there is no keychain", in.read, errOut.String())
	}
}
