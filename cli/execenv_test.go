package cli

import (
	"slices"
	"strings"
	"testing"
)

func TestExecEnv(t *testing.T) {
	const canary = "sk-ant-oat01-CANARY-execenv-0123456789"
	base := []string{
		"PATH=/usr/bin", "HOME=/home/u",
		"CLAUDE_CODE_OAUTH_TOKEN=" + canary,
		"ANTHROPIC_API_KEY=sk-ant-api03-CANARY-key",
		"ANTHROPIC_AUTH_TOKEN=" + canary,
		"https_proxy=http://old:1", "HTTPS_PROXY=http://old:1", "no_proxy=example.com",
		"SSL_CERT_FILE=/old.pem",
	}
	got := execEnv(base, "http://exec-1:s3cret@127.0.0.1:4000", "/h/proxy-ca.pem", "/h/ca-bundle.pem")
	want := []string{
		"PATH=/usr/bin", "HOME=/home/u",
		"HTTPS_PROXY=http://exec-1:s3cret@127.0.0.1:4000", "https_proxy=http://exec-1:s3cret@127.0.0.1:4000",
		"HTTP_PROXY=http://exec-1:s3cret@127.0.0.1:4000", "NO_PROXY=localhost,127.0.0.1,::1",
		"CLAUDE_CODE_OAUTH_TOKEN=sk-ant-oat01-clauderon-proxy-placeholder",
		"NODE_EXTRA_CA_CERTS=/h/proxy-ca.pem",
		"SSL_CERT_FILE=/h/ca-bundle.pem", "CURL_CA_BUNDLE=/h/ca-bundle.pem",
		"REQUESTS_CA_BUNDLE=/h/ca-bundle.pem", "GIT_SSL_CAINFO=/h/ca-bundle.pem",
	}
	for _, w := range want {
		if !slices.Contains(got, w) {
			t.Errorf("missing %q in %q", w, got)
		}
	}
	seen := map[string]int{}
	for _, kv := range got {
		if strings.Contains(kv, "CANARY") || strings.Contains(kv, "old:1") || strings.Contains(kv, "old.pem") || strings.Contains(kv, "example.com") {
			t.Errorf("kept %q", kv)
		}
		k, _, _ := strings.Cut(kv, "=")
		seen[k]++
		if seen[k] > 1 {
			t.Errorf("%s set twice", k)
		}
	}
	if slices.ContainsFunc(got, func(kv string) bool { return strings.HasPrefix(kv, "ANTHROPIC_") }) {
		t.Errorf("an ANTHROPIC_ variable survived: %q", got)
	}
}
