package proxy

import (
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/internal/fakeanthropic"
	"github.com/clauderon/clauderon/secret"
)

func TestRuleMatch(t *testing.T) {
	rs := DefaultRules()
	tests := []struct {
		host string
		want bool
	}{
		{"api.anthropic.com", true},
		{"API.ANTHROPIC.COM", true},
		{"api.anthropic.com:443", true},
		{"api.anthropic.com:8443", true},
		{"api.anthropic.com.", true},
		{"api.anthropic.com.:443", true},
		{"[api.anthropic.com]:443", true},
		{"api.anthropic.com.evil.com", false},
		{"api.anthropic.com.evil.com:443", false},
		{"evilapi.anthropic.com", false},
		{"evil-api.anthropic.com", false},
		{"x.api.anthropic.com", false},
		{"anthropic.com", false},
		{"api.anthropic.co", false},
		{"api.anthropic.com:443:1", false},
		{"", false},
	}
	for _, tt := range tests {
		if _, got := rs.Match(tt.host); got != tt.want {
			t.Errorf("Match(%q) = %v, want %v", tt.host, got, tt.want)
		}
	}
}

// matchOracle says, independently of normalizeHost, whether s names
// api.anthropic.com: the name in any case, optionally bracketed, optionally
// with a trailing dot, optionally with one ":port".
func matchOracle(s string) bool {
	lower := strings.ToLower(s)
	if after, ok := strings.CutPrefix(lower, "["); ok {
		rest, ok := strings.CutPrefix(after, AnthropicHost)
		if !ok {
			return false
		}
		rest = strings.TrimPrefix(rest, ".")
		return rest == "]" || (strings.HasPrefix(rest, "]:") && !strings.Contains(rest[2:], ":"))
	}
	rest, ok := strings.CutPrefix(lower, AnthropicHost)
	if !ok {
		return false
	}
	rest = strings.TrimPrefix(rest, ".")
	return rest == "" || (strings.HasPrefix(rest, ":") && !strings.ContainsAny(rest[1:], ":[]"))
}

func FuzzRuleMatch(f *testing.F) {
	for _, s := range []string{"", "evil", ".evil.com", ":443", "api.", "x"} {
		f.Add("", s, uint16(443), uint64(0))
		f.Add(s, "", uint16(0), uint64(0xffff))
	}
	f.Add("evil", "", uint16(443), uint64(5))
	f.Add("", ".evil.com", uint16(8443), uint64(1<<40))
	rs := DefaultRules()
	f.Fuzz(func(t *testing.T, prefix, suffix string, port uint16, caseMask uint64) {
		// Any case of the host, with or without port or trailing dot, matches.
		var b strings.Builder
		for i, r := range AnthropicHost {
			if caseMask&(1<<(i%64)) != 0 {
				r = unicode.ToUpper(r)
			}
			b.WriteRune(r)
		}
		cased := b.String()
		for _, h := range []string{cased, cased + ".", cased + ":" + itoa(port), "[" + cased + "]:" + itoa(port)} {
			r, ok := rs.Match(h)
			if !ok || r.Host != AnthropicHost {
				t.Fatalf("Match(%q) = %v, want the Anthropic rule", h, ok)
			}
		}
		// With anything around it, it matches exactly when the oracle says
		// it still names the host: no suffix or prefix trick gets in.
		h := prefix + cased + suffix
		if _, ok := rs.Match(h); ok != matchOracle(h) {
			t.Fatalf("Match(%q) = %v, oracle %v", h, ok, !ok)
		}
		if _, ok := rs.Match(prefix + suffix); ok && !matchOracle(prefix+suffix) {
			t.Fatalf("Match(%q) matched", prefix+suffix)
		}
	})
}

func itoa(p uint16) string {
	const digits = "0123456789"
	if p == 0 {
		return "0"
	}
	var b []byte
	for ; p > 0; p /= 10 {
		b = append([]byte{digits[p%10]}, b...)
	}
	return string(b)
}

