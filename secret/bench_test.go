package secret

import (
	"context"
	"testing"
)

// BenchmarkStoreGet measures what the proxy pays per request to find the
// credential. Compare "keychain cached" with "keychain every time" to see
// what the Keychain's memory saves; run inside
// `dbus-run-session -- ./scripts/with-keyring.sh go test -bench StoreGet ./secret/`.
func BenchmarkStoreGet(b *testing.B) {
	ctx := context.Background()
	tok := mustParse(b, canary("oauth"))
	run := func(b *testing.B, s *Store) {
		b.ReportAllocs()
		for b.Loop() {
			if _, _, err := s.Get(ctx, Anthropic); err != nil {
				b.Fatal(err)
			}
		}
	}
	b.Run("environment", func(b *testing.B) {
		k, _, _ := newFakeKeychain()
		run(b, &Store{Env: envOf(map[string]string{"CLAUDE_CODE_OAUTH_TOKEN": tok.Reveal()}), Keychain: k})
	})
	b.Run("keychain cached", func(b *testing.B) {
		k := realKeychain(b)
		if err := k.Set(ctx, Anthropic, tok); err != nil {
			b.Fatal(err)
		}
		run(b, &Store{Env: envOf(nil), Keychain: k})
	})
	b.Run("keychain every time", func(b *testing.B) {
		k := realKeychain(b)
		k.TTL = -1
		if err := k.Set(ctx, Anthropic, tok); err != nil {
			b.Fatal(err)
		}
		run(b, &Store{Env: envOf(nil), Keychain: k})
	})
}
