package daemon

import (
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/clauderon/clauderon/internal/testenv"
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

// TestLocalNetsAnyBridgeAtOnce: a container network on a bridge of any
// name is local as soon as it exists, even right after a lookup.
func TestLocalNetsAnyBridgeAtOnce(t *testing.T) {
	if _, err := exec.LookPath("docker"); err != nil {
		testenv.Unavailable(t, "no docker CLI: %v", err)
	}
	var l localNets
	probe := netip.MustParseAddr("10.231.77.5")
	if l.has(probe) {
		t.Skip("10.231.77.0/24 is already on this host")
	}
	name := fmt.Sprintf("cltest%d", os.Getpid()%100000)
	out, err := exec.Command("docker", "network", "create", "-o", "com.docker.network.bridge.name="+name, "--subnet", "10.231.77.0/24", name).CombinedOutput()
	if err != nil {
		testenv.Unavailable(t, "docker network create: %v %s", err, out)
	}
	defer exec.Command("docker", "network", "rm", name).Run()
	// The bridge comes up when the engine says so; poll the kernel, not a clock.
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := net.InterfaceByName(name); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Skipf("the engine made no interface %s", name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(2 * relearnAfter)
	if !l.has(probe) {
		t.Errorf("%s, on the new network %s, is not local", probe, name)
	}
	if !l.has(netip.MustParseAddr("10.231.77.1")) {
		t.Error("the new network's gateway, this host's address, is not local")
	}
}
