package proxy

import (
	"crypto/x509"
	"fmt"
	"net"
	"os"
	"slices"
	"sort"
	"strings"

	"github.com/clauderon/clauderon/config"
	"github.com/clauderon/clauderon/secret"
)

// AnthropicHost is the one host intercepted by default.
const AnthropicHost = "api.anthropic.com"

// Rule names a host whose TLS the proxy intercepts and says how the real
// credential is put on each request to it.
type Rule struct {
	// Host is the intercepted host name: lower case, no port, no trailing dot.
	// It matches on any port.
	Host string
	// Credential is the name asked of the secret.Source on every request.
	Credential string
	// Inject puts the credential on the outgoing headers, after hop-by-hop
	// headers and the client's own credentials are gone.
	Inject Injector
	// Upstream is the host:port dialled for this rule's traffic; empty means
	// Host:443. TLS is verified as Host either way.
	Upstream string
	// RootCAs verifies the upstream; nil means the system roots (which
	// honour SSL_CERT_FILE).
	RootCAs *x509.CertPool
}

// Rules is the table of intercepted hosts. Every host it does not name is
// tunnelled without interception.
type Rules []Rule

// DefaultRules intercepts api.anthropic.com with the Anthropic credential.
func DefaultRules() Rules {
	return Rules{{Host: AnthropicHost, Credential: secret.Anthropic, Inject: InjectAnthropic}}
}

// Match returns the rule for host, given with or without a port, in any
// case, with or without a trailing dot. Only an exact name matches.
func (rs Rules) Match(host string) (Rule, bool) {
	h := normalizeHost(host)
	for _, r := range rs {
		if r.Host == h {
			return r, true
		}
	}
	return Rule{}, false
}

// normalizeHost lower-cases host and drops a port, IPv6 brackets and a
// trailing dot.
func normalizeHost(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	} else if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	return strings.ToLower(strings.TrimSuffix(host, "."))
}

// upstreamAddr is where the rule's traffic is dialled.
func (r Rule) upstreamAddr() string {
	if r.Upstream != "" {
		return r.Upstream
	}
	return net.JoinHostPort(r.Host, "443")
}

// WithUpstreams returns a copy of the rules with config's per-host upstream
// overrides applied. An override for a host no rule names, a bad address or
// a CA file without certificates is an error.
func (rs Rules) WithUpstreams(ups map[string]config.Upstream) (Rules, error) {
	out := slices.Clone(rs)
	hosts := make([]string, 0, len(ups))
	for h := range ups {
		hosts = append(hosts, h)
	}
	sort.Strings(hosts) // deterministic errors
	for _, h := range hosts {
		u := ups[h]
		i := slices.IndexFunc(out, func(r Rule) bool { return r.Host == normalizeHost(h) })
		if i < 0 {
			known := make([]string, len(out))
			for j, r := range out {
				known[j] = r.Host
			}
			return nil, fmt.Errorf("proxy.upstreams[%q]: no rule intercepts that host (intercepted: %s)", h, strings.Join(known, ", "))
		}
		if _, port, err := net.SplitHostPort(u.Address); err != nil || port == "" {
			return nil, fmt.Errorf("proxy.upstreams[%q].address %q: want host:port", h, u.Address)
		}
		out[i].Upstream = u.Address
		if u.CAFile != "" {
			pool, err := loadRoots(u.CAFile)
			if err != nil {
				return nil, fmt.Errorf("proxy.upstreams[%q].ca_file: %w", h, err)
			}
			out[i].RootCAs = pool
		}
	}
	return out, nil
}

func loadRoots(path string) (*x509.CertPool, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// validate checks the table New is given.
func (rs Rules) validate() error {
	seen := map[string]bool{}
	for _, r := range rs {
		switch {
		case r.Host == "" || r.Host != normalizeHost(r.Host) || strings.ContainsAny(r.Host, ":/ "):
			return fmt.Errorf("rule host %q: want a lower-case host name without port", r.Host)
		case seen[r.Host]:
			return fmt.Errorf("rule host %q appears twice", r.Host)
		case r.Credential == "":
			return fmt.Errorf("rule %q names no credential", r.Host)
		case r.Inject == nil:
			return fmt.Errorf("rule %q has no Inject function", r.Host)
		}
		seen[r.Host] = true
	}
	return nil
}
