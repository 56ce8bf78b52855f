package secret

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func envOf(m map[string]string) Env {
	return Env{Getenv: func(k string) string { return m[k] }}
}

func TestStorePrecedenceAndStatus(t *testing.T) {
	oat, api, kc := canary("oauth"), canary("api"), canary("oauth")
	unavailableErr := errors.New("dial unix /nowhere: connect: no such file or directory")
	tests := []struct {
		name      string
		env       map[string]string
		keychain  string // stored value; "" for none
		kcErr     error  // the keychain fails with this
		want      string // the token Get returns; "" for an error
		wantErr   error
		status    Status
		warnHas   []string
		statusErr []string
	}{
		{
			name: "keychain only", keychain: kc, want: kc,
			status: Status{Configured: true, Kind: KindOAuth, Origin: OriginKeychain, Fingerprint: Wrap(kc).Fingerprint(), Keychain: KeychainSet},
		},
		{
			name: "oauth env shadows keychain", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": oat}, keychain: kc, want: oat,
			status:  Status{Configured: true, Kind: KindOAuth, Origin: OriginEnv, EnvVar: "CLAUDE_CODE_OAUTH_TOKEN", Fingerprint: Wrap(oat).Fingerprint(), Keychain: KeychainSet},
			warnHas: []string{"CLAUDE_CODE_OAUTH_TOKEN", "overrides the keychain", Wrap(kc).Fingerprint()},
		},
		{
			name: "api key env shadows keychain", env: map[string]string{"ANTHROPIC_API_KEY": api}, keychain: kc, want: api,
			status:  Status{Configured: true, Kind: KindAPIKey, Origin: OriginEnv, EnvVar: "ANTHROPIC_API_KEY", Fingerprint: Wrap(api).Fingerprint(), Keychain: KeychainSet},
			warnHas: []string{"ANTHROPIC_API_KEY"},
		},
		{
			name: "oauth env beats api key env", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": oat, "ANTHROPIC_API_KEY": api}, want: oat,
			status: Status{Configured: true, Kind: KindOAuth, Origin: OriginEnv, EnvVar: "CLAUDE_CODE_OAUTH_TOKEN", Fingerprint: Wrap(oat).Fingerprint(), Keychain: KeychainEmpty},
		},
		{
			name: "env with a newline", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": oat + "\n"}, want: oat,
			status: Status{Configured: true, Kind: KindOAuth, Origin: OriginEnv, EnvVar: "CLAUDE_CODE_OAUTH_TOKEN", Fingerprint: Wrap(oat).Fingerprint(), Keychain: KeychainEmpty},
		},
		{
			name: "env works without a keychain", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": oat}, kcErr: unavailableErr, want: oat,
			status:  Status{Configured: true, Kind: KindOAuth, Origin: OriginEnv, EnvVar: "CLAUDE_CODE_OAUTH_TOKEN", Fingerprint: Wrap(oat).Fingerprint(), Keychain: KeychainUnavailable},
			warnHas: []string{"OS keychain unavailable"},
		},
		{
			name: "nothing", wantErr: ErrNotFound,
			status:    Status{Keychain: KeychainEmpty},
			statusErr: []string{"clauderon token set", "CLAUDE_CODE_OAUTH_TOKEN", "ANTHROPIC_API_KEY"},
		},
		{
			name: "keychain unavailable", kcErr: unavailableErr, wantErr: ErrKeychainUnavailable,
			status:    Status{Keychain: KeychainUnavailable},
			statusErr: []string{"D-Bus", "gnome-keyring-daemon", "CLAUDE_CODE_OAUTH_TOKEN"},
		},
		{
			name: "bad env is reported, not skipped", env: map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": "sk-live-nope"}, keychain: kc, wantErr: ErrBadToken,
			status:    Status{Origin: OriginEnv, EnvVar: "CLAUDE_CODE_OAUTH_TOKEN", Keychain: KeychainSet},
			statusErr: []string{"CLAUDE_CODE_OAUTH_TOKEN is set", "claude setup-token"},
		},
		{
			name: "invalid keychain entry", keychain: "garbage", wantErr: ErrBadToken,
			status:    Status{Keychain: KeychainInvalid},
			statusErr: []string{"not usable", "clauderon token set"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			k, fk, _ := newFakeKeychain()
			if tt.keychain != "" {
				_ = fk.Set("svc", Anthropic, tt.keychain)
			}
			fk.err = tt.kcErr
			s := &Store{Env: envOf(tt.env), Keychain: k}

			tok, origin, err := s.Get(ctx, Anthropic)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("Get error = %v, want %v", err, tt.wantErr)
				}
			} else if err != nil || tok.Reveal() != strings.TrimSpace(tt.want) {
				t.Fatalf("Get = %s, %v; want %s", tok.Fingerprint(), err, Wrap(tt.want).Fingerprint())
			} else if origin != tt.status.Origin {
				t.Errorf("origin = %q, want %q", origin, tt.status.Origin)
			}

			st, err := s.Status(ctx, Anthropic)
			if err != nil {
				t.Fatalf("Status: %v", err)
			}
			warn, serr := st.Warning, st.Error
			st.Warning, st.Error = "", ""
			want := tt.status
			want.Name = Anthropic
			if st != want {
				t.Errorf("Status = %+v\nwant     %+v", st, want)
			}
			checkText(t, "warning", warn, tt.warnHas)
			checkText(t, "error", serr, tt.statusErr)

			b, _ := json.Marshal(st)
			for _, v := range []string{oat, api, kc} {
				if strings.Contains(string(b)+warn+serr, v[len(v)-12:]) {
					t.Errorf("status shows a secret: %s %s %s", b, warn, serr)
				}
			}
		})
	}
}

