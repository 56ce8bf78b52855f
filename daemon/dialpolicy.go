package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/clauderon/clauderon/proxy"
)

// The proxy runs on the host, so a session's tunnel could reach what the
// session's container cannot: the host's own services on any of its
// addresses, and the containers on the engine's bridge networks. Those are
// refused unless the session's allow list names that exact address or
// host (a wildcard or the balanced list does not count), after the
// default policy has refused loopback and link-local addresses.

// localNets are the host's own addresses and the networks directly behind
// its interfaces but the default route's (container bridges of any name,
// VM and pod networks), learned from the kernel at most once every
// localNetsTTL, and again at once when a private address misses (a network
// made a moment ago).
type localNets struct {
	mu      sync.Mutex
	learned time.Time
	addrs   map[netip.Addr]bool
	nets    []netip.Prefix
}

const (
	localNetsTTL = 5 * time.Second
	// relearnAfter bounds how often a miss makes it learn again.
	relearnAfter = 100 * time.Millisecond
)

// has reports whether ip is one of this host's addresses or lies on a
// network behind one of its interfaces other than the default route's.
func (l *localNets) has(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.learned) > localNetsTTL || l.addrs == nil {
		l.learn()
	}
	if l.match(ip) {
		return true
	}
	if (ip.IsPrivate() || ip.IsLinkLocalUnicast()) && time.Since(l.learned) > relearnAfter {
		l.learn()
		return l.match(ip)
	}
	return false
}

func (l *localNets) match(ip netip.Addr) bool {
	if l.addrs[ip] {
		return true
	}
	for _, p := range l.nets {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// learn reads the interfaces; on failure it keeps what it knew.
func (l *localNets) learn() {
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	uplinks := defaultRouteInterfaces()
	addrs := map[netip.Addr]bool{}
	var nets []netip.Prefix
	for _, ifc := range ifs {
		as, err := ifc.Addrs()
		if err != nil {
			continue
		}
		uplink := uplinks[ifc.Name] || ifc.Flags&net.FlagLoopback != 0
		for _, a := range as {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			addrs[ip] = true
			if !uplink {
				ones, _ := n.Mask.Size()
				nets = append(nets, netip.PrefixFrom(ip, ones).Masked())
			}
		}
	}
	l.addrs, l.nets, l.learned = addrs, nets, time.Now()
}

// defaultRouteInterfaces are the interfaces IPv4 or IPv6 default routes go
// out of: the networks behind them (the LAN, the internet) are the egress
// policy's to decide; those behind every other interface are this host's.
func defaultRouteInterfaces() map[string]bool {
	out := map[string]bool{}
	if b, err := os.ReadFile("/proc/net/route"); err == nil {
		for _, l := range strings.Split(string(b), "\n")[1:] {
			f := strings.Fields(l)
			if len(f) > 7 && f[1] == "00000000" && f[7] == "00000000" {
				out[f[0]] = true
			}
		}
	}
	if b, err := os.ReadFile("/proc/net/ipv6_route"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			f := strings.Fields(l)
			if len(f) == 10 && f[0] == strings.Repeat("0", 32) && f[1] == "00" {
				out[f[9]] = true
			}
		}
	}
	return out
}

// sessionDial is the proxy's SessionDial.
func (d *Daemon) sessionDial(session, host string, ip netip.Addr) error {
	if !d.local.has(ip) {
		return nil
	}
	if d.sessions != nil && d.sessions.AllowsExactly(session, host, ip) {
		return nil
	}
	return fmt.Errorf("%w: %s is this host or one of its container networks, which a session reaches only when its allow list names that address: clauderon egress allow %s %s", proxy.ErrDialDenied, ip.Unmap(), session, ip.Unmap().WithZone(""))
}
