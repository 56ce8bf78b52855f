package proxy

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"syscall"
)

// A dial policy guards what the proxy's clients could not reach on their
// own. A container normally cannot connect to the host's loopback services
// or, through them, to anything bound to 127.0.0.1; a proxy running on the
// host could, so blind tunnels and plain-http requests are checked against
// the address actually connected to, after DNS resolution: a name that
// resolves to 127.0.0.1 is refused just like the literal address. Rule
// upstreams are not checked; they come from the user's own configuration
// (tests point api.anthropic.com at 127.0.0.1).

// DialPolicy decides whether the proxy may connect to ip on behalf of a
// client that asked for host (a name or an address, without port). A
// non-nil error refuses the connection; the client gets a 403 naming the
// host and the error's text. Wrap ErrDialDenied in it.
type DialPolicy func(host string, ip netip.Addr) error

// DefaultDialPolicy refuses loopback (127.0.0.0/8, ::1), unspecified
// (0.0.0.0/8, ::) and link-local (169.254.0.0/16, where cloud metadata
// services live, and fe80::/10) addresses: the host's own services, which
// a container has no other way to reach. Everything else is allowed.
func DefaultDialPolicy(host string, ip netip.Addr) error {
	ip = ip.Unmap()
	var why string
	switch {
	case ip.IsLoopback():
		why = "a loopback address, the host's own services"
	case ip.IsUnspecified() || (ip.Is4() && ip.As4()[0] == 0):
		why = "an unspecified address, which reaches the host itself"
	case ip.IsLinkLocalUnicast():
		why = "a link-local address, where cloud metadata services live"
	default:
		return nil
	}
	if host == ip.String() {
		return fmt.Errorf("%w: %s is %s", ErrDialDenied, host, why)
	}
	return fmt.Errorf("%w: %s resolves to %s, %s", ErrDialDenied, host, ip, why)
}

// AllowAllDials is a DialPolicy that refuses nothing.
func AllowAllDials(string, netip.Addr) error { return nil }

// control returns a net.Dialer Control function that applies the policy to
// each address the dialer is about to connect to.
func (pol DialPolicy) control(host string) func(network, address string, _ syscall.RawConn) error {
	return func(_, address string, _ syscall.RawConn) error {
		ap, err := netip.ParseAddrPort(address)
		if err != nil {
			return fmt.Errorf("%w: cannot check address %q: %v", ErrDialDenied, address, err)
		}
		return pol(host, ap.Addr())
	}
}

// policyError digs the policy's own error out of a dial error.
func policyError(err error) error {
	var oe *net.OpError
	if errors.As(err, &oe) && errors.Is(oe.Err, ErrDialDenied) {
		return oe.Err
	}
	return err
}
