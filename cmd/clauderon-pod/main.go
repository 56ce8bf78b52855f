// Command clauderon-pod is the clauderon of the cluster's gateway image: the
// gateway (`gateway --cluster`), a session pod's init container (`pod-init`)
// and its hooks (`hook`), and nothing else. It is the same code as those
// commands of clauderon, without the daemon, the CLI and client-go, so the
// image each session pod's init container copies it from is small.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/clauderon/clauderon/gateway"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: clauderon gateway|pod-init|hook ... (the cluster gateway image's clauderon; not for people)")
		os.Exit(2)
	}
	var err error
	switch args := os.Args[2:]; os.Args[1] {
	case "gateway":
		if len(args) > 0 && args[0] == "--cluster" {
			err = gateway.ClusterMain(args[1:])
		} else {
			err = gateway.Main(args)
		}
	case "pod-init":
		err = gateway.PodInit(args)
	case "--version", "version":
		fmt.Println("clauderon-pod (the gateway image's clauderon: gateway, pod-init, hook)")
	case "hook":
		// Always exits 0: a report that fails must not stop the agent.
		ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
		_ = gateway.Hook(ctx, args, os.Stdin, os.Getenv)
		stop()
		return
	default:
		err = fmt.Errorf("unknown command %q: this clauderon runs only gateway, pod-init and hook", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "clauderon:", err)
		os.Exit(1)
	}
}
