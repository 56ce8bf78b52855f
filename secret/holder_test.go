package secret

import (
	"context"
	"errors"
	"strings"
	"testing"
)

// TestHolderMessages: each holder's errors tell the user to set a variable
// in the environment that is really read, and no other.
func TestHolderMessages(t *testing.T) {
	down := errors.New("dial unix /nowhere: connect: no such file or directory")
	tests := []struct {
		holder     Holder
		want, deny string
	}{
		{HolderDaemon, "in the daemon's environment", "clauderon exec"},
		{HolderExec, "in the environment of `clauderon exec`", "daemon's environment"},
		{HolderShell, "in this shell's environment", "daemon's environment"},
	}
	for _, tt := range tests {
		t.Run(tt.holder.env(), func(t *testing.T) {
			ctx := context.Background()
			for _, kcErr := range []error{nil, down} {
				k, fk, _ := newFakeKeychain()
				k.Holder = tt.holder
				fk.err = kcErr
				s := &Store{Env: Env{Getenv: func(string) string { return "" }, Holder: tt.holder}, Keychain: k}
				_, _, err := s.Get(ctx, Anthropic)
				st, serr := s.Status(ctx, Anthropic)
				if err == nil || serr != nil {
					t.Fatalf("Get = %v, Status = %v; want a Get error and a Status", err, serr)
				}
				for _, msg := range []string{err.Error(), st.Error} {
					if !strings.Contains(msg, tt.want) || strings.Contains(msg, tt.deny) {
						t.Errorf("keychain error %v: message %q, want %q and not %q", kcErr, msg, tt.want, tt.deny)
					}
				}
			}
		})
	}
}

// TestWarningOneLine: with the environment's credential in force, an
// unavailable keychain is a one-line warning, not the remedies.
func TestWarningOneLine(t *testing.T) {
	k, fk, _ := newFakeKeychain()
	fk.err = errors.New("dial unix /nowhere: connect: no such file or directory")
	oat := canary("oauth")
	s := &Store{Env: envOf(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": oat}), Keychain: k}
	st, err := s.Status(context.Background(), Anthropic)
	if err != nil {
		t.Fatal(err)
	}
	if !st.Configured || st.Keychain != KeychainUnavailable {
		t.Fatalf("Status = %+v", st)
	}
	w := st.Warning
	if !strings.Contains(w, "OS keychain unavailable") || !strings.Contains(w, "CLAUDE_CODE_OAUTH_TOKEN from the environment is in use") {
		t.Errorf("warning %q does not say the keychain is unavailable and the environment's token is used", w)
	}
	if strings.Contains(w, "to fix") || strings.Contains(w, "gnome-keyring") || strings.Contains(w, "\n") || len(w) > 200 {
		t.Errorf("warning is the whole lecture (%d bytes): %q", len(w), w)
	}
}

// TestNoBusNamesThePath: the message names this user's bus path, not a
// placeholder the user would have to work out.
func TestNoBusNamesThePath(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	err := preflight()
	if err == nil {
		t.Skip("this machine has a session bus where godbus looks without an address")
	}
	if strings.Contains(err.Error(), "<uid>") || !strings.Contains(err.Error(), "/run/user/") {
		t.Errorf("preflight = %q, want the real /run/user/UID/bus path", err)
	}
}
