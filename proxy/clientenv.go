package proxy

import "github.com/clauderon/clauderon/secret"

// ClientEnv is the environment that sends a client's traffic through the
// proxy at proxyURL with only the placeholder token, and makes it trust the
// proxy's CA: caFile for Node, bundleFile (system roots plus the CA) for
// OpenSSL, curl, Python and git. Sessions' containers and `clauderon exec`
// commands both get it.
func ClientEnv(proxyURL, caFile, bundleFile string) []string {
	const noProxy = "localhost,127.0.0.1,::1"
	return []string{
		"CLAUDE_CODE_OAUTH_TOKEN=" + secret.PlaceholderOAuth,
		"HTTPS_PROXY=" + proxyURL, "HTTP_PROXY=" + proxyURL,
		"https_proxy=" + proxyURL, "http_proxy=" + proxyURL,
		"NO_PROXY=" + noProxy, "no_proxy=" + noProxy,
		"NODE_EXTRA_CA_CERTS=" + caFile,
		"SSL_CERT_FILE=" + bundleFile,
		"CURL_CA_BUNDLE=" + bundleFile,
		"REQUESTS_CA_BUNDLE=" + bundleFile,
		"GIT_SSL_CAINFO=" + bundleFile,
	}
}
