package daemon

import (
	"net"
	"net/netip"
	"testing"
)

// TestLocalNets: the host's own addresses (any interface's) are local, and
// so is all of a container bridge's subnet; a public address is not.
func TestLocalNets(t *testing.T) {
	var l localNets
	if !l.has(netip.MustParseAddr("127.0.0.1")) {
		t.Error("127.0.0.1 is not local")
	}
	if l.has(netip.MustParseAddr("198.51.100.77")) && !hostHas(t, "198.51.100.77") {
		t.Error("a documentation address is local")
	}
	if l.has(netip.MustParseAddr("1.1.1.1")) {
		t.Error("1.1.1.1 is local")
	}
	ifc, err := net.InterfaceByName("docker0")
	if err != nil {
		t.Skip("no docker0 here")
	}
	addrs, _ := ifc.Addrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.To4() != nil {
			other := netip.AddrFrom4([4]byte(n.IP.To4())).Next().Next()
			if !l.has(other) {
				t.Errorf("%s, on docker0's subnet, is not local", other)
			}
			if !l.has(netip.MustParseAddr("::ffff:" + n.IP.String())) {
				t.Errorf("docker0's own address, IPv4-mapped, is not local")
			}
		}
	}
}

func hostHas(t *testing.T, ip string) bool {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if n, ok := a.(*net.IPNet); ok && n.IP.String() == ip {
			return true
		}
	}
	return false
}