func checkText(t *testing.T, what, got string, want []string) {
	t.Helper()
	if len(want) == 0 && got != "" {
		t.Errorf("unexpected %s %q", what, got)
	}
	for _, w := range want {
		if !strings.Contains(got, w) {
			t.Errorf("%s %q does not mention %q", what, got, w)
		}
	}
}

func TestStatusJSON(t *testing.T) {
	st := Status{Name: Anthropic, Configured: true, Kind: KindOAuth, Origin: OriginKeychain, Fingerprint: "…WXYZ", Keychain: KeychainSet}
	b, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"name":"anthropic","configured":true,"kind":"oauth","origin":"keychain","fingerprint":"…WXYZ","keychain":"set"}`
	if string(b) != want {
		t.Errorf("JSON = %s\nwant   %s", b, want)
	}
}

func TestStatusUnknownName(t *testing.T) {
	k, _, _ := newFakeKeychain()
	s := &Store{Keychain: k}
	if _, err := s.Status(context.Background(), "npmm"); !errors.Is(err, ErrUnknownName) {
		t.Fatalf("Status of an unknown name: %v", err)
	}
	if _, _, err := s.Get(context.Background(), "npmm"); !errors.Is(err, ErrUnknownName) {
		t.Fatalf("Get of an unknown name: %v", err)
	}
}

// TestStoreRealKeychain: precedence, shadowing and hot change on the real
// keychain, through the Store the daemon uses.
func TestStoreRealKeychain(t *testing.T) {
	ctx := context.Background()
	k := realKeychain(t)
	env := map[string]string{}
	s := &Store{Env: envOf(env), Keychain: k}

	st, err := s.Status(ctx, Anthropic)
	if err != nil || st.Configured || st.Keychain != KeychainEmpty {
		t.Fatalf("Status of an empty store = %+v, %v", st, err)
	}

	a := mustParse(t, canary("oauth"))
	if err := s.Set(ctx, Anthropic, a); err != nil {
		t.Fatal(err)
	}
	st, _ = s.Status(ctx, Anthropic)
	if !st.Configured || st.Origin != OriginKeychain || st.Fingerprint != a.Fingerprint() || st.Kind != KindOAuth || st.Warning != "" {
		t.Fatalf("Status after Set = %+v", st)
	}

	// The daemon's environment wins, with a warning.
	e := mustParse(t, canary("api"))
	env["ANTHROPIC_API_KEY"] = e.Reveal()
	if tok, o, err := s.Get(ctx, Anthropic); err != nil || !tok.Equal(e) || o != OriginEnv {
		t.Fatalf("Get with env set = %s %s %v", tok.Fingerprint(), o, err)
	}
	st, _ = s.Status(ctx, Anthropic)
	if st.Origin != OriginEnv || st.Kind != KindAPIKey || !strings.Contains(st.Warning, "ANTHROPIC_API_KEY") || !strings.Contains(st.Warning, a.Fingerprint()) {
		t.Fatalf("Status with env shadowing = %+v", st)
	}
	delete(env, "ANTHROPIC_API_KEY")

	// Hot change: every Get after Set returns the new value.
	for range 5 {
		b := mustParse(t, canary("oauth"))
		if err := s.Set(ctx, Anthropic, b); err != nil {
			t.Fatal(err)
		}
		if tok, _, err := s.Get(ctx, Anthropic); err != nil || !tok.Equal(b) {
			t.Fatalf("Get right after Set = %s, %v; want %s", tok.Fingerprint(), err, b.Fingerprint())
		}
	}

	if err := s.Delete(ctx, Anthropic); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.Get(ctx, Anthropic); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), "clauderon token set") {
		t.Fatalf("Get after Delete: %v", err)
	}
}
