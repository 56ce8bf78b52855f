package cli

import (
	"strings"

	"github.com/clauderon/clauderon/secret"
)

// execEnv is the child's environment for `clauderon exec`: base without any
// credential or proxy setting, plus the proxy, the placeholder token and our
// trust settings.
func execEnv(base []string, proxyURL, caFile, bundleFile string) []string {
	drop := map[string]bool{
		"ANTHROPIC_API_KEY": true, "ANTHROPIC_AUTH_TOKEN": true, "CLAUDE_CODE_OAUTH_TOKEN": true,
		"HTTPS_PROXY": true, "HTTP_PROXY": true, "ALL_PROXY": true, "NO_PROXY": true,
		"NODE_EXTRA_CA_CERTS": true, "SSL_CERT_FILE": true, "CURL_CA_BUNDLE": true,
		"REQUESTS_CA_BUNDLE": true, "GIT_SSL_CAINFO": true,
	}
	out := make([]string, 0, len(base)+12)
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if drop[strings.ToUpper(k)] {
			continue
		}
		out = append(out, kv)
	}
	noProxy := "localhost,127.0.0.1,::1"
	return append(out,
		"HTTPS_PROXY="+proxyURL, "HTTP_PROXY="+proxyURL,
		"https_proxy="+proxyURL, "http_proxy="+proxyURL,
		"NO_PROXY="+noProxy, "no_proxy="+noProxy,
		"CLAUDE_CODE_OAUTH_TOKEN="+secret.PlaceholderOAuth,
		"NODE_EXTRA_CA_CERTS="+caFile,
		"SSL_CERT_FILE="+bundleFile,
		"CURL_CA_BUNDLE="+bundleFile,
		"REQUESTS_CA_BUNDLE="+bundleFile,
		"GIT_SSL_CAINFO="+bundleFile,
	)
}
