package session

import (
	"fmt"
	"net/netip"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/clauderon/clauderon/api"
)

// The egress policy's types are the LocalAPI's (package api).
type (
	EgressMode   = api.EgressMode
	Egress       = api.Egress
	Denial       = api.Denial
	EgressReport = api.EgressReport
)

const (
	EgressOpen     = api.EgressOpen
	EgressBalanced = api.EgressBalanced
	EgressLocked   = api.EgressLocked
)

// MaxAllowHosts bounds a session's allow list.
const MaxAllowHosts = 256

// DefaultBalancedHosts are the hosts a development session commonly needs:
// source hosting, and the npm, PyPI, Go, Rust, Ruby, Maven and Debian/Ubuntu
// package hosts. "*.x" matches every name below x, not x itself.
var DefaultBalancedHosts = []string{
	"github.com", "*.github.com", "*.githubusercontent.com", "codeload.github.com",
	"gitlab.com", "*.gitlab.com", "bitbucket.org",
	"registry.npmjs.org", "registry.yarnpkg.com", "*.npmjs.org",
	"pypi.org", "files.pythonhosted.org",
	"proxy.golang.org", "sum.golang.org", "go.dev", "golang.org", "storage.googleapis.com",
	"crates.io", "index.crates.io", "static.crates.io", "static.rust-lang.org",
	"rubygems.org", "index.rubygems.org",
	"repo.maven.apache.org", "repo1.maven.org",
	"deb.debian.org", "security.debian.org", "archive.ubuntu.com", "security.ubuntu.com",
	"dl-cdn.alpinelinux.org",
}

// EgressConfig is config.json's egress section, as the manager uses it.
type EgressConfig struct {
	Default  EgressMode // "" is EgressBalanced
	Balanced []string   // nil is DefaultBalancedHosts
}

// hostRE is a DNS name (letters, digits, '-', '_' and dots), optionally
// behind "*.": what --allow takes besides an IP address.
var hostRE = regexp.MustCompile(`^(\*\.)?([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)*[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$`)

// NormalizeHost checks an allow-list entry and returns its canonical form
// (lower case, no trailing dot): a host name, "*." and a domain, or an IP
// address.
func NormalizeHost(h string) (string, error) {
	orig := h
	h = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(h)), ".")
	if a, err := netip.ParseAddr(strings.Trim(h, "[]")); err == nil {
		if a.Zone() != "" {
			// A zone is free text ("fe80::1%x;rm -rf ~"), and names an
			// interface of the host, not a destination.
			return "", Errorf(ErrInvalid, "%s is an address with a zone; give the address alone", visibleArg(orig))
		}
		return a.Unmap().String(), nil
	}
	if len(h) == 0 || len(h) > 253 || !hostRE.MatchString(h) || h == "*" {
		return "", Errorf(ErrInvalid, "%s is not a host: give a name such as example.com, a wildcard such as *.example.com, or an IP address (no scheme, port or path)", visibleArg(orig))
	}
	if strings.HasPrefix(h, "*.") && !strings.Contains(h[2:], ".") {
		return "", Errorf(ErrInvalid, "%q would allow a whole top-level domain; name a domain below it, such as *.example.com", h)
	}
	return h, nil
}

// visibleArg cuts what a user (or a container) gave and quotes it in
// ASCII, so no control, bidirectional or invisible character reaches a
// terminal, and no shell word is mistaken for part of a command.
func visibleArg(s string) string {
	if len(s) > 80 {
		s = strings.ToValidUTF8(s[:80], "") + "…"
	}
	return strconv.QuoteToASCII(s)
}

// normalizeEgress checks a policy and puts its hosts in canonical form.
func normalizeEgress(e Egress, def EgressMode) (Egress, error) {
	if e.Mode == "" {
		e.Mode = def
	}
	if e.Mode == "" {
		e.Mode = EgressBalanced
	}
	if err := checkMode(e); err != nil {
		return e, err
	}
	hosts, err := normalizeHosts(e.Allow)
	if err != nil {
		return e, err
	}
	e.Allow = hosts
	return e, nil
}

func normalizeHosts(in []string) ([]string, error) {
	if len(in) > MaxAllowHosts {
		return nil, Errorf(ErrInvalid, "%d hosts to allow; at most %d are", len(in), MaxAllowHosts)
	}
	var out []string
	for _, h := range in {
		n, err := NormalizeHost(h)
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, n) {
			out = append(out, n)
		}
	}
	return out, nil
}

// checkMode refuses a mode that is none of the three.
func checkMode(e Egress) error {
	switch e.Mode {
	case "", EgressOpen, EgressBalanced, EgressLocked:
		return nil
	}
	return Errorf(ErrInvalid, "egress mode %s is not one of open, balanced, locked", visibleArg(string(e.Mode)))
}

// checkEgress is what a policy read back from a label must pass.
func checkEgress(e Egress) error {
	if err := checkMode(e); err != nil {
		return err
	}
	n, err := normalizeHosts(e.Allow)
	if err == nil && !slices.Equal(n, e.Allow) {
		err = Errorf(ErrInvalid, "egress hosts not in canonical form")
	}
	return err
}

// egressAllows reports whether policy e lets a tunnel reach host (a name or
// an address, as the client asked for it).
func egressAllows(e Egress, host string, balanced []string) bool {
	host = strings.TrimSuffix(strings.ToLower(strings.Trim(host, "[]")), ".")
	if a, err := netip.ParseAddr(host); err == nil {
		if a.Zone() != "" {
			return false
		}
		host = a.Unmap().String()
	}
	switch e.Mode {
	case "", EgressOpen:
		return true
	case EgressBalanced:
		if matchAny(balanced, host) {
			return true
		}
	}
	return matchAny(e.Allow, host)
}

