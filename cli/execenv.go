package cli

import (
	"strings"

	"github.com/clauderon/clauderon/proxy"
)

// execEnv is the child's environment for `clauderon exec`: base without any
// credential or proxy setting, plus proxy.ClientEnv.
func execEnv(base []string, proxyURL, caFile, bundleFile string) []string {
	add := proxy.ClientEnv(proxyURL, caFile, bundleFile)
	drop := map[string]bool{"ANTHROPIC_API_KEY": true, "ANTHROPIC_AUTH_TOKEN": true, "ALL_PROXY": true}
	for _, kv := range add {
		k, _, _ := strings.Cut(kv, "=")
		drop[strings.ToUpper(k)] = true
	}
	out := make([]string, 0, len(base)+len(add))
	for _, kv := range base {
		k, _, _ := strings.Cut(kv, "=")
		if !drop[strings.ToUpper(k)] {
			out = append(out, kv)
		}
	}
	return append(out, add...)
}
