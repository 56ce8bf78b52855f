package gateway

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"time"
)

// ErrDialDenied: the gateway's dial policy refused every address of a
// blind tunnel's target.
var ErrDialDenied = errors.New("destination refused by the gateway's dial policy")

// PolicyDialer connects blind tunnels from the cluster. It resolves the
// target first, checks every address, and dials only an address it has
// checked, so a name cannot resolve to something else between the check
// and the dial (DNS rebinding).
type PolicyDialer struct {
	// Allow refuses an address with an error; nil means PublicOnly.
	Allow    func(ip netip.Addr) error
	Resolver *net.Resolver // nil: net.DefaultResolver
	Timeout  time.Duration // 0: 10 s
}

// PublicDialer is a PolicyDialer with allow (nil: PublicOnly).
func PublicDialer(allow func(netip.Addr) error) *PolicyDialer {
	return &PolicyDialer{Allow: allow}
}

// nonPublic are the ranges a pod must not reach through the gateway:
// the cluster's own networks, the node and its metadata services.
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("100.64.0.0/10"),
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.0.2.0/24"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.88.99.0/24"),  // 6to4 relays
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking, often routed inside networks
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/96"),           // IPv4-compatible (and ::, ::1)
	netip.MustParsePrefix("::ffff:0:0:0/96"), // SIIT
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local-use NAT64: its layout varies, so none of it
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/32"),       // Teredo
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
}

var (
	nat64     = netip.MustParsePrefix("64:ff9b::/96")
	sixToFour = netip.MustParsePrefix("2002::/16")
)

// PublicOnly refuses loopback, private, link-local, CGNAT, multicast,
// unspecified and documentation addresses (IPv4 and IPv6).
func PublicOnly(ip netip.Addr) error {
	// A zone makes Prefix.Contains false for every prefix: fe80::1%eth0
	// must be judged as fe80::1.
	ip = ip.WithZone("").Unmap()
	// NAT64 (64:ff9b::/96, 64:ff9b:1::/48) and 6to4 (2002::/16) carry an
	// IPv4 address a gateway may route to: judge that one too.
	if b := ip.As16(); ip.Is6() {
		switch {
		case nat64.Contains(ip):
			if err := PublicOnly(netip.AddrFrom4([4]byte(b[12:16]))); err != nil {
				return err
			}
		case sixToFour.Contains(ip):
			if err := PublicOnly(netip.AddrFrom4([4]byte(b[2:6]))); err != nil {
				return err
			}
		}
	}
	for _, p := range nonPublic {
		if p.Contains(ip) {
			return fmt.Errorf("%w: %s is in %s, which is not a public address", ErrDialDenied, ip, p)
		}
	}
	return nil
}

// Dial connects to hostport after checking every address it resolves to.
func (d *PolicyDialer) Dial(ctx context.Context, hostport string) (net.Conn, error) {
	host, port, err := net.SplitHostPort(hostport)
	if err != nil {
		return nil, fmt.Errorf("CONNECT target %q is not host:port", hostport)
	}
	allow, res, timeout := d.Allow, d.Resolver, d.Timeout
	if allow == nil {
		allow = PublicOnly
	}
	if res == nil {
		res = net.DefaultResolver
	}
	if timeout <= 0 {
		timeout = 10 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	var ips []netip.Addr
	if ip, err := netip.ParseAddr(host); err == nil {
		ips = []netip.Addr{ip}
	} else if ips, err = res.LookupNetIP(ctx, "ip", host); err != nil {
		return nil, fmt.Errorf("cannot resolve %s: %v", host, err)
	}
	if len(ips) == 0 {
		return nil, fmt.Errorf("%s has no address", host)
	}
	for _, ip := range ips {
		if err := allow(ip); err != nil {
			if host == ip.String() {
				return nil, err
			}
			return nil, fmt.Errorf("%s resolves to %s: %w", host, ip, err)
		}
	}
	var nd net.Dialer
	var last error
	for _, ip := range ips {
		c, err := nd.DialContext(ctx, "tcp", net.JoinHostPort(ip.Unmap().String(), port))
		if err == nil {
			return c, nil
		}
		last = err
	}
	return nil, fmt.Errorf("cannot reach %s: %v", hostport, last)
}
