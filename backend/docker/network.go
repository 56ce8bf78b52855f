package docker

import (
	"context"
	"fmt"
	"net/netip"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"
)

// Gateway returns the IPv4 gateway of the backend's network (the default
// bridge unless WithNetwork says otherwise): the host address containers reach
// the host on. On Docker Desktop containers reach the host through its own
// forwarding, so Gateway returns "" there.
func (b *Backend) Gateway(ctx context.Context) (string, error) {
	info, err := b.cli.Info(ctx)
	if err != nil {
		return "", b.wrap(err, "engine info")
	}
	if strings.Contains(info.OperatingSystem, "Docker Desktop") {
		return "", nil
	}
	n, err := b.cli.NetworkInspect(ctx, b.network, network.InspectOptions{})
	if err != nil {
		if cerrdefs.IsNotFound(err) && !unreachable(err) {
			return "", fmt.Errorf("network %q not found", b.network)
		}
		return "", b.wrap(err, "inspect network "+b.network)
	}
	for _, c := range n.IPAM.Config {
		if gw, err := netip.ParseAddr(c.Gateway); err == nil && gw.Is4() {
			return gw.String(), nil
		}
		// Older engines leave the default bridge's gateway implicit: it is
		// the subnet's first address.
		if p, err := netip.ParsePrefix(c.Subnet); err == nil && p.Addr().Is4() && c.Gateway == "" {
			return p.Masked().Addr().Next().String(), nil
		}
	}
	return "", fmt.Errorf("network %q has no IPv4 gateway", b.network)
}