func matchAny(patterns []string, host string) bool {
	for _, p := range patterns {
		if p == host || (strings.HasPrefix(p, "*.") && strings.HasSuffix(host, p[1:]) && len(host) > len(p)-1) {
			return true
		}
	}
	return false
}

// maxDenials is how many hosts of a session's latest denials are kept.
const maxDenials = 100

// denyMessage is what a refused client reads: the host, the policy and the
// exact command that allows it.
func denyMessage(name, host string, mode EgressMode) string {
	return fmt.Sprintf("session %s may not reach %s (egress policy %q); to allow it, run on the host: clauderon egress allow %s %s", name, host, mode, name, host)
}

// CheckEgress is asked by the proxy before a session's blind tunnel or
// plain-http request reaches host: nil allows it; an error (ErrDenied) says
// why not and how to allow it, and is remembered for EgressDenials.
func (m *Manager) CheckEgress(name, host string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return Errorf(ErrDenied, "no session %s", name)
	}
	balanced := m.cfg.Egress.Balanced
	if balanced == nil {
		balanced = DefaultBalancedHosts
	}
	if egressAllows(r.Egress, host, balanced) {
		return nil
	}
	shown, err := NormalizeHost(host)
	if err != nil {
		shown = visibleArg(host)
	}
	// One entry per host, the latest last: a flood of one host cannot push
	// the others out.
	d := m.denials[name]
	n := Denial{Time: m.cfg.Now().UTC(), Host: shown, Count: 1}
	if i := slices.IndexFunc(d, func(x Denial) bool { return x.Host == shown }); i >= 0 {
		n.Count += d[i].Count
		d = slices.Delete(d, i, i+1)
	}
	d = append(d, n)
	if len(d) > maxDenials {
		d = d[len(d)-maxDenials:]
	}
	if m.denials == nil {
		m.denials = map[string][]Denial{}
	}
	m.denials[name] = d
	if err != nil {
		return Errorf(ErrDenied, "session %s may not reach %s: it is not a host name an egress policy can allow", name, shown)
	}
	return Errorf(ErrDenied, "%s", denyMessage(name, shown, r.Egress.Mode))
}

// EgressOf reports a session's egress policy and latest denials.
func (m *Manager) EgressOf(name string) (EgressReport, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return EgressReport{}, notFound(name)
	}
	return m.egressReportLocked(r), nil
}

func (m *Manager) egressReportLocked(r *record) EgressReport {
	mode := r.Egress.Mode
	if mode == "" {
		mode = EgressOpen
	}
	rep := EgressReport{Session: r.Name, Mode: string(mode), Allow: append([]string{}, r.Egress.Allow...), Denials: append([]Denial{}, m.denials[r.Name]...)}
	if mode == EgressBalanced {
		rep.Balanced = m.cfg.Egress.Balanced
		if rep.Balanced == nil {
			rep.Balanced = DefaultBalancedHosts
		}
	}
	return rep
}

// AllowEgress adds hosts to a session's allow list, or sets its mode when
// mode is not empty. It takes effect at the session's next connection,
// without a restart, and is saved with the session.
func (m *Manager) AllowEgress(name string, mode EgressMode, hosts []string) (EgressReport, error) {
	add, err := normalizeHosts(hosts)
	if err != nil {
		return EgressReport{}, err
	}
	if err := checkMode(Egress{Mode: mode}); err != nil {
		return EgressReport{}, err
	}
	if mode == "" && len(add) == 0 {
		return EgressReport{}, Errorf(ErrInvalid, "name at least one host to allow")
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return EgressReport{}, notFound(name)
	}
	e := Egress{Mode: r.Egress.Mode, Allow: append([]string{}, r.Egress.Allow...)}
	if mode != "" {
		e.Mode = mode
	}
	for _, h := range add {
		if !slices.Contains(e.Allow, h) {
			e.Allow = append(e.Allow, h)
		}
	}
	if len(e.Allow) > MaxAllowHosts {
		return EgressReport{}, Errorf(ErrInvalid, "session %s would allow %d hosts; at most %d are", name, len(e.Allow), MaxAllowHosts)
	}
	r.Egress = e
	m.saveLocked(r)
	m.log.Info("egress policy changed", "session", name, "mode", e.Mode, "allow", e.Allow)
	return m.egressReportLocked(r), nil
}

// NewEgressConfig checks config.json's egress section: def is the default
// mode ("" for balanced), balanced the hosts balanced allows (nil for
// DefaultBalancedHosts).
func NewEgressConfig(def string, balanced []string) (EgressConfig, error) {
	c := EgressConfig{Default: EgressMode(def)}
	if c.Default == "" {
		c.Default = EgressBalanced
	}
	if err := checkMode(Egress{Mode: c.Default}); err != nil {
		return c, err
	}
	if balanced != nil {
		hosts, err := normalizeHosts(balanced)
		if err != nil {
			return c, err
		}
		c.Balanced = append([]string{}, hosts...)
	}
	return c, nil
}

// AllowsExactly reports whether a session's allow list names ip itself:
// what the proxy asks before it lets a tunnel reach this host's own
// addresses or the networks behind it. A name does not count, since whoever
// controls its DNS could point it here.
func (m *Manager) AllowsExactly(name, _ string, ip netip.Addr) bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.sessions[name]
	if !ok {
		return false
	}
	return slices.Contains(r.Egress.Allow, ip.Unmap().WithZone("").String())
}
