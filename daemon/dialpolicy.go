package daemon

import (
	"fmt"
	"net"
	"net/netip"
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

// localNets are the host's own addresses and its bridge networks, learned
// from its interfaces at most once every localNetsTTL.
type localNets struct {
	mu      sync.Mutex
	learned time.Time
	addrs   map[netip.Addr]bool
	bridges []netip.Prefix
}

const localNetsTTL = 5 * time.Second

// has reports whether ip is one of this host's addresses or lies on one of
// its container bridges (docker0, br-…).
func (l *localNets) has(ip netip.Addr) bool {
	ip = ip.Unmap().WithZone("")
	l.mu.Lock()
	defer l.mu.Unlock()
	if time.Since(l.learned) > localNetsTTL {
		l.learn()
	}
	if l.addrs[ip] {
		return true
	}
	for _, p := range l.bridges {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

func (l *localNets) learn() {
	l.learned = time.Now()
	l.addrs = map[netip.Addr]bool{}
	l.bridges = nil
	ifs, err := net.Interfaces()
	if err != nil {
		return
	}
	for _, ifc := range ifs {
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		bridge := ifc.Name == "docker0" || strings.HasPrefix(ifc.Name, "br-")
		for _, a := range addrs {
			n, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip, ok := netip.AddrFromSlice(n.IP)
			if !ok {
				continue
			}
			ip = ip.Unmap()
			l.addrs[ip] = true
			if bridge {
				ones, _ := n.Mask.Size()
				l.bridges = append(l.bridges, netip.PrefixFrom(ip, ones).Masked())
			}
		}
	}
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
