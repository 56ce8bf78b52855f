package proxy

import (
	"encoding/base64"
	"fmt"
	"strings"
	"sync"
	"testing"
)

func TestSessions(t *testing.T) {
	s := NewSessions()
	if err := s.Set("a", "secret-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Set("b", "secret-b"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, user, pass string
		want             bool
	}{
		{"right", "a", "secret-a", true},
		{"wrong secret", "a", "secret-b", false},
		{"other session's secret", "b", "secret-a", false},
		{"unknown", "c", "secret-a", false},
		{"empty", "", "", false},
		{"prefix of secret", "a", "secret-", false},
	}
	for _, tt := range tests {
		if got := s.Authorize(tt.user, tt.pass); got != tt.want {
			t.Errorf("%s: Authorize(%q, %q) = %v, want %v", tt.name, tt.user, tt.pass, got, tt.want)
		}
	}
	s.Remove("a")
	if s.Authorize("a", "secret-a") {
		t.Error("removed session still authorized")
	}
	for _, bad := range []string{"", "a:b", "a b", "a\n"} {
		if err := s.Set(bad, "x"); err == nil {
			t.Errorf("Set(%q) accepted", bad)
		}
	}
	if err := s.Set("ok", ""); err == nil {
		t.Error("empty secret accepted")
	}
}

func TestSessionsConcurrent(t *testing.T) {
	s := NewSessions()
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Go(func() {
			name := fmt.Sprint("s", i)
			for j := range 200 {
				s.Set(name, fmt.Sprint(j))
				if !s.Authorize(name, fmt.Sprint(j)) {
					t.Errorf("%s lost its secret", name)
				}
				s.Remove(name)
			}
		})
	}
	wg.Wait()
}

func TestNewSecret(t *testing.T) {
	a, _ := NewSecret()
	b, _ := NewSecret()
	if a == b || len(a) != 64 || strings.Trim(a, "0123456789abcdef") != "" {
		t.Errorf("secrets %q %q", a, b)
	}
}

func FuzzParseProxyAuthorization(f *testing.F) {
	for _, seed := range []struct{ name, secret, raw string }{
		{"sess", "s3cret", "Basic c2VzczpzM2NyZXQ="},
		{"a", "b:c", "basic YTpiOmM="},
		{"user", "", "Bearer abc"},
		{"x", "pässwörd", "Basic"},
		{"x", "y", "Basic !!!"},
		{"", "", "Basic OnNlY3JldA=="}, // ":secret": empty name
		{"name", "\x00\xff", "BASIC   bmFtZTo= "},
	} {
		f.Add(seed.name, seed.secret, seed.raw)
	}
	f.Fuzz(func(t *testing.T, name, secret, raw string) {
		// Arbitrary input never panics, and what it accepts is well formed.
		if n, _, ok := parseProxyAuthorization(raw); ok && (n == "" || strings.Contains(n, ":")) {
			t.Errorf("accepted name %q from %q", n, raw)
		}
		// What a client sends for name:secret comes back unchanged, in any
		// case of the scheme.
		enc := base64.StdEncoding.EncodeToString([]byte(name + ":" + secret))
		wantName, wantSecret, _ := strings.Cut(name+":"+secret, ":") // Basic splits at the first colon
		for _, scheme := range []string{"Basic", "basic", "BASIC"} {
			n, s, ok := parseProxyAuthorization(scheme + " " + enc)
			if ok != (wantName != "") {
				t.Fatalf("parse(%q:%q) ok=%v", name, secret, ok)
			}
			if ok && (n != wantName || s != wantSecret) {
				t.Fatalf("round trip %q:%q became %q:%q", name, secret, n, s)
			}
			if ok && !strings.Contains(name, ":") && (n != name || s != secret) {
				t.Fatalf("round trip %q:%q became %q:%q", name, secret, n, s)
			}
		}
		// Another scheme is never accepted.
		if _, _, ok := parseProxyAuthorization("Bearer " + enc); ok {
			t.Fatal("accepted a Bearer header")
		}
	})
}