func TestWithUpstreams(t *testing.T) {
	dir := t.TempDir()
	fake, err := fakeanthropic.Start(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer fake.Close()
	empty := filepath.Join(dir, "empty.pem")
	os.WriteFile(empty, []byte("not a certificate"), 0o644)

	rs, err := DefaultRules().WithUpstreams(map[string]config.Upstream{"API.anthropic.com": {Address: fake.Addr, CAFile: fake.CAFile}})
	if err != nil {
		t.Fatal(err)
	}
	if rs[0].Upstream != fake.Addr || rs[0].RootCAs == nil {
		t.Errorf("override not applied: %+v", rs[0])
	}
	if DefaultRules()[0].Upstream != "" {
		t.Error("WithUpstreams changed its receiver")
	}
	noCA, err := DefaultRules().WithUpstreams(map[string]config.Upstream{AnthropicHost: {Address: fake.Addr}})
	if err != nil || noCA[0].RootCAs != nil {
		t.Errorf("without CAFile: %v, RootCAs %v (want nil: system roots)", err, noCA[0].RootCAs)
	}

	bad := []struct {
		name string
		ups  map[string]config.Upstream
		want string
	}{
		{"unknown host", map[string]config.Upstream{"api.openai.com": {Address: fake.Addr}}, "no rule intercepts"},
		{"missing CA file", map[string]config.Upstream{AnthropicHost: {Address: fake.Addr, CAFile: filepath.Join(dir, "nope.pem")}}, "nope.pem"},
		{"CA file without certificates", map[string]config.Upstream{AnthropicHost: {Address: fake.Addr, CAFile: empty}}, "no PEM certificate"},
		{"address without port", map[string]config.Upstream{AnthropicHost: {Address: "gateway.internal"}}, "host:port"},
	}
	for _, tt := range bad {
		_, err := DefaultRules().WithUpstreams(tt.ups)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err %v, want it to mention %q", tt.name, err, tt.want)
		}
	}
}

func TestNewValidates(t *testing.T) {
	ca, err := LoadOrCreateCA(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	src := newSource(t, canaryOAuth)
	ok := Config{CA: ca, Auth: NewSessions(), Credentials: src}
	if _, err := New(ok); err != nil {
		t.Fatalf("minimal config: %v", err)
	}
	bad := []Config{
		{Auth: NewSessions(), Credentials: src},
		{CA: ca, Credentials: src},
		{CA: ca, Auth: NewSessions()},
		{CA: ca, Auth: NewSessions(), Credentials: src, Rules: Rules{{Host: "API.anthropic.com", Credential: "x", Inject: InjectAnthropic}}},
		{CA: ca, Auth: NewSessions(), Credentials: src, Rules: Rules{{Host: "a.example", Inject: InjectAnthropic}}},
		{CA: ca, Auth: NewSessions(), Credentials: src, Rules: Rules{{Host: "a.example", Credential: "x"}}},
		{CA: ca, Auth: NewSessions(), Credentials: src, Rules: append(DefaultRules(), DefaultRules()...)},
	}
	for i, c := range bad {
		if _, err := New(c); err == nil {
			t.Errorf("config %d accepted", i)
		}
	}
}

func TestReplaceCredentials(t *testing.T) {
	tok, _ := secret.ParseToken(canaryOAuth)
	h := http.Header{
		"Authorization":  {"Bearer client"},
		"X-Api-Key":      {"client"},
		"Anthropic-Beta": {"client-flag"},
		"Content-Type":   {"application/json"},
	}
	if err := replaceCredentials(h, DefaultRules()[0], tok); err != nil {
		t.Fatal(err)
	}
	want := http.Header{
		"Authorization":  {"Bearer " + canaryOAuth},
		"Anthropic-Beta": {"client-flag," + OAuthBeta},
		"Content-Type":   {"application/json"},
	}
	if len(h) != len(want) {
		t.Errorf("headers %v, want %v", h, want)
	}
	for k, v := range want {
		if strings.Join(h[k], "|") != strings.Join(v, "|") {
			t.Errorf("%s = %q, want %q", k, h[k], v)
		}
	}
	if err := replaceCredentials(http.Header{}, DefaultRules()[0], secret.Token{}); err == nil {
		t.Error("empty token injected")
	}
}
